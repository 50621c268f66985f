package chain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	jsonrpcclient "github.com/cometbft/cometbft/rpc/jsonrpc/client"
	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	emissiontypes "github.com/meritnet/merit/x/emission/types"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Defaults for the zero fields of Config.
const (
	DefaultGRPCAddr         = "127.0.0.1:9090"
	DefaultRPCAddr          = "http://127.0.0.1:26657"
	DefaultGasPrice         = "0"
	DefaultGasAdjustment    = 1.5
	DefaultInclusionTimeout = 30 * time.Second

	// defaultDialTimeout bounds Dial when ctx has no deadline: a daemon
	// should learn quickly that its node is down rather than hang.
	defaultDialTimeout = 10 * time.Second
	// maxMsgSize lifts gRPC's 4 MiB default: a full metagraph can be large.
	maxMsgSize = 64 << 20
)

// Client implements Chain against one node: gRPC for queries and
// broadcast, CometBFT RPC for status, simulation, tx lookup and blocks
// (HTTP and websocket). It is safe for concurrent use.
type Client struct {
	cfg      Config
	chainID  string
	gasPrice sdkmath.LegacyDec
	enc      *encoding

	conn       *grpc.ClientConn
	httpClient *http.Client
	rpc        *rpchttp.HTTP
	wsURL      string

	subnetQ   subnettypes.QueryClient
	scoringQ  scoringtypes.QueryClient
	emissionQ emissiontypes.QueryClient
	paymentQ  paymenttypes.QueryClient
	bankQ     banktypes.QueryClient
	authQ     authtypes.QueryClient
	txSvc     txtypes.ServiceClient

	seqs sequences

	// ctx ends with Close, which stops every block stream.
	ctx       context.Context
	cancel    context.CancelFunc
	streams   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	// wsMu guards wsConns, the live websockets of block streams, so that
	// they can be dropped from outside their goroutine.
	wsMu    sync.Mutex
	wsConns map[*websocket.Conn]struct{}

	hooks testHooks
}

// testHooks are seams for this package's tests; all nil in production.
type testHooks struct {
	beforeDial func()             // before each websocket dial
	fetched    func(height int64) // after each catch-up fetch
	streamErr  func(err error)    // each error that ends a websocket session
}

var _ Chain = (*Client)(nil)

// withDefaults fills the zero fields of cfg and checks the rest.
func (cfg Config) withDefaults() (Config, sdkmath.LegacyDec, error) {
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = DefaultGRPCAddr
	}
	if cfg.RPCAddr == "" {
		cfg.RPCAddr = DefaultRPCAddr
	}
	if cfg.GasPrice == "" {
		cfg.GasPrice = DefaultGasPrice
	}
	if cfg.GasAdjustment == 0 {
		cfg.GasAdjustment = DefaultGasAdjustment
	}
	if cfg.InclusionTimeout == 0 {
		cfg.InclusionTimeout = DefaultInclusionTimeout
	}
	rpcURL, err := normalizeRPCAddr(cfg.RPCAddr)
	if err != nil {
		return cfg, sdkmath.LegacyDec{}, err
	}
	cfg.RPCAddr = rpcURL
	price, err := sdkmath.LegacyNewDecFromStr(strings.TrimSuffix(strings.TrimSpace(cfg.GasPrice), Denom))
	if err != nil || price.IsNegative() {
		return cfg, sdkmath.LegacyDec{}, fmt.Errorf("chain: gas price %q is not a non-negative decimal (umerit per gas unit)", cfg.GasPrice)
	}
	if math.IsNaN(cfg.GasAdjustment) || math.IsInf(cfg.GasAdjustment, 0) || cfg.GasAdjustment < 1 {
		return cfg, sdkmath.LegacyDec{}, fmt.Errorf("chain: gas adjustment %v must be a number >= 1", cfg.GasAdjustment)
	}
	if cfg.InclusionTimeout < 0 {
		return cfg, sdkmath.LegacyDec{}, fmt.Errorf("chain: negative inclusion timeout %s", cfg.InclusionTimeout)
	}
	return cfg, price, nil
}

// normalizeRPCAddr accepts the forms people copy from configs: a URL
// (http, https, or CometBFT's tcp://) or a bare host:port.
func normalizeRPCAddr(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	full := addr
	if !strings.Contains(full, "://") {
		full = "http://" + full
	}
	u, err := url.Parse(full)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("chain: bad RPC address %q: want http://host:port", addr)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	switch u.Scheme {
	case "http", "https":
	case "tcp":
		u.Scheme = "http"
	default:
		return "", fmt.Errorf("chain: bad RPC address %q: scheme must be http, https or tcp", addr)
	}
	return u.String(), nil
}

func websocketURL(rpcURL string) string {
	u, _ := url.Parse(rpcURL) // already validated by normalizeRPCAddr
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/websocket"
	return u.String()
}

// Dial connects to a node and checks that it answers on both gRPC and RPC
// and serves the expected chain. When ctx has no deadline the checks are
// bounded by 10 s.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	cfg, price, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultDialTimeout)
		defer cancel()
	}
	enc, err := newEncoding()
	if err != nil {
		return nil, err
	}

	httpClient, err := jsonrpcclient.DefaultHTTPClient(cfg.RPCAddr)
	if err != nil {
		return nil, fmt.Errorf("chain: RPC address %s: %w", cfg.RPCAddr, err)
	}
	rpc, err := rpchttp.NewWithClient(cfg.RPCAddr, "/websocket", httpClient)
	if err != nil {
		return nil, fmt.Errorf("chain: RPC address %s: %w", cfg.RPCAddr, err)
	}
	// The status call doubles as the reachability check of the RPC side.
	st, err := rpc.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain: %w: CometBFT RPC at %s: %v", ErrUnreachable, cfg.RPCAddr, err)
	}
	network := st.NodeInfo.Network
	if cfg.ChainID != "" && cfg.ChainID != network {
		return nil, fmt.Errorf("chain: %w: configured %q, node at %s serves %q", ErrChainIDMismatch, cfg.ChainID, cfg.RPCAddr, network)
	}

	conn, err := grpc.NewClient(cfg.GRPCAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// grpc's default reconnect backoff grows to 2 minutes; a restarted
		// node should be usable again within seconds.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		// The SDK's codec marshals gogoproto types (custom types such as
		// math.Int), which grpc's default protobuf codec cannot, and unpacks
		// Anys with our registry. The node forces the same codec.
		grpc.WithDefaultCallOptions(
			grpc.ForceCodec(enc.cdc.GRPCCodec()),
			grpc.MaxCallRecvMsgSize(maxMsgSize),
			grpc.MaxCallSendMsgSize(maxMsgSize),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("chain: gRPC address %s: %w", cfg.GRPCAddr, err)
	}
	// grpc.NewClient connects lazily; one call proves the server is there and
	// belongs to the same chain as the RPC endpoint.
	info, err := cmtservice.NewServiceClient(conn).GetNodeInfo(ctx, &cmtservice.GetNodeInfoRequest{})
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("chain: %w: gRPC at %s: %v", ErrUnreachable, cfg.GRPCAddr, err)
	}
	if n := info.GetDefaultNodeInfo().GetNetwork(); n != network {
		_ = conn.Close()
		return nil, fmt.Errorf("chain: %w: gRPC at %s serves %q but RPC at %s serves %q", ErrChainIDMismatch, cfg.GRPCAddr, n, cfg.RPCAddr, network)
	}

	cctx, cancel := context.WithCancel(context.Background())
	return &Client{
		cfg:        cfg,
		chainID:    network,
		gasPrice:   price,
		enc:        enc,
		conn:       conn,
		httpClient: httpClient,
		rpc:        rpc,
		wsURL:      websocketURL(cfg.RPCAddr),
		subnetQ:    subnettypes.NewQueryClient(conn),
		scoringQ:   scoringtypes.NewQueryClient(conn),
		emissionQ:  emissiontypes.NewQueryClient(conn),
		paymentQ:   paymenttypes.NewQueryClient(conn),
		bankQ:      banktypes.NewQueryClient(conn),
		authQ:      authtypes.NewQueryClient(conn),
		txSvc:      txtypes.NewServiceClient(conn),
		seqs:       sequences{byAddr: map[string]*account{}},
		ctx:        cctx,
		cancel:     cancel,
		wsConns:    map[*websocket.Conn]struct{}{},
	}, nil
}

// ChainID is the chain id of the node, as checked by Dial.
func (c *Client) ChainID() string { return c.chainID }

// Close stops all block streams, waits for their goroutines, and releases
// the websockets and the gRPC connection. It is safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		// Cancel under wsMu: Blocks registers streams under it (see there).
		c.wsMu.Lock()
		c.cancel()
		for conn := range c.wsConns {
			_ = conn.Close()
		}
		c.wsMu.Unlock()
		c.streams.Wait()
		c.closeErr = c.conn.Close()
		c.httpClient.CloseIdleConnections()
	})
	return c.closeErr
}

func (c *Client) isClosed() bool { return c.ctx.Err() != nil }

// errClosedIf turns errors caused by Close into ErrClosed.
func (c *Client) errClosedIf(err error) error {
	if c.isClosed() && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("chain: %w (%v)", ErrClosed, err)
	}
	return err
}

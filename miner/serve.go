package miner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/urfave/cli/v2"
	"go.uber.org/zap"

	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/internal/daemon"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Flags of serve.
const (
	flagListen          = "listen"
	flagExternalAddress = "external-address"
	flagAllowMismatch   = "allow-model-mismatch"
	flagAllow           = "allow"
	flagMaxBodyBytes    = "max-body-bytes"
	flagRequestTimeout  = "request-timeout"
	flagConcurrency     = "concurrency"
	flagQueueSize       = "queue-size"
	flagRateLimit       = "rate-limit"
	flagMetagraphPoll   = "metagraph-poll"
	flagMaxConnsPerIP   = "max-conns-per-ip"
)

func serveCommand(dial daemon.Dialer) *cli.Command {
	flags := append(nodeFlags(),
		&cli.StringFlag{
			Name: flagListen, EnvVars: daemon.EnvOf(flagListen), Value: "127.0.0.1:8091", Category: categoryServe,
			Usage: "`HOST:PORT` to serve HTTP on (/v1/*, /healthz, /metrics)",
		},
		&cli.StringFlag{
			Name: flagExternalAddress, EnvVars: daemon.EnvOf(flagExternalAddress), Category: categoryServe,
			Usage: "`HOST:PORT` validators reach this miner at, published on-chain (default: --listen); " +
				"set it behind NAT, a proxy, or when listening on 0.0.0.0",
		},
		&cli.BoolFlag{
			Name: flagAllowMismatch, EnvVars: daemon.EnvOf(flagAllowMismatch), Category: categoryModel,
			Usage: "serve even when the model differs from the subnet task's (validators will fail every answer)",
		},
		&cli.StringSliceFlag{
			Name: flagAllow, EnvVars: daemon.EnvOf(flagAllow), Category: categoryAccess,
			Usage: "`ADDR`s (merit1…, comma-separated or repeated) admitted besides the subnet's permitted validators, at the base rate",
		},
		&cli.Int64Flag{
			Name: flagMaxBodyBytes, EnvVars: daemon.EnvOf(flagMaxBodyBytes), Value: DefaultMaxBodyBytes, Category: categoryAccess,
			Usage: "largest request body in `BYTES` (413 beyond)",
		},
		&cli.DurationFlag{
			Name: flagRequestTimeout, EnvVars: daemon.EnvOf(flagRequestTimeout), Value: DefaultRequestTimeout, Category: categoryAccess,
			Usage: "longest `DURATION` a request may take, queue wait and streaming included (504 beyond); also bounds shutdown",
		},
		&cli.IntFlag{
			Name: flagMaxConnsPerIP, EnvVars: daemon.EnvOf(flagMaxConnsPerIP), Value: DefaultMaxConnsPerIP, Category: categoryAccess,
			Usage: "connections one client address may hold open (`N`; one more is answered 429 and closed); 0 for no cap (behind a proxy)",
		},
		&cli.IntFlag{
			Name: flagConcurrency, EnvVars: daemon.EnvOf(flagConcurrency), Value: DefaultConcurrency, Category: categoryAccess,
			Usage: "generations that run at once (`N`) with --engine openai, or with the builtin engine at --max-batch 1 " +
				"(then about the number of cores); the batching builtin engine runs --max-batch at once instead",
		},
		&cli.IntFlag{
			Name: flagQueueSize, EnvVars: daemon.EnvOf(flagQueueSize), Value: DefaultQueueSize, Category: categoryAccess,
			Usage: "requests that may wait for a generation slot (`N`); beyond that 503 with Retry-After",
		},
		&cli.Float64Flag{
			Name: flagRateLimit, EnvVars: daemon.EnvOf(flagRateLimit), Value: 5, Category: categoryAccess,
			Usage: "base requests/s per caller (`RATE`), scaled up by stake: base × max(1, n_permitted × stake / permitted_stake); 0 disables",
		},
		&cli.DurationFlag{
			Name: flagMetagraphPoll, EnvVars: daemon.EnvOf(flagMetagraphPoll), Value: 30 * time.Second, Category: daemon.CategoryChain,
			Usage: "re-read the metagraph every `DURATION` when the block stream is silent (it is also re-read on every block)",
		},
	)
	flags = append(flags, engineFlags()...)
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the model to the subnet's validators and publish the endpoint on-chain",
		Description: "Loads the hotkey and the model, checks that the hotkey is registered on --netuid and that the model is the\n" +
			"subnet task's, publishes the endpoint (MsgServeEndpoint) when the chain's copy differs, and serves\n" +
			"GET /v1/models, POST /v1/completions and POST /v1/chat/completions (OpenAI-compatible, SSE with\n" +
			"\"stream\": true, always with token ids and logprobs) to callers that sign their requests and hold a\n" +
			"validator permit (or are in --allow). /healthz and /metrics (Prometheus) need no signature.\n" +
			"SIGINT or SIGTERM stops accepting, finishes in-flight requests and exits 0.",
		Flags:  flags,
		Before: daemon.ApplyConfigFile,
		Action: func(c *cli.Context) error { return runServe(c, dial) },
	}
}

// serveLimits are the serve flags checked before anything slow happens.
type serveLimits struct {
	maxBody     int64
	timeout     time.Duration
	concurrency int
	queue       int
	rate        float64
	connsPerIP  int
}

func serveLimitsOf(c *cli.Context) (serveLimits, error) {
	l := serveLimits{
		maxBody: c.Int64(flagMaxBodyBytes), timeout: c.Duration(flagRequestTimeout),
		concurrency: c.Int(flagConcurrency), queue: c.Int(flagQueueSize), rate: c.Float64(flagRateLimit),
		connsPerIP: c.Int(flagMaxConnsPerIP),
	}
	switch {
	case l.maxBody <= 0:
		return l, fmt.Errorf("--%s must be positive", flagMaxBodyBytes)
	case l.timeout <= 0:
		return l, fmt.Errorf("--%s must be positive", flagRequestTimeout)
	case l.concurrency <= 0:
		return l, fmt.Errorf("--%s must be at least 1", flagConcurrency)
	case l.queue < 0:
		return l, fmt.Errorf("--%s must not be negative", flagQueueSize)
	case l.rate < 0:
		return l, fmt.Errorf("--%s must not be negative", flagRateLimit)
	case l.connsPerIP < 0:
		return l, fmt.Errorf("--%s must not be negative (0: no cap)", flagMaxConnsPerIP)
	case c.Duration(flagFaultDelay) < 0:
		return l, fmt.Errorf("--%s must not be negative", flagFaultDelay)
	}
	return l, nil
}

// advertisedAddress is what goes on-chain: --external-address (which
// runServe validated before any slow work), or the address actually bound
// (which resolves port 0).
func advertisedAddress(external string, bound net.Addr) (string, error) {
	if external != "" {
		return external, nil
	}
	tcp, ok := bound.(*net.TCPAddr)
	if !ok {
		return bound.String(), nil
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return "", fmt.Errorf("--%s %s listens on every interface; pass --%s HOST:PORT, the address validators can reach",
			flagListen, bound, flagExternalAddress)
	}
	return tcp.String(), nil
}

func runServe(c *cli.Context, dial daemon.Dialer) error {
	log, err := daemon.NewLogger(c.App.ErrWriter, c.String(daemon.FlagLogFormat), c.String(daemon.FlagLogLevel))
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	limits, err := serveLimitsOf(c)
	if err != nil {
		return err
	}
	netuid, err := netuidFlag(c)
	if err != nil {
		return err
	}
	if ext := c.String(flagExternalAddress); ext != "" {
		if err := subnettypes.ValidateEndpointAddress(ext); err != nil {
			return fmt.Errorf("--%s: %w", flagExternalAddress, err)
		}
	}
	id, err := daemon.LoadHotkey(c, identity.WithCachedKey())
	if err != nil {
		return err
	}
	engine, err := buildEngine(c, limits.timeout)
	if err != nil {
		return err
	}
	faults := faultsOf(c)
	engine = WithFaults(engine, faults)
	info := engine.Info()
	log.Info("model loaded", zap.String("model", info.ID), zap.String("engine", c.String(flagEngine)))
	if faults.Active() {
		log.Warn("TESTING FAULTS ARE ON: this miner misbehaves on purpose", zap.Duration("fault_delay", faults.Delay), zap.Bool("fault_random_tokens", faults.RandomTokens))
	}

	ch, err := dialFromFlags(c, dial)
	if err != nil {
		return err
	}
	defer ch.Close()
	metrics := NewMetrics()
	watcher := NewWatcher(WatcherConfig{
		Chain: ch, Netuid: netuid, Self: id.Address(), Poll: c.Duration(flagMetagraphPoll),
		Logger: log.Named("metagraph"), Metrics: metrics,
	})
	if err := watcher.Refresh(c.Context); err != nil {
		if isNotFound(err) {
			return fmt.Errorf("subnet %d does not exist on chain %s: %w", netuid, ch.ChainID(), err)
		}
		return fmt.Errorf("read the metagraph of subnet %d: %w", netuid, err)
	}
	snap := watcher.Current()
	if snap.Self == nil {
		return notRegisteredError(id.Address(), netuid)
	}
	task := snap.Subnet.Task
	if want := task.ModelID(); info.ID != want {
		if !c.Bool(flagAllowMismatch) {
			return fmt.Errorf("model mismatch: this miner serves %s but subnet %d's task is %s (engine format %s); "+
				"serve the task's model, or pass --%s to serve anyway (validators will fail every answer)",
				info.ID, netuid, want, task.EngineFormat, flagAllowMismatch)
		}
		log.Warn("serving a model other than the subnet task's (--allow-model-mismatch)", zap.String("model", info.ID), zap.String("task_model", want))
	}

	access, err := NewAccess(AccessConfig{Metagraph: watcher, Allow: c.StringSlice(flagAllow), RateLimit: limits.rate, Netuid: netuid})
	if err != nil {
		return fmt.Errorf("--%s: %w", flagAllow, err)
	}
	ln, err := net.Listen("tcp", c.String(flagListen))
	if err != nil {
		return fmt.Errorf("--%s: %w", flagListen, err)
	}
	advertise, err := advertisedAddress(c.String(flagExternalAddress), ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	publisher := NewPublisher(PublisherConfig{
		Chain: ch, Identity: id, Netuid: netuid, Address: advertise, ModelID: info.ID,
		Watcher: watcher, Logger: log.Named("endpoint"), Metrics: metrics,
	})
	// From here on watcher.Current() is never nil: the first Refresh
	// succeeded, and a watcher only ever replaces its snapshot.
	srv, err := NewServer(ServerConfig{
		Engine: engine, Signer: id, Authorize: access.Authorize,
		MaxTokens:    func() int { return int(watcher.Current().Subnet.Task.MaxTokens) },
		MaxBodyBytes: limits.maxBody, RequestTimeout: limits.timeout,
		Concurrency: limits.concurrency, QueueSize: queueFlag(limits.queue), MaxConnsPerIP: connsFlag(limits.connsPerIP),
		Health: withFields(chainHealth(watcher, publisher, netuid), access.HealthFields),
		Logger: log.Named("api"), Metrics: metrics,
	})
	if err != nil {
		ln.Close()
		return err
	}

	bg, stopBg := context.WithCancel(context.Background())
	defer stopBg()
	go watcher.Run(bg)
	go publisher.Run(bg)
	log.Info("serving", zap.String("listen", ln.Addr().String()), zap.String("endpoint", advertise),
		zap.String("hotkey", id.Address()), zap.Uint32("netuid", netuid), zap.Uint32("uid", snap.Self.Neuron.Uid),
		zap.Int("concurrency", srv.cfg.Concurrency), zap.Int("queue_size", limits.queue), zap.Float64("rate_limit", limits.rate))
	err = srv.Serve(c.Context, ln)
	stopBg()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

// queueFlag maps --queue-size 0 (no waiting at all) to the server's
// "negative means none", since 0 there means the default.
func queueFlag(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// connsFlag maps --max-conns-per-ip 0 (no cap) to the server's "negative
// means none".
func connsFlag(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// withFields merges the maps of fns, later ones winning.
func withFields(fns ...func() map[string]any) func() map[string]any {
	return func() map[string]any {
		out := map[string]any{}
		for _, fn := range fns {
			for k, v := range fn() {
				out[k] = v
			}
		}
		return out
	}
}

// chainHealth adds the chain side to /healthz. w must hold a snapshot.
func chainHealth(w *Watcher, p *Publisher, netuid uint32) func() map[string]any {
	return func() map[string]any {
		out := map[string]any{"netuid": netuid}
		s := w.Current() // never nil: see runServe
		age := time.Since(s.Fetched)
		out["metagraph_block"] = s.Block
		out["metagraph_age_seconds"] = int64(age.Seconds())
		out["permitted_validators"] = len(s.Permitted)
		out["registered"] = s.Self != nil
		out["endpoint_current"] = p.Current()
		if s.Self != nil {
			out["uid"] = s.Self.Neuron.Uid
		}
		switch {
		case s.Self == nil:
			out["status"], out["reason"] = "degraded", "hotkey not registered on the subnet"
		case age > 5*time.Minute:
			out["status"], out["reason"] = "degraded", "metagraph is stale: the chain has not answered for a while"
		}
		return out
	}
}

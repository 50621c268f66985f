package chain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cosmos/gogoproto/proto"

	sdkmath "cosmossdk.io/math"

	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func TestConfigDefaults(t *testing.T) {
	cfg, price, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != DefaultGRPCAddr || cfg.RPCAddr != DefaultRPCAddr || cfg.GasPrice != "0" ||
		cfg.GasAdjustment != 1.5 || cfg.InclusionTimeout != 30*time.Second || !price.IsZero() {
		t.Fatalf("defaults: %+v price %s", cfg, price)
	}
	cfg, price, err = Config{RPCAddr: "tcp://127.0.0.1:1234/", GasPrice: "0.025umerit"}.withDefaults()
	if err != nil || cfg.RPCAddr != "http://127.0.0.1:1234" || price.String() != sdkmath.LegacyMustNewDecFromStr("0.025").String() {
		t.Fatalf("got %q %s %v", cfg.RPCAddr, price, err)
	}
	if got := websocketURL("https://node.example:443/rpc"); got != "wss://node.example:443/rpc/websocket" {
		t.Fatalf("websocket url %s", got)
	}
	for _, bad := range []Config{
		{GasPrice: "-1"}, {GasPrice: "abc"}, {GasAdjustment: 0.5}, {InclusionTimeout: -time.Second},
		{RPCAddr: "ftp://x:1"}, {RPCAddr: "http://"},
	} {
		if _, _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if got := (&Client{gasPrice: sdkmath.LegacyMustNewDecFromStr("0.025")}).fee(1001); got.String() != "26umerit" {
		t.Errorf("fee = %s, want ceil(25.025) = 26umerit", got)
	}
	if got := (&Client{gasPrice: sdkmath.LegacyZeroDec()}).fee(1001); !got.IsZero() {
		t.Errorf("zero price fee = %s", got)
	}
}

func TestDialUnreachable(t *testing.T) {
	// A port that was free a moment ago: connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = Dial(ctx, Config{RPCAddr: "http://" + addr, GRPCAddr: addr})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("refused: %v", err)
	}

	// A server that accepts and never answers: Dial gives up at the deadline.
	l, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Dial(ctx, Config{RPCAddr: l.Addr().String(), GRPCAddr: l.Addr().String()})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), l.Addr().String()) || time.Since(start) > 3*time.Second {
		t.Fatalf("silent server: %v after %s", err, time.Since(start))
	}
}

func TestDecodeResponse(t *testing.T) {
	want := &subnettypes.MsgRegisterNeuronResponse{Uid: 7, Burned: sdkmath.NewInt(42)}
	other, err := codectypes.NewAnyWithValue(&subnettypes.MsgCreateSubnetResponse{Netuid: 3, Locked: sdkmath.NewInt(1)})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := codectypes.NewAnyWithValue(want)
	if err != nil {
		t.Fatal(err)
	}
	data, err := proto.Marshal(&sdk.TxMsgData{MsgResponses: []*codectypes.Any{other, resp}})
	if err != nil {
		t.Fatal(err)
	}
	var got subnettypes.MsgRegisterNeuronResponse
	if err := DecodeResponse(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Uid != 7 || !got.Burned.Equal(sdkmath.NewInt(42)) {
		t.Fatalf("got %+v", got)
	}
	var created subnettypes.MsgCreateSubnetResponse
	if err := DecodeResponse(data, &created); err != nil || created.Netuid != 3 {
		t.Fatalf("second type: %+v %v", created, err)
	}
	// Bad input is an error, never a panic.
	var none subnettypes.MsgServeEndpointResponse
	if err := DecodeResponse(data, &none); err == nil {
		t.Error("missing type: no error")
	}
	if err := DecodeResponse([]byte{0xff, 0x01}, &got); err == nil {
		t.Error("garbage: no error")
	}
	if err := DecodeResponse(data, nil); err == nil {
		t.Error("nil target: no error")
	}
	var nilPtr *subnettypes.MsgRegisterNeuronResponse
	if err := DecodeResponse(data, nilPtr); err == nil {
		t.Error("nil pointer target: no error")
	}
}

func TestTxErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &TxError{Stage: StageDeliver, Codespace: "subnet", Code: 10, Log: "x"})
	if !errors.Is(err, subnettypes.ErrAlreadyRegistered) {
		t.Error("does not match its registered error")
	}
	if errors.Is(err, subnettypes.ErrPriceTooHigh) || errors.Is(err, sdkerrors.ErrWrongSequence) {
		t.Error("matches another code")
	}
	mm := &TxError{Codespace: "sdk", Code: 32, Log: "account sequence mismatch, expected 12, got 9: incorrect account sequence"}
	if !isSequenceMismatch(mm) || !errors.Is(mm, sdkerrors.ErrWrongSequence) {
		t.Error("mismatch not recognised")
	}
	if m := seqMismatchRe.FindStringSubmatch(mm.Log); len(m) < 2 || m[1] != "12" {
		t.Errorf("expected sequence: %v", m)
	}
}

func attr(k, v string) abci.EventAttribute { return abci.EventAttribute{Key: k, Value: v} }

func TestMakeBlockOrder(t *testing.T) {
	finalize := []abci.Event{
		{Type: "begin", Attributes: []abci.EventAttribute{attr("mode", "BeginBlock")}},
		{Type: "end", Attributes: []abci.EventAttribute{attr("a", "1"), attr("mode", "EndBlock")}},
	}
	txs := []*abci.ExecTxResult{{Events: []abci.Event{{Type: "tx0"}}}, nil, {Events: []abci.Event{{Type: "tx2", Attributes: []abci.EventAttribute{attr("k", "v")}}}}}
	b := makeBlock(5, time.Unix(1, 0), finalize, txs)
	var types []string
	for _, e := range b.Events {
		types = append(types, e.Type)
	}
	if strings.Join(types, ",") != "begin,tx0,tx2,end" || b.Events[2].Attributes["k"] != "v" || b.Events[3].Attributes["a"] != "1" {
		t.Fatalf("events %v", b.Events)
	}
}

// A stream fed by hand: live blocks with gaps and repeats, catch-up from a
// fake node, pruned heights.
func TestStreamOrdering(t *testing.T) {
	out := make(chan Block, 100)
	fetched := map[int64]int{}
	s := &stream{c: &Client{}, out: out, last: 10, fetch: func(_ context.Context, h int64) (Block, error) {
		fetched[h]++
		if h < 20 && h > 14 {
			return Block{}, errors.New("RPC error -32603 - Internal error: height 15 is not available, lowest height is 20")
		}
		return Block{Height: h}, nil
	}}
	ctx := context.Background()
	for _, h := range []int64{11, 11, 9, 13, 14, 14, 22, 23, 21} {
		if err := s.onLive(ctx, Block{Height: h}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.catchUp(ctx, 25); err != nil {
		t.Fatal(err)
	}
	close(out)
	var got []int64
	for b := range out {
		got = append(got, b.Height)
	}
	want := []int64{11, 12, 13, 14, 20, 21, 22, 23, 24, 25}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("heights %v, want %v", got, want)
	}
	if fetched[12] != 1 || fetched[11] != 0 || fetched[15] != 1 || fetched[16] != 0 {
		t.Fatalf("fetches %v", fetched)
	}

	// A failing fetch stops the session without skipping the height.
	s = &stream{c: &Client{}, out: make(chan Block, 1), last: 1, fetch: func(context.Context, int64) (Block, error) {
		return Block{}, errors.New("connection refused")
	}}
	if err := s.onLive(ctx, Block{Height: 3}); err == nil || s.last != 1 {
		t.Fatalf("err %v last %d", err, s.last)
	}
	// A blocked consumer does not block cancellation.
	s = &stream{c: &Client{}, out: make(chan Block), last: 1, fetch: nil}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.onLive(cctx, Block{Height: 2}); !errors.Is(err, context.Canceled) || s.last != 1 {
		t.Fatalf("err %v last %d", err, s.last)
	}
}

func TestIsEvent(t *testing.T) {
	for in, want := range map[string]bool{
		`{}`: false, `null`: false, `{"data":null}`: false,
		`{"query":"tm.event='NewBlock'","data":{"type":"tendermint/event/NewBlock","value":{}}}`: true,
	} {
		if got := isEvent([]byte(in)); got != want {
			t.Errorf("isEvent(%s) = %v", in, got)
		}
	}
}

func TestBroadcastBadInput(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{ctx: ctx, cancel: cancel}
	var nilMsg *banktypes.MsgSend
	for name, msgs := range map[string][]sdk.Msg{"none": nil, "nil": {nil}, "typed nil": {&banktypes.MsgSend{}, nilMsg}} {
		if _, err := c.Broadcast(context.Background(), nil, msgs...); err == nil || !strings.Contains(err.Error(), "message") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := c.Broadcast(context.Background(), nil, &banktypes.MsgSend{}); err == nil || !strings.Contains(err.Error(), "signer") {
		t.Errorf("nil signer: %v", err)
	}
	cancel()
	if _, err := c.Broadcast(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("closed: %v", err)
	}
}

func TestResyncBelievesALowerSequenceOnlyTwice(t *testing.T) {
	c := &Client{}
	acc := &account{loaded: true, sequence: 12}
	var lower lowerSighting
	mismatch := func(expected int) *TxError {
		return &TxError{Codespace: "sdk", Code: 32, Log: fmt.Sprintf("account sequence mismatch, expected %d, got 12: incorrect account sequence", expected)}
	}
	// Another sender moved ahead: adopted at once.
	if changed, err := c.resync(context.Background(), "a", acc, mismatch(14), &lower); err != nil || !changed || acc.sequence != 14 {
		t.Fatalf("higher: changed %v err %v seq %d", changed, err, acc.sequence)
	}
	// A lagging check state: the first lower answer is not believed...
	if changed, err := c.resync(context.Background(), "a", acc, mismatch(13), &lower); err != nil || changed || acc.sequence != 14 {
		t.Fatalf("first lower: changed %v err %v seq %d", changed, err, acc.sequence)
	}
	// ...the same lower answer again is (a tx left the mempool).
	if changed, err := c.resync(context.Background(), "a", acc, mismatch(13), &lower); err != nil || !changed || acc.sequence != 13 {
		t.Fatalf("second lower: changed %v err %v seq %d", changed, err, acc.sequence)
	}
	// A different lower answer starts over.
	if changed, _ := c.resync(context.Background(), "a", acc, mismatch(11), &lower); changed || acc.sequence != 13 {
		t.Fatalf("new lower: changed %v seq %d", changed, acc.sequence)
	}
}

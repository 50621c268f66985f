package chain

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/testutil/localchain"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// blockLog collects a block stream in the background and checks that the
// heights it saw are consecutive, each once.
type blockLog struct {
	mu      sync.Mutex
	heights []int64
	events  map[int64][]Event
	done    chan struct{}
}

func collect(ch <-chan Block) *blockLog {
	l := &blockLog{events: map[int64][]Event{}, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for b := range ch {
			l.mu.Lock()
			l.heights = append(l.heights, b.Height)
			l.events[b.Height] = b.Events
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *blockLog) last() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.heights) == 0 {
		return 0
	}
	return l.heights[len(l.heights)-1]
}

func (l *blockLog) waitFor(t *testing.T, h int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for l.last() < h {
		if time.Now().After(deadline) {
			t.Fatalf("block stream did not reach %d in %s (at %d)", h, timeout, l.last())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (l *blockLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 1; i < len(l.heights); i++ {
		if l.heights[i] != l.heights[i-1]+1 {
			t.Fatalf("heights not consecutive at %d: …%v…", i, l.heights[max(0, i-3):min(len(l.heights), i+3)])
		}
	}
}

func (l *blockLog) hasEvent(h int64, typ, key, val string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events[h] {
		if e.Type == typ && e.Attributes[key] == val {
			return true
		}
	}
	return false
}

func send(from, to *identity.Identity, amount int64) *banktypes.MsgSend {
	return &banktypes.MsgSend{FromAddress: from.Address(), ToAddress: to.Address(), Amount: sdk.NewCoins(sdk.NewInt64Coin(Denom, amount))}
}

// sender is one goroutine of sendAll: txs of amount from one key through
// one client.
type sender struct {
	c      *Client
	from   *identity.Identity
	amount int64
}

// sendAll runs the senders at once, n txs each to to, and checks that every
// one landed: to's balance grows by their sum.
func sendAll(ctx context.Context, t *testing.T, c *Client, to *identity.Identity, n int, senders []sender) {
	t.Helper()
	before, err := c.Balance(ctx, to.Address())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n*len(senders))
	var total int64
	for _, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				if _, err := s.c.Broadcast(ctx, s.from, send(s.from, to, s.amount)); err != nil {
					errs <- err
				}
			}
		}()
		total += s.amount * int64(n)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	after, err := c.Balance(ctx, to.Address())
	if err != nil || !after.Sub(before).Equal(sdkmath.NewInt(total)) {
		t.Fatalf("%s got %s, want %d (%v)", to.Name(), after.Sub(before), total, err)
	}
}

func TestLocalChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a meritd node")
	}
	lc := localchain.Start(t, localchain.Options{Accounts: []string{"alice", "bob", "carol", "dave", "miner1", "erin"}})
	kr, err := identity.Open(identity.BackendTest, lc.KeyringDir())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]*identity.Identity{}
	for _, name := range []string{"alice", "bob", "carol", "dave", "miner1", "erin"} {
		if ids[name], err = identity.Load(kr, name, identity.WithCachedKey()); err != nil {
			t.Fatal(err)
		}
	}
	alice, bob, carol, dave, miner1, erin := ids["alice"], ids["bob"], ids["carol"], ids["dave"], ids["miner1"], ids["erin"]

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := Config{GRPCAddr: lc.GRPC, RPCAddr: lc.RPC, ChainID: lc.ChainID, InclusionTimeout: 20 * time.Second}
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Seams for the reconnect test: a delay before the next websocket dial
	// guarantees that blocks are missed and must be fetched.
	var dialDelay atomic.Int64
	var fetches atomic.Int64
	c.hooks.beforeDial = func() { time.Sleep(time.Duration(dialDelay.Swap(0))) }
	c.hooks.fetched = func(int64) { fetches.Add(1) }
	c.hooks.streamErr = func(err error) { t.Logf("stream: %v", err) }

	// One stream watches the whole test, across reconnects and a restart.
	blocks, err := c.Blocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	log := collect(blocks)

	t.Run("Dial", func(t *testing.T) {
		if c.ChainID() != lc.ChainID {
			t.Fatalf("chain id %q", c.ChainID())
		}
		bad := cfg
		bad.ChainID = "other-1"
		if _, err := Dial(ctx, bad); !errors.Is(err, ErrChainIDMismatch) || !strings.Contains(err.Error(), "other-1") {
			t.Fatalf("wrong chain id: %v", err)
		}
		bad = cfg
		bad.GRPCAddr = fmt.Sprintf("127.0.0.1:%d", localchain.FreePort(t))
		if _, err := Dial(ctx, bad); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), bad.GRPCAddr) {
			t.Fatalf("gRPC down: %v", err)
		}
	})

	t.Run("Queries", func(t *testing.T) {
		h, err := c.Height(ctx)
		if err != nil || h < 2 {
			t.Fatalf("height %d %v", h, err)
		}
		bal, err := c.Balance(ctx, bob.Address())
		if err != nil || !bal.Equal(sdkmath.NewInt(1_000_000_000_000)) {
			t.Fatalf("balance %s %v", bal, err)
		}
		if _, err := c.Balance(ctx, "cosmos1xyz"); err == nil {
			t.Fatal("bad address: no error")
		}
		if _, err := c.Subnet(ctx, 999); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing subnet: %v", err)
		}
	})

	t.Run("BankSend", func(t *testing.T) {
		res, err := c.Broadcast(ctx, alice, send(alice, bob, 1000))
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != 0 || res.Height == 0 || res.GasUsed == 0 || len(res.Hash) != 64 {
			t.Fatalf("result %+v", res)
		}
		var sendResp banktypes.MsgSendResponse
		if err := DecodeResponse(res.Data, &sendResp); err != nil {
			t.Fatal(err)
		}
		bal, err := c.Balance(ctx, bob.Address())
		if err != nil || !bal.Equal(sdkmath.NewInt(1_000_000_001_000)) {
			t.Fatalf("bob %s %v", bal, err)
		}
		log.waitFor(t, res.Height, 10*time.Second)
		if !log.hasEvent(res.Height, "transfer", "recipient", bob.Address()) {
			t.Fatalf("no transfer event at %d", res.Height)
		}
		// A message for another signer is refused before anything is sent.
		if _, err := c.Broadcast(ctx, alice, send(bob, alice, 1)); err == nil || !strings.Contains(err.Error(), bob.Address()) {
			t.Fatalf("foreign signer: %v", err)
		}
	})

	var netuid uint32
	t.Run("SubnetAndNeuron", func(t *testing.T) {
		create := &subnettypes.MsgCreateSubnet{
			Owner: alice.Address(),
			Name:  "client-test",
			Task: subnettypes.Task{
				ModelName: "merit-tiny", ModelSha256: strings.Repeat("ab", 32),
				EngineFormat: subnettypes.EngineLlama2c, MaxTokens: 64,
			},
			MaxLock: sdkmath.ZeroInt(),
		}
		res, err := c.Broadcast(ctx, alice, create)
		if err != nil {
			t.Fatal(err)
		}
		var created subnettypes.MsgCreateSubnetResponse
		if err := DecodeResponse(res.Data, &created); err != nil {
			t.Fatal(err)
		}
		netuid = created.Netuid

		price, err := c.RegistrationPrice(ctx, netuid)
		if err != nil || price.IsNegative() {
			t.Fatalf("price %s %v", price, err)
		}
		if _, err := c.NeuronByHotkey(ctx, netuid, miner1.Address()); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unregistered: %v", err)
		}
		reg := &subnettypes.MsgRegisterNeuron{Hotkey: miner1.Address(), Owner: alice.Address(), Netuid: netuid, MaxBurn: sdkmath.NewInt(1_000_000_000_000)}
		res, err = c.Broadcast(ctx, miner1, reg)
		if err != nil {
			t.Fatal(err)
		}
		var registered subnettypes.MsgRegisterNeuronResponse
		if err := DecodeResponse(res.Data, &registered); err != nil {
			t.Fatal(err)
		}

		mg, err := c.Metagraph(ctx, netuid)
		if err != nil {
			t.Fatal(err)
		}
		if mg.Subnet.Netuid != netuid || mg.Subnet.Owner != alice.Address() || mg.Subnet.Hyperparams.Tempo == 0 ||
			len(mg.Neurons) != 1 || mg.Neurons[0].Neuron.Hotkey != miner1.Address() {
			t.Fatalf("metagraph %+v", mg)
		}
		sn, err := c.Subnet(ctx, netuid)
		if err != nil || sn.Task.ModelName != "merit-tiny" {
			t.Fatalf("subnet %+v %v", sn, err)
		}
		n, err := c.NeuronByHotkey(ctx, netuid, miner1.Address())
		if err != nil || n.Uid != registered.Uid || n.Owner != alice.Address() {
			t.Fatalf("neuron %+v %v (uid %d)", n, err, registered.Uid)
		}
		if _, err := c.EpochState(ctx, netuid); err != nil {
			t.Fatal(err)
		}
		if commits, err := c.Commits(ctx, netuid, miner1.Address()); err != nil || len(commits) != 0 {
			t.Fatalf("commits %v %v", commits, err)
		}
		if _, err := c.NeuronHistory(ctx, netuid, registered.Uid, 5); err != nil {
			t.Fatal(err)
		}

		// Registering twice: simulation refuses it with the module's code,
		// nothing is sent and the sequence is untouched.
		_, err = c.Broadcast(ctx, miner1, reg)
		var te *TxError
		if !errors.As(err, &te) || te.Stage != StageSimulate || te.Codespace != "subnet" || te.Code != 10 ||
			!errors.Is(err, subnettypes.ErrAlreadyRegistered) {
			t.Fatalf("second registration: %v", err)
		}
		if _, err := c.Broadcast(ctx, miner1, send(miner1, bob, 1)); err != nil {
			t.Fatalf("after a refused tx: %v", err)
		}
	})

	t.Run("PaymentAccounts", func(t *testing.T) {
		since, err := c.Height(ctx)
		if err != nil {
			t.Fatal(err)
		}
		open := &paymenttypes.MsgOpenAccount{Payer: bob.Address(), Netuid: netuid, KeyHash: strings.Repeat("cd", 32),
			Deposit: sdkmath.NewInt(2_000_000), SpendLimitPerEpoch: sdkmath.ZeroInt()}
		if _, err := c.Broadcast(ctx, bob, open); err != nil {
			t.Fatal(err)
		}
		// The blocks since name the new account; read by id at that height
		// it is there, and an id never opened is missing.
		ids, at, err := c.PaymentChanges(ctx, since, 100)
		if err != nil || len(ids) != 1 || at <= since {
			t.Fatalf("changes after %d: %v at %d, %v", since, ids, at, err)
		}
		found, missing, err := c.PaymentAccountsByID(ctx, []uint64{ids[0], 999_999}, at)
		if err != nil || len(found) != 1 || found[0].KeyHash != open.KeyHash || !slices.Equal(missing, []uint64{999_999}) {
			t.Fatalf("by id at %d: %+v missing %v, %v", at, found, missing, err)
		}
		if _, _, err := c.PaymentChanges(ctx, 0, 1); !errors.Is(err, ErrTooFar) {
			t.Fatalf("changes since genesis with room for one block: %v", err)
		}
		accounts, height, err := c.PaymentAccounts(ctx, netuid)
		if err != nil || height <= 0 || len(accounts) != 1 || accounts[0].Payer != bob.Address() || accounts[0].KeyHash != open.KeyHash {
			t.Fatalf("subnet %d accounts at %d: %+v %v", netuid, height, accounts, err)
		}
		// Another subnet's gateway does not read them.
		if other, _, err := c.PaymentAccounts(ctx, netuid+1); err != nil || len(other) != 0 {
			t.Fatalf("subnet %d accounts: %+v %v", netuid+1, other, err)
		}
	})

	t.Run("FailsInBlock", func(t *testing.T) {
		// Two sends that each fit dave's balance but not together: both pass
		// simulation and CheckTx (which do not run messages), the second
		// fails in the block. If a block lands between the two, the second
		// fails in simulation instead; try again then.
		for attempt := 0; attempt < 3; attempt++ {
			bal, err := c.Balance(ctx, dave.Address())
			if err != nil {
				t.Fatal(err)
			}
			half := bal.QuoRaw(2).Int64()
			h1, err := c.submit(ctx, dave, []sdk.Msg{send(dave, bob, half)})
			if err != nil {
				t.Fatal(err)
			}
			h2, err2 := c.submit(ctx, dave, []sdk.Msg{send(dave, bob, bal.Int64()-half+1)})
			if _, err := c.waitIncluded(ctx, h1); err != nil {
				t.Fatal(err)
			}
			var te *TxError
			if errors.As(err2, &te) && te.Stage == StageSimulate {
				t.Logf("attempt %d: a block came between the two txs", attempt)
				continue
			}
			if err2 != nil {
				t.Fatal(err2)
			}
			res, err := c.waitIncluded(ctx, h2)
			if res == nil || res.Code != 5 || res.Codespace != "sdk" || !errors.As(err, &te) || te.Stage != StageDeliver ||
				te.Height != res.Height || !errors.Is(err, sdkerrors.ErrInsufficientFunds) || !strings.Contains(err.Error(), "insufficient funds") {
				t.Fatalf("in-block failure: %+v %v", res, err)
			}
			// The failed tx still used its sequence: the next one goes through.
			if _, err := c.Broadcast(ctx, dave, send(dave, bob, 1)); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatal("never got both txs into the mempool together")
	})

	t.Run("SequenceTracking", func(t *testing.T) {
		// Back to back: each tx uses the sequence the last one left.
		sendAll(ctx, t, c, carol, 3, []sender{{c, alice, 1}})
		// Two goroutines per signer, two signers, all at once: several txs
		// of one signer sit in the mempool together.
		sendAll(ctx, t, c, carol, 3, []sender{{c, alice, 10}, {c, alice, 10}, {c, bob, 10}})
	})

	t.Run("SequenceMismatch", func(t *testing.T) {
		acc := c.seqs.get(alice.Address())
		acc.mu.Lock()
		tracked := acc.sequence
		acc.mu.Unlock()
		// The CLI signs with the same key behind the client's back.
		out, err := lc.Exec("tx", "bank", "send", "alice", bob.Address(), "5umerit", "--output", "json")
		if err != nil || !strings.Contains(out, `"code":0`) {
			t.Fatalf("CLI send: %v\n%s", err, out)
		}
		if _, err := c.Broadcast(ctx, alice, send(alice, bob, 1)); err != nil {
			t.Fatalf("after CLI tx: %v", err)
		}
		acc.mu.Lock()
		got := acc.sequence
		acc.mu.Unlock()
		if got != tracked+2 {
			t.Fatalf("sequence %d, want %d", got, tracked+2)
		}
	})

	t.Run("SharedKeyConcurrentSenders", func(t *testing.T) {
		// Two daemons sharing one key: two clients, each tracking the
		// sequence on its own, each with two goroutines sending at once.
		// Every tx must land despite the mismatches they cause each other.
		c2, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		// Each sender sends its own amount, so no two txs are the same bytes
		// (the same messages signed at the same sequence would be one tx).
		sendAll(ctx, t, c, carol, 3, []sender{{c, erin, 7}, {c2, erin, 8}, {c, erin, 9}, {c2, erin, 10}})
	})

	t.Run("InclusionTimeout", func(t *testing.T) {
		short := cfg
		short.InclusionTimeout = time.Millisecond
		c3, err := Dial(ctx, short)
		if err != nil {
			t.Fatal(err)
		}
		defer c3.Close()
		if _, err := c3.Broadcast(ctx, bob, send(bob, carol, 1)); !errors.Is(err, ErrInclusionTimeout) {
			t.Fatalf("want inclusion timeout, got %v", err)
		}
		// That tx still lands, behind the main client's back.
		if _, err := c.Broadcast(ctx, bob, send(bob, carol, 1)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("BlocksReconnect", func(t *testing.T) {
		h, err := c.Height(ctx)
		if err != nil {
			t.Fatal(err)
		}
		log.waitFor(t, h, 10*time.Second)
		before := fetches.Load()
		dialDelay.Store(int64(1500 * time.Millisecond))
		c.dropWebsockets()
		log.waitFor(t, h+8, 15*time.Second)
		if fetches.Load()-before < 2 {
			t.Fatalf("reconnect fetched %d missed blocks, want >= 2", fetches.Load()-before)
		}
		log.check(t)
	})

	t.Run("NodeRestart", func(t *testing.T) {
		h, err := c.Height(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lc.Restart(30 * time.Second)
		lc.WaitHeight(h+3, 30*time.Second)
		log.waitFor(t, h+3, 20*time.Second)
		log.check(t)
		// gRPC reconnects on its own, and sequences survive.
		if _, err := c.Broadcast(ctx, alice, send(alice, bob, 1)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("StreamStops", func(t *testing.T) {
		base := runtime.NumGoroutine()
		c2, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		sctx, scancel := context.WithCancel(ctx)
		ch, err := c2.Blocks(sctx)
		if err != nil {
			t.Fatal(err)
		}
		<-ch
		scancel()
		waitClosed(t, ch)
		ch2, err := c2.Blocks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		<-ch2
		if err := c2.Close(); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, ch2)
		if _, err := c2.Blocks(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Blocks after Close: %v", err)
		}
		if _, err := c2.Broadcast(ctx, alice, send(alice, bob, 1)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Broadcast after Close: %v", err)
		}
		// Everything c2 started is gone (allow for stragglers of the main
		// client, which is still streaming).
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > base+2 {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("goroutines: %d, before Dial %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	<-log.done
	log.check(t)
	t.Logf("stream saw heights %d..%d", log.heights[0], log.last())
}

func waitClosed(t *testing.T, ch <-chan Block) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("block channel not closed")
		}
	}
}

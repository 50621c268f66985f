package validator

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/miner"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// loopNet is a validator running against an in-memory chain whose miners
// are merit-miner's real server on loopback (real signatures both ways,
// the real per-caller rate limit).
type loopNet struct {
	t   *testing.T
	f   *chaintest.Chain
	val *identity.Identity
	uid map[string]uint16
}

func newLoopNet(t *testing.T) *loopNet {
	val := validatortest.NewIdentity(t, "val")
	return &loopNet{t: t, f: newFakeChain(1000, false, val, 0), val: val, uid: map[string]uint16{}}
}

// register adds a neuron serving at addr.
func (n *loopNet) register(name, hotkey, addr string) {
	n.uid[name] = uint16(n.f.AddNeuron(hotkey, 0, false))
	n.f.Update(func(s *chaintest.State) {
		s.Neuron(hotkey).Neuron.Endpoint = subnettypes.Endpoint{Address: addr, ProtocolVersion: 1, ModelId: inference.TinyID()}
	})
}

// addMiner serves e with merit-miner's server; rate is its --rate-limit
// (0: none), checked against the chain's permits as `serve` does.
func (n *loopNet) addMiner(name string, e inference.Engine, rate float64) {
	n.t.Helper()
	id := validatortest.NewIdentity(n.t, name)
	mg, err := n.f.Metagraph(context.Background(), 1)
	if err != nil {
		n.t.Fatal(err)
	}
	acc, err := miner.NewAccess(miner.AccessConfig{Metagraph: miner.StaticMetagraph{S: miner.NewSnapshot(mg, id.Address(), time.Now())},
		RateLimit: rate, Netuid: 1})
	if err != nil {
		n.t.Fatal(err)
	}
	srv, err := miner.NewServer(miner.ServerConfig{Engine: e, Signer: id, Authorize: acc.Authorize, MaxTokens: func() int { return 16 }})
	if err != nil {
		n.t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	n.t.Cleanup(hs.Close)
	n.register(name, id.Address(), strings.TrimPrefix(hs.URL, "http://"))
}

// addHanging registers a miner that accepts connections, reads what it is
// sent and never answers.
func (n *loopNet) addHanging(name string) {
	n.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	n.t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	n.register(name, validatortest.NewIdentity(n.t, name).Address(), ln.Addr().String())
}

// run starts the validator; it stops at the end of the test.
func (n *loopNet) run(cfg Config) *Validator {
	n.t.Helper()
	cfg.Home, cfg.Netuid, cfg.AllowPrivateEndpoints, cfg.Seed = n.t.TempDir(), 1, true, 1
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	v, err := New(cfg, n.f, n.val, zaptest.NewLogger(n.t))
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(runValidator(n.t, v))
	return v
}

// roundsIn counts the rounds the validator scored uid in during d.
func roundsIn(v *Validator, uid uint16, d time.Duration) uint64 {
	before := scoreOf(v, uid).Rounds
	time.Sleep(d)
	return scoreOf(v, uid).Rounds - before
}

// TestHangingMinerDelaysOnlyItself: a miner that accepts connections and
// never answers costs the honest miners beside it nothing: they keep being
// scored about once per probe interval, while the hanging one times out.
// (Before each miner had its own schedule, every round waited for the
// hanging miner's probe timeout.)
func TestHangingMinerDelaysOnlyItself(t *testing.T) {
	tiny, _ := validatortest.TinyReference(t)
	n := newLoopNet(t)
	n.addMiner("honest1", tiny, 0)
	n.addHanging("hanging")
	n.addMiner("honest2", tiny, 0)
	const interval, timeout, window = 500 * time.Millisecond, 3 * time.Second, 6 * time.Second
	// Short answers: the honest miners' probes must fit the interval even
	// on a busy machine.
	v := n.run(Config{ProbeInterval: interval, ProbeTimeout: timeout, PromptsPerProbe: 2, MaxTokens: 4})
	eventually(t, 30*time.Second, "a first scored round", func() bool { return scoreOf(v, n.uid["honest1"]).Rounds >= 1 })

	start := time.Now()
	h1 := roundsIn(v, n.uid["honest1"], window)
	elapsed := time.Since(start)
	h2 := scoreOf(v, n.uid["honest2"]).Rounds
	perMin := float64(h1) / elapsed.Minutes()
	t.Logf("honest miner scored in %d rounds in %s (%.0f rounds/min; ideal %.0f; waiting for the hanging miner's two time-outs, %.0f)",
		h1, elapsed.Round(time.Millisecond), perMin, time.Minute.Seconds()/interval.Seconds(), time.Minute.Seconds()/(2*timeout).Seconds())
	// A third of the ideal rate leaves room for a busy machine; waiting for
	// the hanging miner would allow one round in the window.
	if want := uint64(window / interval / 3); h1 < want {
		t.Fatalf("honest miner scored in %d rounds in %s, want at least %d: the hanging miner holds the others up", h1, window, want)
	}
	eventually(t, 30*time.Second, "the hanging miner timing out", func() bool {
		s := scoreOf(v, n.uid["hanging"])
		return s.LastResult == miners.ResultTimeout && s.Score == 0
	})
	if s1, s2 := scoreOf(v, n.uid["honest1"]), scoreOf(v, n.uid["honest2"]); s1.Score <= 0.5 || s2.Score <= 0.5 || h2 == 0 {
		t.Fatalf("honest miners: %+v %+v", s1, s2)
	}
}

// TestHangingMinersKeepToTheirOwnSlots: once they have timed out, hanging
// miners are probed from slots of their own, so even more of them than
// --probe-concurrency do not hold up an honest miner.
func TestHangingMinersKeepToTheirOwnSlots(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for two probe time-outs")
	}
	tiny, _ := validatortest.TinyReference(t)
	n := newLoopNet(t)
	n.addHanging("hanging1")
	n.addHanging("hanging2")
	n.addMiner("honest", tiny, 0)
	const interval, timeout, window = 500 * time.Millisecond, 2 * time.Second, 6 * time.Second
	v := n.run(Config{ProbeInterval: interval, ProbeTimeout: timeout, PromptsPerProbe: 1, MaxTokens: 4, ProbeConcurrency: 1})
	eventually(t, 30*time.Second, "both hanging miners timing out", func() bool {
		return scoreOf(v, n.uid["hanging1"]).LastResult == miners.ResultTimeout && scoreOf(v, n.uid["hanging2"]).LastResult == miners.ResultTimeout
	})
	h := roundsIn(v, n.uid["honest"], window)
	t.Logf("honest miner scored in %d rounds in %s beside two hanging miners with one probe slot", h, window)
	// Sharing the one slot with them, it would get about one round in
	// each time-out.
	if want := uint64(window / interval / 3); h < want {
		t.Fatalf("honest miner scored in %d rounds in %s, want at least %d", h, window, want)
	}
}

// TestGatewayLoadKeepsHonestScore: an honest miner's score under the
// validator's own gateway load stays within 5% of what the same validator
// gave it idle. The miners enforce their real per-caller rate limit (5
// requests/s for an average stake), which the gateway's users would spend
// entirely if the validator did not keep its probes' share.
func TestGatewayLoadKeepsHonestScore(t *testing.T) {
	if testing.Short() {
		t.Skip("about 30 s of rounds")
	}
	tiny, _ := validatortest.TinyReference(t)
	n := newLoopNet(t)
	n.addMiner("honest", tiny, 5)
	n.addMiner("slow", miner.WithFaults(tiny, miner.Faults{Delay: 60 * time.Millisecond}), 5)
	keys := filepath.Join(t.TempDir(), "keys")
	writeFile(t, keys, "load "+testKey+"\n")
	v := n.run(Config{ProbeInterval: time.Second, ProbeTimeout: 10 * time.Second, PromptsPerProbe: 2,
		Listen: "127.0.0.1:0", GatewayKeys: keys})
	honest := n.uid["honest"]
	eventually(t, 30*time.Second, "a first scored round", func() bool { return scoreOf(v, honest).Rounds >= 1 })

	// meanRound averages the honest miner's round scores over k rounds.
	meanRound := func(k int) (float64, []string) {
		var sum float64
		var results []string
		last := scoreOf(v, honest).Rounds
		for got := 0; got < k; {
			time.Sleep(20 * time.Millisecond)
			s := scoreOf(v, honest)
			if s.Rounds == last {
				continue
			}
			last = s.Rounds
			sum += s.LastRound
			results = append(results, s.LastResult+"/"+s.LastReason)
			got++
		}
		return sum / float64(k), results
	}
	const rounds = 12
	idle, _ := meanRound(rounds)

	// Ten users at once, each pausing 200 ms after a 429.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var codes sync.Map
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+v.Addr()+"/v1/completions",
					strings.NewReader(`{"prompt":"Once upon a time","max_tokens":16,"temperature":0}`))
				req.Header.Set("Authorization", "Bearer "+testKey)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				c, _ := codes.LoadOrStore(resp.StatusCode, new(atomic.Int64))
				c.(*atomic.Int64).Add(1)
				if resp.StatusCode == http.StatusTooManyRequests {
					select {
					case <-ctx.Done():
					case <-time.After(200 * time.Millisecond):
					}
				}
			}
		}()
	}
	loaded, results := meanRound(rounds)
	stop()
	wg.Wait()
	counts := map[int]int64{}
	codes.Range(func(k, c any) bool { counts[k.(int)] = c.(*atomic.Int64).Load(); return true })
	t.Logf("honest miner's mean round score: idle %.3f, under gateway load %.3f (%.1f%%); gateway answers %v; rounds under load %v",
		idle, loaded, 100*(loaded-idle)/idle, counts, results)
	if counts[http.StatusOK] == 0 {
		t.Fatalf("the gateway served nobody: %v", counts)
	}
	if loaded < 0.95*idle {
		t.Fatalf("under gateway load the honest miner scores %.3f, idle %.3f: more than 5%% lost", loaded, idle)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestExcusesRunOut: a miner whose probes are all refused because of the
// validator's own traffic sits rounds out, but only maxExcusedRounds in a
// row: then such a refusal counts as the miner's.
func TestExcusesRunOut(t *testing.T) {
	validatortest.TinyReference(t) // loaded once for the package's tests
	n := newLoopNet(t)
	hotkey := validatortest.NewIdentity(t, "m").Address()
	uid := uint16(n.f.AddNeuron(hotkey, 0, false)) // no endpoint: nothing is probed for real
	v, err := New(Config{Home: t.TempDir(), Netuid: 1, AllowPrivateEndpoints: true}, n.f, n.val, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.sync.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := newSchedule(1)
	m := miners.Miner{UID: uid, Hotkey: hotkey, Address: "127.0.0.1:1"}
	refused := Exchange{Result: miners.ResultRejected, Reason: ReasonRateLimited, OwnTraffic: true}
	opened := v.probeTick(context.Background(), s, false)
	for round := 1; round <= maxExcusedRounds+1; round++ {
		s.done = append(s.done, &probeJob{m: m, reqs: make([]Request, 2), exs: []Exchange{refused, refused}})
		opened = v.probeTick(context.Background(), s, opened)
		sc := scoreOf(v, uid)
		if round <= maxExcusedRounds {
			if sc.Rounds != 0 {
				t.Fatalf("round %d: an excused miner was scored: %+v", round, sc)
			}
			continue
		}
		if sc.Rounds != 1 || sc.LastResult != miners.ResultRejected || sc.LastReason != ReasonRateLimited {
			t.Fatalf("round %d: excuses did not run out: %+v", round, sc)
		}
	}
}

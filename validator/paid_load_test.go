package validator

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/validator/billing"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// loadNet is a validator with its paid gateway on a fake chain, in front
// of real miners (merit-miner's server on the built-in model) over
// loopback, with users accounts.
type loadNet struct {
	f        *chaintest.Chain
	v        *Validator
	id       *identity.Identity
	keys     []string
	accounts []uint64

	mu       sync.Mutex
	overhead []time.Duration
}

func startLoadNet(t testing.TB, miners, users int) *loadNet {
	t.Helper()
	id := newIdentity(t, "val")
	f := newFakeChain(1000, false, id, 0)
	eng, _ := tinyReference(t)
	for i := range miners {
		m := startMiner(t, uint16(i+1), eng)
		f.AddNeuron(m.Hotkey, 0, false)
		f.Update(func(s *chaintest.State) {
			s.Neurons[i+1].Neuron.Endpoint = subnettypes.Endpoint{Address: m.Address, ModelId: m.ModelID, UpdatedAt: 1}
		})
	}
	f.Update(func(s *chaintest.State) { s.Subnet.Hyperparams.PricePerMillionTokens = 2_000_000 })
	n := &loadNet{f: f, id: id}
	for i := range users {
		key := fmt.Sprintf("sk-merit-load-%04d-0123456789", i)
		n.keys = append(n.keys, key)
		n.accounts = append(n.accounts, f.AddAccount(hashOf(key), 1_000_000_000))
	}
	v, err := New(Config{Home: t.TempDir(), Netuid: 1, Listen: "127.0.0.1:0", PollInterval: 50 * time.Millisecond,
		AllowPrivateEndpoints: true, ProbeInterval: time.Hour, SpotCheck: 0,
		HTTP: HTTPLimits{MaxConnsPerIP: 4 * users},
		Paid: PaidConfig{SettleEvery: 5, SettleThreshold: 1 << 40}}, f, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.v = v
	v.gateway.cfg.Overhead = func(d time.Duration) {
		n.mu.Lock()
		n.overhead = append(n.overhead, d)
		n.mu.Unlock()
	}
	t.Cleanup(runValidator(t, v))
	eventually(t, 10*time.Second, "the gateway reads the accounts", func() bool {
		resp, _ := gwPost(t, "http://"+v.Addr()+"/v1/models", n.keys[0], "")
		return resp.StatusCode == http.StatusOK
	})
	return n
}

// run sends perUser requests from every user at once and counts the
// answers by status.
func (n *loadNet) run(t testing.TB, perUser int) map[int]int {
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(n.keys)}}
	defer client.CloseIdleConnections() // a run's connections must not pile up at the gateway's per-IP cap
	for u, key := range n.keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perUser {
				body := `{"messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":8,"temperature":0}`
				if (u+i)%2 == 1 {
					body = `{"prompt":"Once upon a time","max_tokens":8,"temperature":0,"stream":true}`
				}
				req, _ := http.NewRequest("POST", "http://"+n.v.Addr()+"/v1/chat/completions", strings.NewReader(body))
				if strings.Contains(body, "prompt") {
					req.URL.Path = "/v1/completions"
				}
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return statuses
}

func (n *loadNet) percentile(p float64) time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.overhead) == 0 {
		return 0
	}
	s := slices.Clone(n.overhead)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// TestPaidGatewayUnderLoad: 64 users at once through one gateway onto two
// miners: no 502 (a busy miner is a 429 for the user, never an error), the
// usage settles to exactly what the users were told it cost, and
// settlement sends one transaction per interval however many requests
// there were.
func TestPaidGatewayUnderLoad(t *testing.T) {
	n := startLoadNet(t, 2, 64)
	statuses := n.run(t, 3)
	if statuses[http.StatusBadGateway] > 0 || statuses[http.StatusOK] == 0 {
		t.Fatalf("answers by status: %v", statuses)
	}
	t.Logf("answers by status %v; gateway overhead p50 %v p99 %v", statuses, n.percentile(0.5), n.percentile(0.99))

	before := len(n.f.Sent())
	eventually(t, 30*time.Second, "everything settled", func() bool {
		n.f.Advance(1)
		return n.v.settler.meter.UnsettledCost() == 0 && len(n.f.Sent()) > before
	})
	var settles int
	for _, m := range n.f.Sent()[before:] {
		if s, ok := m.(*paymenttypes.MsgSettleUsage); ok {
			settles++
			if len(s.Items) == 0 {
				t.Fatal("an empty settlement")
			}
		}
	}
	if settles != 1 {
		t.Fatalf("%d settlement transactions for one interval's usage", settles)
	}
	st := chainState(n.f)
	for _, id := range n.accounts {
		u, _ := n.v.settler.meter.Ledger().Usage(id)
		if charged := 1_000_000_000 - st.Payment.Accounts[id].Balance.Uint64(); charged != u.ServedCost || u.Settled.Charged != charged {
			t.Fatalf("account %d: chain charged %d, users were told %d, ledger says %d", id, charged, u.ServedCost, u.Settled.Charged)
		}
	}
}

// BenchmarkPaidGatewayOverhead reports the gateway's own time per answered
// request (auth, parsing, admission, metering, writing; not the miner's),
// for one user and for 64 concurrent users on two real miners in the same
// process (so under load it includes waiting for a CPU the miners use).
//
//	go test -run '^$' -bench PaidGatewayOverhead -benchtime 4x ./validator/
func BenchmarkPaidGatewayOverhead(b *testing.B) {
	for _, users := range []int{1, 64} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			n := startLoadNet(b, 2, users)
			b.ResetTimer()
			statuses := map[int]int{}
			for range b.N {
				for k, v := range n.run(b, 8) {
					statuses[k] += v
				}
			}
			b.StopTimer()
			if statuses[http.StatusBadGateway] > 0 {
				b.Fatalf("502s under load: %v", statuses)
			}
			b.ReportMetric(float64(n.percentile(0.5).Microseconds()), "p50-overhead-µs")
			b.ReportMetric(float64(n.percentile(0.99).Microseconds()), "p99-overhead-µs")
			b.ReportMetric(float64(statuses[http.StatusOK])/float64(users*8*b.N), "ok-fraction")
		})
	}
}

// BenchmarkGatewayPaidPath is the gateway's own work for one paid request
// — authentication, parsing and normalising the body, admission (prompt
// tokens counted with the reference tokenizer, the hold), and metering
// (counting the answer's tokens, the ledger write, the cost headers) — for 64
// users at once, without the miner: the answer is one a real miner gave,
// and each user waits 10–30 ms (uniformly; users start at random offsets)
// where the miner would work, so requests arrive as independent users'
// do, rather than all at once or in a closed loop that saturates the CPU.
// ns/op is wall time per request across all users.
//
//	go test -run '^$' -bench GatewayPaidPath -benchtime 6400x ./validator/
func BenchmarkGatewayPaidPath(b *testing.B) {
	eng, ref := tinyReference(b)
	m := startMiner(b, 1, eng)
	c, err := transport.NewClient(newIdentity(b, "val"), nil)
	if err != nil {
		b.Fatal(err)
	}
	body := `{"model":"merit-tiny","messages":[{"role":"user","content":"Tell me a story about a red ball."}],"max_tokens":16,"temperature":0}`
	g := NewGateway(GatewayConfig{Client: c, Miners: func() []Miner { return []Miner{m} }, Reference: func() *Reference { return ref },
		MaxTokens: func() int { return 24 }, Record: func(Outcome) {}})
	greq, err := g.normalize("/v1/chat/completions", []byte(body), ref.ModelID)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := c.Do(context.Background(), http.MethodPost, "http://"+m.Address+greq.path, m.Hotkey, greq.body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%v %v", err, resp)
	}
	answerBody := resp.Body

	l, err := billing.OpenLedger(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	meter := billing.NewMeter(l)
	var accounts []paymenttypes.Account
	var keys []string
	for i := range 64 {
		key := fmt.Sprintf("sk-merit-bench-%04d-0123456789", i)
		keys = append(keys, key)
		accounts = append(accounts, paymenttypes.Account{Id: uint64(i + 1), Netuid: 1, KeyHash: hashOf(key),
			Balance: sdkmath.NewInt(1 << 50), SpendLimitPerEpoch: sdkmath.ZeroInt(), EpochSpent: sdkmath.ZeroInt()})
	}
	meter.SetBook(billing.NewBook(accounts, 1, "merit1gw", 2_000_000, 0, 5))
	g.cfg.Meter = meter

	const users, minerTime = 64, 20 * time.Millisecond
	var (
		mu   sync.Mutex
		lats []time.Duration
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(uint64(u), 7))
			think := func() time.Duration { return minerTime/2 + time.Duration(rng.Int64N(int64(minerTime))) }
			time.Sleep(think() - minerTime/2)
			var mine []time.Duration
			for i := u; i < b.N; i += users {
				start := time.Now()
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+keys[u])
				w := httptest.NewRecorder()
				_, token, paid, ok := g.authenticate(w, req)
				if !ok || !paid {
					b.Errorf("auth: %d", w.Code)
					return
				}
				raw, _ := io.ReadAll(req.Body)
				r, err := g.normalize(req.URL.Path, raw, ref.ModelID)
				if err != nil {
					b.Error(err)
					return
				}
				t, ok := g.admit(w, token, r, ref)
				if !ok {
					b.Errorf("admit: %d %s", w.Code, w.Body)
					return
				}
				elapsed := time.Since(start)
				time.Sleep(think()) // the miner works
				start = time.Now()
				prompt, completion := countTokens(answerBody)
				if g.meter(w.Header(), t, r, prompt, completion) == nil {
					b.Error("not metered")
					return
				}
				mine = append(mine, elapsed+time.Since(start))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lats[min(len(lats)-1, len(lats)*99/100)].Microseconds()), "p99-µs")
	}
}

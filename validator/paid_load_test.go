package validator

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meritnet/merit/client/chain/chaintest"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/validator/internal/validatortest"
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
	id := validatortest.NewIdentity(t, "val")
	f := newFakeChain(1000, false, id, 0)
	eng, _ := validatortest.TinyReference(t)
	for i := range miners {
		m := validatortest.StartMiner(t, uint16(i+1), eng)
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
		n.accounts = append(n.accounts, f.AddAccount(validatortest.KeyHash(key), 1_000_000_000))
	}
	v, err := New(Config{Home: t.TempDir(), Netuid: 1, Listen: "127.0.0.1:0", PollInterval: 50 * time.Millisecond,
		AllowPrivateEndpoints: true, ProbeInterval: time.Hour, SpotCheck: 0,
		HTTP: HTTPLimits{MaxConnsPerIP: 4 * users},
		Paid: PaidConfig{SettleEvery: 5, SettleThreshold: 1 << 40}}, f, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.v = v
	v.settler.onOverhead = func(d time.Duration) {
		n.mu.Lock()
		n.overhead = append(n.overhead, d)
		n.mu.Unlock()
	}
	t.Cleanup(runValidator(t, v))
	eventually(t, 10*time.Second, "the gateway reads the accounts", func() bool {
		resp, _ := validatortest.Post(t, "http://"+v.Addr()+"/v1/models", n.keys[0], "")
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

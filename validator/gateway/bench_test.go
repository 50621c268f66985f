package gateway

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

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/validator/billing"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

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
//	go test -run '^$' -bench GatewayPaidPath -benchtime 6400x ./validator/gateway/
func BenchmarkGatewayPaidPath(b *testing.B) {
	eng, ref := validatortest.TinyReference(b)
	m := validatortest.StartMiner(b, 1, eng)
	c, err := transport.NewClient(validatortest.NewIdentity(b, "val"), nil)
	if err != nil {
		b.Fatal(err)
	}
	body := `{"model":"merit-tiny","messages":[{"role":"user","content":"Tell me a story about a red ball."}],"max_tokens":16,"temperature":0}`
	g := New(Config{Client: c, Miners: func() []miners.Miner { return []miners.Miner{m} }, Reference: func() *reference.Reference { return ref },
		MaxTokens: func() int { return 24 }, Record: func(miners.Outcome) {}})
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
		accounts = append(accounts, paymenttypes.Account{Id: uint64(i + 1), Netuid: 1, KeyHash: validatortest.KeyHash(key),
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

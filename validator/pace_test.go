package validator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/miner"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func announce(burst, remaining, rate string) http.Header {
	h := http.Header{}
	h.Set(miner.HeaderLimitRequests, burst)
	h.Set(miner.HeaderRemainingRequests, remaining)
	h.Set(miner.HeaderRateRequests, rate)
	h.Set(miner.HeaderConcurrency, "3")
	return h
}

// TestPacerKeepsTheProbesShare: user traffic stops where the tokens the
// next probes need begin, so probes find their share at once; the bucket
// refills at the announced rate (less the margin).
func TestPacerKeepsTheProbesShare(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := NewPacer(2)
	p.now = clk.now
	p.observe("m", 200, announce("5", "5", "5"))
	granted := 0
	for range 10 {
		if _, release, ok := p.Acquire(context.Background(), "m"); ok {
			granted++
			release()
		}
	}
	if granted != 3 {
		t.Fatalf("user traffic got %d of a bucket of 5 with 2 kept for probes, want 3", granted)
	}
	start := time.Now()
	p.probeSend(context.Background(), "m")
	p.probeSend(context.Background(), "m")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("probes waited %s for their reserved share", d)
	}
	if _, _, ok := p.Acquire(context.Background(), "m"); ok {
		t.Fatal("user traffic granted from an empty bucket")
	}
	// 4.5 requests/s (90% of 5): after a second, 4.5 tokens, 2 of them kept.
	clk.add(time.Second)
	granted = 0
	for range 10 {
		if _, _, ok := p.Acquire(context.Background(), "m"); ok {
			granted++
		}
	}
	if granted != 2 {
		t.Fatalf("after a second user traffic got %d, want 2", granted)
	}
	// The miner's generation slots (3 announced) bound requests in flight.
	clk.add(10 * time.Second)
	p.observe("m", 200, announce("50", "50", "50"))
	granted = 0
	for range 10 {
		if _, _, ok := p.Acquire(context.Background(), "m"); ok {
			granted++
		}
	}
	if granted != 1 { // two still in flight from above
		t.Fatalf("in flight beyond the miner's 3 slots: %d granted", granted)
	}
}

// TestPacer429: a 429 pauses everything for its Retry-After.
func TestPacer429(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := NewPacer(2)
	p.now = clk.now
	h := announce("5", "0", "5")
	h.Set("Retry-After", "2")
	p.observe("m", 429, h)
	if _, _, ok := p.Acquire(context.Background(), "m"); ok || p.RetryAfter("m") < 2*time.Second {
		t.Fatalf("user traffic during Retry-After (ok=%v, retry after %s)", ok, p.RetryAfter("m"))
	}
	clk.add(3 * time.Second)
	if _, _, ok := p.Acquire(context.Background(), "m"); !ok {
		t.Fatal("user traffic refused after Retry-After and a refill")
	}
	// A miner that admits without a bucket is not paced (a 429 still is).
	p.observe("free", 200, http.Header{})
	for i := range 20 {
		if _, _, ok := p.Acquire(context.Background(), "free"); !ok {
			t.Fatalf("unlimited miner refused at request %d", i)
		}
	}
}

// TestOwnTrafficNeedsEnoughOfIt: a probe's 429 is the validator's own doing
// only when its requests, user traffic among them, can have emptied the
// bucket the miner announced; a miner that announces less on its refusals
// than before is held to the larger bucket.
func TestOwnTrafficNeedsEnoughOfIt(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	sends := func(p *Pacer, probe bool, n int, every time.Duration) {
		p.mu.Lock()
		defer p.mu.Unlock()
		m := p.get("m", clk.now())
		for range n {
			m.logSend(clk.now(), probe)
			clk.add(every)
		}
	}
	for _, tc := range []struct {
		name   string
		setup  func(p *Pacer)
		excuse bool
	}{
		{"nothing sent", func(*Pacer) {}, false},
		{"probes only, however many", func(p *Pacer) { sends(p, true, 10, 10*time.Millisecond) }, false},
		// Bucket of 5 at 5/s: four user requests and a probe in 50 ms
		// leave it 0.25 requests, within the slack.
		{"user traffic that empties the bucket", func(p *Pacer) {
			sends(p, false, 4, 10*time.Millisecond)
			sends(p, true, 1, 10*time.Millisecond)
		}, true},
		{"one request short of emptying it", func(p *Pacer) {
			sends(p, false, 3, 10*time.Millisecond)
			sends(p, true, 1, 10*time.Millisecond)
		}, false},
		{"user traffic within the budget", func(p *Pacer) { sends(p, false, 2, 300*time.Millisecond) }, false},
		{"user traffic that emptied it long ago", func(p *Pacer) {
			sends(p, false, 5, 0)
			clk.add(2 * time.Second)
		}, false},
		// User requests at the announced rate for nine seconds never
		// empty a bucket that started full.
		{"user traffic at the rate", func(p *Pacer) { sends(p, false, 45, time.Second/5) }, false},
		{"user traffic at twice the rate", func(p *Pacer) { sends(p, false, 100, time.Second/10) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPacer(2)
			p.now = clk.now
			p.observe("m", 200, announce("5", "5", "5"))
			tc.setup(p)
			h := announce("1", "0", "0.1") // the refusal claims a smaller bucket
			p.observe("m", 429, h)
			if got := p.ownTraffic("m", clk.now()); got != tc.excuse {
				t.Fatalf("own traffic %v, want %v", got, tc.excuse)
			}
		})
	}
}

// TestPacedTransportRefusesForTheMiner: a request nobody paced (the
// gateway's) is answered by the transport itself once the budget is spent,
// as the miner's limiter would: a 429 rate_limited the client reports as
// such, and the miner never sees it.
func TestPacedTransportRefusesForTheMiner(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		for k, v := range announce("1", "0", "1") {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusTeapot) // unsigned: the client says so, and the pacer learns anyway
	}))
	defer srv.Close()
	p := NewPacer(0)
	clk := &fakeClock{t: time.Unix(1000, 0)} // no refill, however slow the machine
	p.now = clk.now
	c, err := transport.NewClient(validatortest.NewIdentity(t, "val"), &http.Client{Transport: p.Transport(nil)})
	if err != nil {
		t.Fatal(err)
	}
	hk := validatortest.NewIdentity(t, "m").Address()
	if _, err := c.Do(context.Background(), http.MethodPost, srv.URL+"/v1/completions", hk, []byte(`{}`)); isRateLimited(err) {
		t.Fatalf("first request: %v", err)
	}
	_, err = c.Do(context.Background(), http.MethodPost, srv.URL+"/v1/completions", hk, []byte(`{}`))
	if !isRateLimited(err) || hits.Load() != 1 || !strings.Contains(err.Error(), ReasonRateLimited) {
		t.Fatalf("second request within a bucket of 1: %v (miner saw %d)", err, hits.Load())
	}
	// Probes are paced by their job, not refused here.
	_, err = c.Do(probeContext(context.Background()), http.MethodPost, srv.URL+"/v1/completions", hk, []byte(`{}`))
	if isRateLimited(err) || hits.Load() != 2 {
		t.Fatalf("probe refused by the transport: %v", err)
	}
}

// refusing answers the first n requests as a miner's rate limiter does
// (unsigned 429 rate_limited, Retry-After 1, its bucket of 2 at 1/s
// empty) and passes the rest to next.
func refusing(n int32, next http.Handler) (http.Handler, *atomic.Int32) {
	var seen atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			for k, v := range announce("2", "0", "1") {
				w.Header()[k] = v
			}
			w.Header().Set(transport.HeaderError, ReasonRateLimited)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"rate limited","reason":"rate_limited"}`))
			return
		}
		next.ServeHTTP(w, r)
	}), &seen
}

// TestProbeRefusedByOwnTrafficNotCounted: a probe refused with 429 right
// after the validator's own user traffic emptied the miner's bucket is
// sent again after the Retry-After instead of counting; when refusals go
// on after the bucket had time to refill, and without such traffic at
// all, the 429 is the miner's and counts.
func TestProbeRefusedByOwnTrafficNotCounted(t *testing.T) {
	eng, ref := validatortest.TinyReference(t)
	id := validatortest.NewIdentity(t, "miner")
	srv, err := miner.NewServer(miner.ServerConfig{Engine: eng, Signer: id, MaxTokens: func() int { return 24 }})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		refusals int32
		own      bool
		want     string
		ownMark  bool
		sent     int32
	}{
		{"own traffic, then capacity", 1, true, miners.ResultOK, false, 2},
		// A second later the validator's traffic no longer explains an
		// empty bucket: the refusal is the miner's.
		{"own traffic, refusals go on", 100, true, miners.ResultRejected, false, 2},
		{"no own traffic", 1, false, miners.ResultRejected, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, seen := refusing(tc.refusals, srv.Handler())
			hs := httptest.NewServer(h)
			defer hs.Close()
			m := miners.Miner{UID: 1, Hotkey: id.Address(), Address: strings.TrimPrefix(hs.URL, "http://"), ModelID: eng.Info().ID}
			p := NewPacer(2)
			c, err := transport.NewClient(validatortest.NewIdentity(t, "val"), &http.Client{Transport: p.Transport(nil)})
			if err != nil {
				t.Fatal(err)
			}
			a := NewAsker(AskerConfig{Client: c, Timeout: 10 * time.Second, Pacer: p})
			if tc.own {
				for range 2 { // the gateway's requests empty the bucket of 2
					_, release, ok := p.Acquire(context.Background(), m.Hotkey)
					if !ok {
						t.Fatal("user request refused")
					}
					release()
				}
			}
			req, err := NewProbeRequest(NewPromptGenerator(1).Prompt(1, m.UID, 0), ref.ModelID, 4)
			if err != nil {
				t.Fatal(err)
			}
			ex := a.AskPaced(context.Background(), m, req)
			if ex.Result != tc.want || ex.OwnTraffic != tc.ownMark || seen.Load() != tc.sent {
				t.Fatalf("got %s/%s own=%v after %d requests, want %s own=%v after %d", ex.Result, ex.Reason, ex.OwnTraffic,
					seen.Load(), tc.want, tc.ownMark, tc.sent)
			}
		})
	}
}

// TestAcquiredRequestPassesTheTransport: a request sent with Acquire's
// context is not paced a second time by the transport.
func TestAcquiredRequestPassesTheTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range announce("4", "3", "4") {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	p := NewPacer(2)
	clk := &fakeClock{t: time.Unix(1000, 0)} // no refill, however slow the machine
	p.now = clk.now
	c, err := transport.NewClient(validatortest.NewIdentity(t, "val"), &http.Client{Transport: p.Transport(nil)})
	if err != nil {
		t.Fatal(err)
	}
	hk := validatortest.NewIdentity(t, "m").Address()
	for i := range 2 {
		ctx, release, ok := p.Acquire(context.Background(), hk)
		if !ok {
			t.Fatalf("request %d refused", i)
		}
		_, _ = c.Do(ctx, http.MethodPost, srv.URL+"/v1/completions", hk, []byte(`{}`)) // unsigned: an error, but it went
		release()
	}
	p.mu.Lock()
	sent := len(p.miners[hk].sends)
	p.mu.Unlock()
	if sent != 2 {
		t.Fatalf("%d sends logged for 2 requests", sent)
	}
	// Bucket of 4 with 2 kept for probes: the third user request waits.
	if _, _, ok := p.Acquire(context.Background(), hk); ok {
		t.Fatal("user traffic beyond its share")
	}
}

// TestPacerCapacity: before a miner's first answer one user request at a
// time finds out its limits; then this validator's requests in flight stay
// within the miner's slots and queue.
func TestPacerCapacity(t *testing.T) {
	p := NewPacer(2)
	_, release, ok := p.Acquire(context.Background(), "m")
	if !ok {
		t.Fatal("first request refused")
	}
	if _, _, ok := p.Acquire(context.Background(), "m"); ok {
		t.Fatal("a second request before the miner's first answer")
	}
	h := http.Header{}
	h.Set(miner.HeaderConcurrency, "2")
	h.Set(miner.HeaderQueueSize, "3")
	p.observe("m", 200, h) // no bucket: not rate limited
	release()
	granted := 0
	for range 10 {
		if _, _, ok := p.Acquire(context.Background(), "m"); ok {
			granted++
		}
	}
	if granted != 5 {
		t.Fatalf("%d in flight to a miner with 2 slots and 3 queue places", granted)
	}
}

// isRateLimited reports whether err is a miner's 429.
func isRateLimited(err error) bool {
	var re *transport.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusTooManyRequests
}

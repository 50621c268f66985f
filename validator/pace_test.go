package validator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/miner"
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

// TestPacer429: a 429 pauses everything for its Retry-After; it is the
// validator's own doing when user requests left recently, not otherwise.
func TestPacer429(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := NewPacer(2)
	p.now = clk.now
	if p.ownTraffic("m") {
		t.Fatal("own traffic before any was sent")
	}
	h := announce("5", "0", "5")
	h.Set("Retry-After", "2")
	p.observe("m", 429, h)
	if _, _, ok := p.Acquire(context.Background(), "m"); ok || p.RetryAfter("m") < 2*time.Second {
		t.Fatalf("user traffic during Retry-After (ok=%v, retry after %s)", ok, p.RetryAfter("m"))
	}
	clk.add(3 * time.Second)
	_, release, ok := p.Acquire(context.Background(), "m")
	if !ok {
		t.Fatal("user traffic refused after Retry-After and a refill")
	}
	release()
	if !p.ownTraffic("m") {
		t.Fatal("a 429 right after the validator's user request is not its own doing?")
	}
	clk.add(10 * time.Second)
	if p.ownTraffic("m") {
		t.Fatal("own traffic long after the last user request")
	}
	// A miner that admits without a bucket is not paced (a 429 still is).
	p.observe("free", 200, http.Header{})
	for i := range 20 {
		if _, _, ok := p.Acquire(context.Background(), "free"); !ok {
			t.Fatalf("unlimited miner refused at request %d", i)
		}
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
	c, err := transport.NewClient(newIdentity(t, "val"), &http.Client{Transport: p.Transport(nil)})
	if err != nil {
		t.Fatal(err)
	}
	hk := newIdentity(t, "m").Address()
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
// (unsigned 429 rate_limited, Retry-After 1, its bucket of 5 at 1/s
// empty) and passes the rest to next.
func refusing(n int32, next http.Handler) (http.Handler, *atomic.Int32) {
	var seen atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen.Add(1) <= n {
			for k, v := range announce("5", "0", "1") {
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
// after the validator's own user traffic used the miner's budget is sent
// again after the Retry-After, and when refusals go on it is marked as the
// validator's own doing (no outcome); without such traffic the same 429 is
// the miner's and counts.
func TestProbeRefusedByOwnTrafficNotCounted(t *testing.T) {
	eng, ref := tinyReference(t)
	id := newIdentity(t, "miner")
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
		{"own traffic, then capacity", 1, true, ResultOK, false, 2},
		{"own traffic, refusals go on", 100, true, ResultRejected, true, 1 + ownTrafficRetries},
		{"no own traffic", 1, false, ResultRejected, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, seen := refusing(tc.refusals, srv.Handler())
			hs := httptest.NewServer(h)
			defer hs.Close()
			m := Miner{UID: 1, Hotkey: id.Address(), Address: strings.TrimPrefix(hs.URL, "http://"), ModelID: eng.Info().ID}
			p := NewPacer(2)
			c, err := transport.NewClient(newIdentity(t, "val"), &http.Client{Transport: p.Transport(nil)})
			if err != nil {
				t.Fatal(err)
			}
			a := &Asker{Client: c, Timeout: 10 * time.Second, Pacer: p}
			if tc.own {
				_, release, ok := p.Acquire(context.Background(), m.Hotkey) // the gateway's request
				if !ok {
					t.Fatal("user request refused")
				}
				release()
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

package miner

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/meritnet/merit/inference/api"
)

// TestRateLimitAnnounced: every /v1 answer to a known caller carries its
// bucket in OpenAI's x-ratelimit-* headers (burst, what is left, when it is
// full again) plus the refill rate and the miner's capacity; a 429 says
// the bucket is empty; /healthz names the base rate.
func TestRateLimitAnnounced(t *testing.T) {
	// A stopped clock: no token comes back while the test runs, however
	// slowly it runs.
	val, stray := newKeySigner(t), newKeySigner(t)
	start := time.Now()
	acc, err := NewAccess(AccessConfig{Metagraph: StaticMetagraph{permitGraph(val.Address(), stray.Address())}, RateLimit: 3,
		Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	m := startTestMiner(t, ServerConfig{Authorize: acc.Authorize, MaxTokens: func() int { return 64 }, Concurrency: 2, QueueSize: 5})
	f := &accessFixture{m: m, validator: val}
	c, rec := newTransportClient(t, f.validator)
	header := func() http.Header {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.last
	}
	reset := func(h http.Header) time.Duration {
		d, err := time.ParseDuration(h.Get(HeaderResetRequests))
		if err != nil {
			t.Fatalf("%s %q: %v", HeaderResetRequests, h.Get(HeaderResetRequests), err)
		}
		return d
	}
	check := func(what string, h http.Header, remaining string) {
		t.Helper()
		if h.Get(HeaderLimitRequests) != "3" || h.Get(HeaderRemainingRequests) != remaining || h.Get(HeaderRateRequests) != "3" ||
			h.Get(HeaderConcurrency) != "2" || h.Get(HeaderQueueSize) != "5" {
			t.Fatalf("%s: headers %v", what, h)
		}
	}
	maxTok, temp := 2, 0.0
	if r, err := post(t, c, f.m, "/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "Hi"}, MaxTokens: &maxTok, Temperature: &temp}); err != nil || r.StatusCode != 200 {
		t.Fatalf("completion: %v", err)
	}
	h := header()
	check("completion", h, "2")
	// One token of three used: full again in 1/3 s.
	if d := reset(h); d != 333*time.Millisecond {
		t.Fatalf("reset %s after one request of a 3/s bucket", d)
	}
	// A stream writes its headers with the first token.
	sr, err := c.Stream(context.Background(), http.MethodPost, f.m.URL+"/v1/completions", f.m.Addr,
		mustJSON(t, api.CompletionRequest{Prompt: api.Prompt{Text: "Hi"}, MaxTokens: &maxTok, Temperature: &temp, Stream: true}))
	if err != nil {
		t.Fatal(err)
	}
	check("stream", sr.Header, "1")
	sr.Body.Close()
	if _, err := c.Do(context.Background(), http.MethodGet, f.m.URL+"/v1/models", f.m.Addr, nil); err != nil {
		t.Fatal(err)
	}
	check("models", header(), "0")
	_, err = c.Do(context.Background(), http.MethodGet, f.m.URL+"/v1/models", f.m.Addr, nil)
	if code, reason := refusal(t, err); code != 429 || reason != "rate_limited" {
		t.Fatalf("fourth request: %d %s", code, reason)
	}
	h = header()
	check("429", h, "0")
	ra, _ := strconv.Atoi(h.Get("Retry-After"))
	if d := reset(h); ra != 1 || d != time.Second {
		t.Fatalf("429: Retry-After %q, reset %s", h.Get("Retry-After"), d)
	}

	acc, err = NewAccess(AccessConfig{RateLimit: 2.5})
	if err != nil {
		t.Fatal(err)
	}
	var hf struct {
		RateLimit struct {
			Enabled bool    `json:"enabled"`
			Base    float64 `json:"base_requests_per_second"`
			Burst   int     `json:"base_burst"`
		} `json:"rate_limit"`
	}
	raw, _ := json.Marshal(acc.HealthFields())
	if err := json.Unmarshal(raw, &hf); err != nil || !hf.RateLimit.Enabled || hf.RateLimit.Base != 2.5 || hf.RateLimit.Burst != 3 {
		t.Fatalf("healthz fields %s", raw)
	}
}

// TestRateLimitHeadersOnRefusals: an unauthenticated refusal carries the
// capacity but no bucket, and without a rate limit there is no bucket to
// announce either.
func TestRateLimitHeadersOnRefusals(t *testing.T) {
	f := newAccessFixture(t, 0, nil)
	s, rec := newTransportClient(t, f.stray)
	_, err := s.Do(context.Background(), http.MethodGet, f.m.URL+"/v1/models", f.m.Addr, nil)
	if code, _ := refusal(t, err); code != 403 {
		t.Fatalf("stray caller: %d", code)
	}
	rec.mu.Lock()
	h := rec.last
	rec.mu.Unlock()
	if h.Get(HeaderConcurrency) == "" || h.Get(HeaderLimitRequests) != "" {
		t.Fatalf("refusal headers %v", h)
	}
	c, rec := newTransportClient(t, f.validator)
	if _, err := c.Do(context.Background(), http.MethodGet, f.m.URL+"/v1/models", f.m.Addr, nil); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	h = rec.last
	rec.mu.Unlock()
	if h.Get(HeaderConcurrency) == "" || h.Get(HeaderLimitRequests) != "" {
		t.Fatalf("no rate limit, headers %v", h)
	}
	// Outside /v1 nothing is announced.
	resp, err := http.Get(f.m.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(HeaderConcurrency) != "" {
		t.Fatalf("/healthz headers %v", resp.Header)
	}
}

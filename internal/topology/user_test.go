package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// billedServer answers chat requests in the shapes a paid gateway uses:
// billing headers on plain answers, and on streams the balance before as a
// header with tokens, cost and balance after as HTTP trailers. Every third
// request is refused with 402. It checks the bearer key.
func billedServer(t *testing.T, key string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	balance := int64(1_000_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer "+key {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"message":"bad key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
			return
		}
		var req struct {
			Stream    bool  `json:"stream"`
			MaxTokens int64 `json:"max_tokens"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.MaxTokens != 7 {
			t.Errorf("request: %v max_tokens %d", err, req.MaxTokens)
		}
		i := n.Add(1)
		w.Header().Set("X-Merit-Account", "3")
		w.Header().Set("X-Merit-Price", "2500000")
		w.Header().Set("X-Merit-Miner-Uid", "1")
		if i%3 == 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusPaymentRequired)
			fmt.Fprint(w, `{"error":{"message":"balance 5 umerit does not cover","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`)
			return
		}
		cost := 10 * i
		balance -= cost
		if !req.Stream {
			w.Header().Set("X-Merit-Tokens", "12")
			w.Header().Set("X-Merit-Cost", fmt.Sprint(cost))
			w.Header().Set("X-Merit-Balance", fmt.Sprint(balance))
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"c1","object":"chat.completion","created":1,"model":"merit-tiny","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`)
			return
		}
		w.Header().Set("Trailer", "X-Merit-Tokens, X-Merit-Cost, X-Merit-Balance")
		w.Header().Set("X-Merit-Balance", fmt.Sprint(balance+cost))
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{
			`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"merit-tiny","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}`,
			`{"id":"c2","object":"chat.completion.chunk","created":1,"model":"merit-tiny","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}`,
			`[DONE]`,
		} {
			fmt.Fprintf(w, "data: %s\n\n", c)
			w.(http.Flusher).Flush()
		}
		// A gateway meters after the last event: the trailers come later,
		// so a client that stops reading at [DONE] never sees them.
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("X-Merit-Tokens", "12")
		w.Header().Set("X-Merit-Cost", fmt.Sprint(cost))
		w.Header().Set("X-Merit-Balance", fmt.Sprint(balance))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestUserRequestReadsBillingOfPlainAndStreamedAnswers(t *testing.T) {
	srv, _ := billedServer(t, "sk-merit-test")
	u := NewUser(UserConfig{BaseURL: srv.URL + "/v1", APIKey: "sk-merit-test", MaxTokens: 7})
	ctx := context.Background()

	plain := u.Request(ctx, "Once upon a time", false)
	if !plain.OK() || plain.PromptTokens != 5 || plain.CompletionTokens != 7 || plain.MinerUID != "1" {
		t.Fatalf("plain: %+v", plain)
	}
	if b := plain.Billing; b != (Billing{Account: "3", Price: 2500000, Tokens: 12, Cost: 10, Balance: 999_990}) {
		t.Fatalf("plain billing: %+v", b)
	}
	streamed := u.Request(ctx, "Once upon a time", true)
	if !streamed.OK() || streamed.PromptTokens != 5 || streamed.CompletionTokens != 7 {
		t.Fatalf("stream: %+v", streamed)
	}
	// The trailers, read after [DONE], give the cost and the balance after
	// the request, not the header's balance before it.
	if b := streamed.Billing; b != (Billing{Account: "3", Price: 2500000, Tokens: 12, Cost: 20, Balance: 999_970}) {
		t.Fatalf("stream billing: %+v", b)
	}
	refused := u.Request(ctx, "Once upon a time", true)
	if refused.OK() || refused.Status != http.StatusPaymentRequired || refused.Code != "insufficient_quota" || !strings.Contains(refused.Message, "balance 5 umerit") {
		t.Fatalf("402: %+v", refused)
	}
	bad := NewUser(UserConfig{BaseURL: srv.URL + "/v1", APIKey: "sk-merit-wrong", MaxTokens: 7}).Request(ctx, "x", false)
	if bad.Status != http.StatusUnauthorized || bad.Code != "invalid_api_key" {
		t.Fatalf("401: %+v", bad)
	}
}

func TestUserRunCountsByStatusAndSums(t *testing.T) {
	srv, n := billedServer(t, "sk-merit-test")
	u := NewUser(UserConfig{BaseURL: srv.URL + "/v1", APIKey: "sk-merit-test", MaxTokens: 7, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan UserStats)
	go func() { done <- u.Run(ctx) }()
	for u.Stats().Requests < 9 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	s := <-done
	sent := n.Load()
	// A request cut by the cancel is not counted; one already answered is.
	if s.Requests != sent && s.Requests != sent-1 {
		t.Fatalf("counted %d of %d sent", s.Requests, sent)
	}
	// The cancel can also land after a stream's [DONE] and before its
	// trailers: that last request was answered but its cost never seen.
	if s.Unbilled > 1 || s.Unbilled == 1 && (s.Requests%2 != 0 || s.Requests%3 == 0) {
		t.Fatalf("unbilled %d; only the last request, a stream, may be: %+v", s.Unbilled, s)
	}
	var wantCost, ok, refused int64
	for i := int64(1); i <= s.Requests; i++ {
		if i%3 == 0 {
			refused++
		} else {
			ok++
			if i < s.Requests || s.Unbilled == 0 {
				wantCost += 10 * i
			}
		}
	}
	if s.OK != ok || s.Failed != refused || s.ByStatus[200] != ok || s.ByStatus[402] != refused || s.ByCode["insufficient_quota"] != refused {
		t.Fatalf("counts: %+v", s)
	}
	if s.Cost != wantCost || s.BilledTokens != 12*(ok-s.Unbilled) || s.Balance != 1_000_000-wantCost {
		t.Fatalf("sums: cost %d want %d, tokens %d, unbilled %d, balance %d", s.Cost, wantCost, s.BilledTokens, s.Unbilled, s.Balance)
	}
	if s.Streamed != s.Requests/2 {
		t.Fatalf("streamed %d of %d", s.Streamed, s.Requests)
	}
	if got := s.StatusLine(); !strings.Contains(got, fmt.Sprintf("200×%d", ok)) || !strings.Contains(got, fmt.Sprintf("402×%d", refused)) {
		t.Fatalf("status line %q", got)
	}
	if got := s.CodeLine(); got != fmt.Sprintf("insufficient_quota×%d", refused) || !strings.HasPrefix(s.LastError, "402 insufficient_quota: balance 5 umerit") {
		t.Fatalf("code line %q, last error %q", got, s.LastError)
	}
	d := s.Sub(UserStats{ByStatus: map[int]int64{200: 1}, OK: 1, Requests: 1})
	if d.OK != ok-1 || d.ByStatus[200] != ok-1 || s.ByStatus[200] != ok {
		t.Fatalf("Sub: %+v (and must not change s)", d)
	}
}

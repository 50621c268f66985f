package miner

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// tokenizeSpy records the longest prompt text its engine was asked to
// tokenize, whether by PromptTokens or by a Generate given text.
type tokenizeSpy struct {
	inference.Engine
	mu      sync.Mutex
	longest int
}

func (s *tokenizeSpy) saw(req inference.GenerateRequest) {
	if len(req.PromptTokens) > 0 {
		return
	}
	n := len(req.Prompt)
	if len(req.Messages) > 0 {
		n = len(inference.ChatPrompt(req.Messages))
	}
	s.mu.Lock()
	s.longest = max(s.longest, n)
	s.mu.Unlock()
}

func (s *tokenizeSpy) Longest() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.longest
}

func (s *tokenizeSpy) Unwrap() inference.Engine { return s.Engine }

func (s *tokenizeSpy) PromptTokens(req inference.GenerateRequest) ([]int, error) {
	s.saw(req)
	return s.Engine.(promptTokener).PromptTokens(req)
}

func (s *tokenizeSpy) Generate(ctx context.Context, req inference.GenerateRequest, emit func(inference.Token) error) (*inference.Result, error) {
	s.saw(req)
	return s.Engine.Generate(ctx, req, emit)
}

// waitRunning waits until n generations hold a slot.
func waitRunning(t *testing.T, m *testMiner, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, r := m.queue.depth(); r == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never %d running", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A prompt that cannot fit the context is refused by its length in bytes:
// it never reaches the tokenizer and never takes (or waits for) the
// generation slot an honest request holds.
func TestLongPromptRefusedBeforeTokenizerAndSlot(t *testing.T) {
	spy := &tokenizeSpy{Engine: WithFaults(tinyEngine(t), Faults{Delay: 40 * time.Millisecond})}
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) {
		cfg.Engine = spy
		cfg.Concurrency, cfg.QueueSize = 1, -1 // one slot, no queue
		cfg.MaxBodyBytes = 2 << 20             // so that 1 MiB reaches the handler
	})
	c, _ := newTransportClient(t, f.validator)
	honestTok := 20
	honest := make(chan int, 1)
	go func() {
		r, err := post(t, c, f.m, "/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "Once upon a time"}, MaxTokens: &honestTok})
		if err != nil {
			t.Error(err)
			honest <- 0
			return
		}
		honest <- r.StatusCode
	}()
	waitRunning(t, f.m, 1)

	huge := strings.Repeat("lorem ipsum dolor sit amet ", (1<<20)/27+1)[:1<<20]
	for _, tc := range []struct {
		path string
		body any
	}{
		{"/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: huge}}},
		{"/v1/chat/completions", map[string]any{"messages": []map[string]string{{"role": "user", "content": huge}}}},
	} {
		start := time.Now()
		resp, err := post(t, c, f.m, tc.path, tc.body)
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		var e api.ErrorResponse
		_ = json.Unmarshal(resp.Body, &e)
		if resp.StatusCode != 400 || string(e.Error.Code) != `"context_length_exceeded"` || e.Error.Type != "invalid_request_error" {
			t.Fatalf("%s: %d %.300s", tc.path, resp.StatusCode, resp.Body)
		}
		// Generous for a busy 2-core CI machine: signing and sending 1 MiB
		// dominates; tokenizing it (before the bound) took far longer.
		if took > 5*time.Second {
			t.Errorf("%s: refused after %s", tc.path, took)
		}
		t.Logf("%s: 1 MiB prompt refused in %s", tc.path, took)
	}
	if n := spy.Longest(); n >= 1<<20 {
		t.Errorf("the tokenizer saw a prompt of %d bytes", n)
	}
	if code := <-honest; code != 200 {
		t.Errorf("honest request: %d", code)
	}
}

// Prompts are tokenized before a slot is taken, and a prompt of token ids
// longer than the context is refused there too.
func TestPromptCheckedOutsideSlot(t *testing.T) {
	spy := &tokenizeSpy{Engine: WithFaults(tinyEngine(t), Faults{Delay: 40 * time.Millisecond})}
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) {
		cfg.Engine = spy
		cfg.Concurrency, cfg.QueueSize = 1, -1
	})
	c, _ := newTransportClient(t, f.validator)
	honestTok := 20
	go func() {
		_, _ = post(t, c, f.m, "/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &honestTok})
	}()
	waitRunning(t, f.m, 1)
	ctxLen := spy.Info().ContextLength
	ids := make([]int, ctxLen)
	for i := range ids {
		ids[i] = 300
	}
	for _, body := range []any{
		map[string]any{"prompt": ids},                       // too many ids
		map[string]any{"prompt": []int{5, 99999}},           // an id outside the vocabulary
		map[string]any{"prompt": strings.Repeat("a", 1200)}, // within the byte bound, too many tokens
	} {
		resp, err := post(t, c, f.m, "/v1/completions", body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 400 {
			t.Errorf("%.80s: %d %s (want 400 without waiting for the slot)", mustJSON(t, body), resp.StatusCode, resp.Body)
		}
	}
}

// A client that leaves frees its generation slot quickly.
func TestClientGoneFreesSlot(t *testing.T) {
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) {
		cfg.Engine = WithFaults(tinyEngine(t), Faults{Delay: 40 * time.Millisecond})
		cfg.Concurrency, cfg.QueueSize = 1, -1
	})
	c, _ := newTransportClient(t, f.validator)
	for _, stream := range []bool{false, true} {
		maxTok := 64
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			body := mustJSON(t, api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &maxTok, Stream: stream})
			_, _ = c.Do(ctx, "POST", f.m.URL+"/v1/completions", f.m.Addr, body)
		}()
		waitRunning(t, f.m, 1)
		cancel()
		left := time.Now()
		waitRunning(t, f.m, 0)
		// 64 tokens at 40 ms would hold it 2.5 s; generous for CI load.
		took := time.Since(left)
		if took > time.Second {
			t.Errorf("stream=%v: slot freed %s after the client left", stream, took)
		}
		t.Logf("stream=%v: slot freed %s after the client left", stream, took)
		<-done
	}
}

// max_tokens below 1 is a 400 naming the param, for both routes and both
// spellings of chat's limit.
func TestMaxTokensBelowOne(t *testing.T) {
	f := newAccessFixture(t, 0, nil)
	c, _ := newTransportClient(t, f.validator)
	chat := []map[string]string{{"role": "user", "content": "hi"}}
	for _, tc := range []struct {
		path  string
		body  any
		param string
	}{
		{"/v1/completions", map[string]any{"prompt": "x", "max_tokens": 0}, "max_tokens"},
		{"/v1/completions", map[string]any{"prompt": "x", "max_tokens": -3}, "max_tokens"},
		{"/v1/chat/completions", map[string]any{"messages": chat, "max_tokens": 0}, "max_tokens"},
		{"/v1/chat/completions", map[string]any{"messages": chat, "max_completion_tokens": -1}, "max_completion_tokens"},
		{"/v1/completions", map[string]any{"prompt": "x", "max_tokens": 0, "stream": true}, "max_tokens"},
	} {
		resp, err := post(t, c, f.m, tc.path, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		var e api.ErrorResponse
		_ = json.Unmarshal(resp.Body, &e)
		if resp.StatusCode != 400 || string(e.Error.Code) != `"invalid_request"` || e.Error.Param == nil || *e.Error.Param != tc.param {
			t.Errorf("%s %s: %d %s", tc.path, mustJSON(t, tc.body), resp.StatusCode, resp.Body)
		}
	}
}

// Unknown paths answer a JSON 404 in OpenAI's error shape, under /v1/
// (signed) and outside it (before any authentication).
func TestUnknownPathsAreJSON404(t *testing.T) {
	f := newAccessFixture(t, 0, nil)
	c, _ := newTransportClient(t, f.validator)
	resp, err := post(t, c, f.m, "/v1/embeddings", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	var e api.ErrorResponse
	if err := json.Unmarshal(resp.Body, &e); err != nil || resp.StatusCode != 404 || string(e.Error.Code) != `"unknown_url"` {
		t.Errorf("signed /v1/embeddings: %d %s", resp.StatusCode, resp.Body)
	}
	for _, path := range []string{"/", "/v2/completions", "/admin", "/healthz/x"} {
		r, err := http.Post(f.m.URL+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		var e api.ErrorResponse
		err = json.NewDecoder(r.Body).Decode(&e)
		r.Body.Close()
		if err != nil || r.StatusCode != 404 || r.Header.Get("Content-Type") != "application/json" ||
			string(e.Error.Code) != `"unknown_url"` || e.Error.Type != "invalid_request_error" {
			t.Errorf("POST %s: %d %s %+v (%v)", path, r.StatusCode, r.Header.Get("Content-Type"), e, err)
		}
	}
}

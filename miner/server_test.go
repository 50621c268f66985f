package miner

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// permitGraph is a metagraph with one permitted validator and one
// registered neuron without a permit.
func permitGraph(validator, other string) *Snapshot {
	mg := &subnettypes.QueryMetagraphResponse{
		Block:  42,
		Subnet: subnettypes.Subnet{Netuid: 1, Task: subnettypes.Task{ModelName: inference.TinyName, ModelSha256: inference.TinySHA256, MaxTokens: 64}},
		Neurons: []subnettypes.MetagraphNeuron{
			{Neuron: subnettypes.Neuron{Uid: 0, Hotkey: validator, ValidatorPermit: true}, Stake: sdkmath.NewInt(1000)},
			{Neuron: subnettypes.Neuron{Uid: 1, Hotkey: other}, Stake: sdkmath.ZeroInt()},
		},
	}
	return NewSnapshot(mg, "", time.Now())
}

type accessFixture struct {
	m                       *testMiner
	validator, other, stray transport.Signer
}

func newAccessFixture(t *testing.T, rate float64, tweak func(*ServerConfig)) *accessFixture {
	t.Helper()
	f := &accessFixture{validator: newKeySigner(t), other: newKeySigner(t), stray: newKeySigner(t)}
	acc, err := NewAccess(AccessConfig{Metagraph: StaticMetagraph{permitGraph(f.validator.Address(), f.other.Address())}, RateLimit: rate, Netuid: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ServerConfig{Authorize: acc.Authorize, MaxTokens: func() int { return 64 }}
	if tweak != nil {
		tweak(&cfg)
	}
	f.m = startTestMiner(t, cfg)
	return f
}

func TestCompletionVerifies(t *testing.T) {
	f := newAccessFixture(t, 0, nil)
	c, _ := newTransportClient(t, f.validator)
	maxTok, temp, top := 32, 0.0, 3
	req := api.CompletionRequest{Prompt: api.Prompt{Text: "Once upon a time"}, MaxTokens: &maxTok, Temperature: &temp, Logprobs: &top}
	resp, err := post(t, c, f.m, "/v1/completions", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	var cr api.CompletionResponse
	if err := json.Unmarshal(resp.Body, &cr); err != nil {
		t.Fatal(err)
	}
	ch := cr.Choices[0]
	if cr.Model != inference.TinyID() || len(ch.PromptTokenIDs) == 0 || len(ch.TokenIDs) == 0 || len(ch.Logprobs.TokenLogprobs) != len(ch.TokenIDs) {
		t.Fatalf("answer lacks ids or logprobs: %s", resp.Body)
	}
	if len(ch.Logprobs.Content[0].TopLogprobs) != 3 || len(ch.Logprobs.TopLogprobs) != len(ch.TokenIDs) {
		t.Fatalf("top logprobs missing: %s", resp.Body)
	}
	gr := inference.GenerateRequest{MaxTokens: maxTok, Temperature: 0, TopLogprobs: top}
	if vd := verify(t, claimFromCompletion(t, gr, cr)); !vd.OK {
		t.Fatalf("honest answer fails verification: %s %s", vd.Reason, vd.Detail)
	}
	if cr.Usage == nil || cr.Usage.CompletionTokens != len(ch.TokenIDs) {
		t.Fatalf("usage %+v", cr.Usage)
	}

	// Chat: prompt ids come back too, so the validator checks what the
	// model really saw.
	chatReq := api.ChatCompletionRequest{Messages: []api.ChatMessage{{Role: "user", Content: "Tell me a story"}}, MaxTokens: &maxTok, Temperature: &temp}
	resp, err = post(t, c, f.m, "/v1/chat/completions", chatReq)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("chat: %v %+v", err, resp)
	}
	var chat api.ChatCompletionResponse
	if err := json.Unmarshal(resp.Body, &chat); err != nil {
		t.Fatal(err)
	}
	toks, ok := api.TokensOfChat(chat.Choices[0].Logprobs)
	if !ok || len(toks) != len(chat.Choices[0].TokenIDs) {
		t.Fatalf("chat logprobs: %s", resp.Body)
	}
	res := &inference.Result{PromptTokens: chat.Choices[0].PromptTokenIDs, Tokens: toks, Text: string(chat.Choices[0].Message.Content), FinishReason: inference.FinishReason(chat.Choices[0].FinishReason)}
	if vd := verify(t, inference.ClaimOf(inference.GenerateRequest{MaxTokens: maxTok}, res)); !vd.OK {
		t.Fatalf("chat answer fails verification: %s %s", vd.Reason, vd.Detail)
	}

	// /v1/models names the model with its hash.
	mresp, err := c.Do(context.Background(), "GET", f.m.URL+"/v1/models", f.m.Addr, nil)
	if err != nil || mresp.StatusCode != 200 || !contains(string(mresp.Body), inference.TinySHA256) {
		t.Fatalf("models: %v %s", err, mresp.Body)
	}
}

func TestCheatingMinerFailsVerification(t *testing.T) {
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) {
		cfg.Engine = WithFaults(tinyEngine(t), Faults{RandomTokens: true})
	})
	c, _ := newTransportClient(t, f.validator)
	maxTok, temp := 16, 0.0
	resp, err := post(t, c, f.m, "/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "Once upon a time"}, MaxTokens: &maxTok, Temperature: &temp})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %+v", err, resp)
	}
	var cr api.CompletionResponse
	if err := json.Unmarshal(resp.Body, &cr); err != nil {
		t.Fatal(err)
	}
	if n := len(cr.Choices[0].TokenIDs); n != maxTok {
		t.Fatalf("cheater sent %d tokens", n)
	}
	vd := verify(t, claimFromCompletion(t, inference.GenerateRequest{MaxTokens: maxTok}, cr))
	if vd.OK {
		t.Fatal("random tokens pass verification")
	}
}

// replayer keeps a copy of each request it sends, to send again verbatim.
type replayer struct {
	mu   sync.Mutex
	last *http.Request
	body []byte
}

func (r *replayer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.last, r.body = req.Clone(context.Background()), body
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *replayer) replay(t *testing.T) *http.Response {
	t.Helper()
	r.mu.Lock()
	req := r.last.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(r.body))
	r.mu.Unlock()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestRefusals(t *testing.T) {
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) { cfg.MaxBodyBytes = 4096 })
	maxTok := 4
	body := api.CompletionRequest{Prompt: api.Prompt{Text: "hi"}, MaxTokens: &maxTok}
	metrics := f.m.Metrics()

	for _, tc := range []struct {
		name   string
		signer transport.Signer
		why    string
	}{
		{"unregistered", f.stray, "not registered"},
		{"not permitted", f.other, "holds no validator permit"},
	} {
		c, _ := newTransportClient(t, tc.signer)
		_, err := post(t, c, f.m, "/v1/completions", body)
		if code, reason := refusal(t, err); code != 403 || reason != "forbidden" {
			t.Errorf("%s: %d %s", tc.name, code, reason)
		}
	}
	if got := metricValue(t, metrics, "merit_miner_rejections_total", map[string]string{"reason": "forbidden"}); got != 2 {
		t.Errorf("forbidden counted %v times", got)
	}

	// No signature at all.
	resp, err := http.Post(f.m.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get(transport.HeaderError) != "missing_signature" {
		t.Errorf("unsigned: %d %s", resp.StatusCode, resp.Header.Get(transport.HeaderError))
	}

	// A replayed request is refused, however valid its signature.
	rp := &replayer{}
	c, err := transport.NewClient(f.validator, &http.Client{Transport: rp})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := post(t, c, f.m, "/v1/completions", body); err != nil || r.StatusCode != 200 {
		t.Fatalf("first request: %v %+v", err, r)
	}
	if resp := rp.replay(t); resp.StatusCode != 401 || resp.Header.Get(transport.HeaderError) != "replay" {
		t.Errorf("replay: %d %s", resp.StatusCode, resp.Header.Get(transport.HeaderError))
	}

	// Oversized body.
	big := api.CompletionRequest{Prompt: api.Prompt{Text: strings.Repeat("a", 5000)}}
	if _, err := post(t, c, f.m, "/v1/completions", big); err == nil {
		t.Error("oversized body accepted")
	} else if code, reason := refusal(t, err); code != 413 || reason != "too_large" {
		t.Errorf("oversized: %d %s", code, reason)
	}

	for reason, want := range map[string]float64{"missing_signature": 1, "replay": 1, "too_large": 1} {
		if got := metricValue(t, metrics, "merit_miner_rejections_total", map[string]string{"reason": reason}); got != want {
			t.Errorf("rejections{reason=%s} = %v, want %v", reason, got, want)
		}
	}
	if got := metricValue(t, metrics, "merit_miner_requests_total", map[string]string{"endpoint": "/v1/completions", "code": "403"}); got != 2 {
		t.Errorf("requests{code=403} = %v", got)
	}
}

func TestBadRequests(t *testing.T) {
	f := newAccessFixture(t, 0, nil)
	c, _ := newTransportClient(t, f.validator)
	n2, over, zero := 2, 65, 0
	for _, tc := range []struct {
		path string
		body any
		code int
		want string
	}{
		{"/v1/completions", map[string]any{"model": "gpt-4", "prompt": "x"}, 404, "is not served here"},
		{"/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &over}, 400, "exceeds this subnet's limit of 64"},
		{"/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &zero}, 400, "at least 1"},
		{"/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, N: &n2}, 400, "n=2"},
		{"/v1/completions", map[string]any{"prompt": []int{5, 99999}}, 400, "invalid request"},
		{"/v1/completions", map[string]any{"prompt": 5}, 400, "not valid JSON"},
		{"/v1/chat/completions", map[string]any{"messages": []any{}}, 400, "at least one message"},
		{"/v1/embeddings", map[string]any{}, 404, "no route"},
	} {
		resp, err := post(t, c, f.m, tc.path, tc.body)
		if err != nil {
			t.Fatalf("%s %v: %v", tc.path, tc.body, err)
		}
		if resp.StatusCode != tc.code || !contains(string(resp.Body), tc.want) {
			t.Errorf("%s %s: %d %s; want %d %q", tc.path, mustJSON(t, tc.body), resp.StatusCode, resp.Body, tc.code, tc.want)
		}
	}
}

func TestStreaming(t *testing.T) {
	f := newAccessFixture(t, 0, nil)
	c, _ := newTransportClient(t, f.validator)
	maxTok, temp, top := 24, 0.0, 2
	for _, chat := range []bool{false, true} {
		var body any = api.CompletionRequest{Prompt: api.Prompt{Text: "The little dog"}, MaxTokens: &maxTok, Temperature: &temp, Logprobs: &top, Stream: true, StreamOptions: &api.StreamOptions{IncludeUsage: true}}
		path := "/v1/completions"
		if chat {
			body = api.ChatCompletionRequest{Messages: []api.ChatMessage{{Role: "user", Content: "hello"}}, MaxTokens: &maxTok, Temperature: &temp, TopLogprobs: &top, Logprobs: true, Stream: true}
			path = "/v1/chat/completions"
		}
		sr, err := c.Stream(context.Background(), "POST", f.m.URL+path, f.m.Addr, mustJSON(t, body))
		if err != nil {
			t.Fatal(err)
		}
		if sr.StatusCode != 200 || !strings.HasPrefix(sr.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("status %d %s", sr.StatusCode, sr.Header.Get("Content-Type"))
		}
		data, err := io.ReadAll(sr.Body) // nil error only once the signed trailer verified
		sr.Body.Close()
		if err != nil {
			t.Fatalf("chat=%v: stream does not verify: %v", chat, err)
		}
		events := sseEvents(t, data)
		if string(events[len(events)-1]) != api.DoneData {
			t.Fatalf("no [DONE]: %s", data)
		}
		res := &inference.Result{}
		var text strings.Builder
		for _, ev := range events[:len(events)-1] {
			var chunk struct {
				Choices []struct {
					Text           string                  `json:"text"`
					Delta          *api.ChatDelta          `json:"delta"`
					Logprobs       *api.CompletionLogprobs `json:"logprobs"`
					FinishReason   *string                 `json:"finish_reason"`
					PromptTokenIDs []int                   `json:"prompt_token_ids"`
					TokenIDs       []int                   `json:"token_ids"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(ev, &chunk); err != nil {
				t.Fatal(err)
			}
			for _, ch := range chunk.Choices {
				if ch.PromptTokenIDs != nil {
					res.PromptTokens = ch.PromptTokenIDs
				}
				if ch.Delta != nil {
					text.WriteString(ch.Delta.Content)
				} else {
					text.WriteString(ch.Text)
				}
				if ch.Logprobs != nil {
					toks, ok := api.TokensOfChat(&api.ChatLogprobs{Content: ch.Logprobs.Content})
					if !ok || len(toks) != len(ch.TokenIDs) {
						t.Fatalf("chunk without ids: %s", ev)
					}
					res.Tokens = append(res.Tokens, toks...)
				}
				if ch.FinishReason != nil {
					res.FinishReason = inference.FinishReason(*ch.FinishReason)
				}
			}
		}
		res.Text = text.String()
		if len(res.PromptTokens) == 0 || len(res.Tokens) == 0 || res.FinishReason == "" {
			t.Fatalf("chat=%v: incomplete stream %s", chat, data)
		}
		if vd := verify(t, inference.ClaimOf(inference.GenerateRequest{MaxTokens: maxTok, TopLogprobs: top}, res)); !vd.OK {
			t.Fatalf("chat=%v: streamed answer fails verification: %s %s", chat, vd.Reason, vd.Detail)
		}
		if !chat && !contains(string(events[len(events)-2]), `"usage"`) {
			t.Errorf("no usage chunk: %s", events[len(events)-2])
		}
	}
}

func TestQueueFull(t *testing.T) {
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) {
		cfg.Engine = WithFaults(tinyEngine(t), Faults{Delay: 100 * time.Millisecond})
		cfg.Concurrency, cfg.QueueSize = 1, 1
	})
	c, rec := newTransportClient(t, f.validator)
	maxTok := 5
	body := api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &maxTok}
	// Two requests fill the slot and the queue.
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := post(t, c, f.m, "/v1/completions", body)
			if err != nil {
				t.Error(err)
				return
			}
			codes <- r.StatusCode
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if w, r := f.m.queue.depth(); w == 1 && r == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("queue never filled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := post(t, c, f.m, "/v1/completions", body)
	if err != nil {
		t.Fatal(err)
	}
	// The busy answer is signed: it comes from the miner, not from a path.
	if resp.StatusCode != 503 || !contains(string(resp.Body), "queue_full") || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d %s %v", resp.StatusCode, resp.Body, rec.Header())
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Errorf("queued request got %d", code)
		}
	}
	if got := metricValue(t, f.m.Metrics(), "merit_miner_rejections_total", map[string]string{"reason": "queue_full"}); got != 1 {
		t.Errorf("queue_full counted %v", got)
	}
}

func TestRateLimit(t *testing.T) {
	f := newAccessFixture(t, 1, nil)
	c, rec := newTransportClient(t, f.validator)
	if r, err := c.Do(context.Background(), "GET", f.m.URL+"/v1/models", f.m.Addr, nil); err != nil || r.StatusCode != 200 {
		t.Fatalf("first: %v", err)
	}
	_, err := c.Do(context.Background(), "GET", f.m.URL+"/v1/models", f.m.Addr, nil)
	if code, reason := refusal(t, err); code != 429 || reason != "rate_limited" {
		t.Fatalf("second: %d %s", code, reason)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q", ra)
	}
	if got := metricValue(t, f.m.Metrics(), "merit_miner_rejections_total", map[string]string{"reason": "rate_limited"}); got != 1 {
		t.Errorf("rate_limited counted %v", got)
	}
}

func TestTimeout(t *testing.T) {
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) {
		cfg.Engine = WithFaults(tinyEngine(t), Faults{Delay: 100 * time.Millisecond})
		cfg.RequestTimeout = 250 * time.Millisecond
	})
	c, _ := newTransportClient(t, f.validator)
	maxTok := 10
	resp, err := post(t, c, f.m, "/v1/completions", api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &maxTok})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 504 || !contains(string(resp.Body), "timeout") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Body)
	}
	if got := metricValue(t, f.m.Metrics(), "merit_miner_rejections_total", map[string]string{"reason": "timeout"}); got != 1 {
		t.Errorf("timeout counted %v", got)
	}
}

func TestHealthAndMetricsAreOpen(t *testing.T) {
	f := newAccessFixture(t, 0, func(cfg *ServerConfig) {
		cfg.Health = func() map[string]any { return map[string]any{"netuid": 1} }
	})
	resp, err := http.Get(f.m.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || h["status"] != "ok" || h["model"] != inference.TinyID() || h["netuid"] != 1.0 {
		t.Fatalf("healthz: %v %d %v", err, resp.StatusCode, h)
	}
	resp, err = http.Get(f.m.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"merit_miner_requests_total", `merit_miner_rejections_total{reason="queue_full"} 0`, "merit_miner_queue_depth", "go_goroutines"} {
		if !contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestShutdownFinishesInFlight: Serve returns only after a running stream
// has ended cleanly.
func TestShutdownFinishesInFlight(t *testing.T) {
	validator := newKeySigner(t)
	acc, _ := NewAccess(AccessConfig{Allow: []string{validator.Address()}})
	srv, err := NewServer(ServerConfig{
		Engine: WithFaults(tinyEngine(t), Faults{Delay: 20 * time.Millisecond}), Signer: newKeySigner(t), Authorize: acc.Authorize,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln := listenLoopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	m := &testMiner{Server: srv, URL: "http://" + ln.Addr().String(), Addr: srv.cfg.Signer.Address()}
	c, _ := newTransportClient(t, validator)
	maxTok := 20
	sr, err := c.Stream(context.Background(), "POST", m.URL+"/v1/completions", m.Addr,
		mustJSON(t, api.CompletionRequest{Prompt: api.Prompt{Text: "x"}, MaxTokens: &maxTok, Stream: true}))
	if err != nil {
		t.Fatal(err)
	}
	cancel() // SIGTERM, in effect
	data, err := io.ReadAll(sr.Body)
	if err != nil || !contains(string(data), "[DONE]") {
		t.Fatalf("in-flight stream cut: %v %s", err, data)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(m.URL + "/healthz"); err == nil {
		t.Error("still accepting after shutdown")
	}
}

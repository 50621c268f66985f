package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meritnet/merit/inference"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fake replays recorded responses of one server kind ("vllm" or
// "llamacpp") and records the request bodies it got.
type fake struct {
	t    *testing.T
	kind string
	mu   sync.Mutex
	reqs map[string]map[string]any
}

func newFake(t *testing.T, kind string) (*fake, *httptest.Server) {
	f := &fake{t: t, kind: kind, reqs: map[string]map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fake) body(path string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[path]
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req map[string]any
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", 400)
			return
		}
	}
	f.mu.Lock()
	f.reqs[r.URL.Path] = req
	f.mu.Unlock()
	stream, _ := req["stream"].(bool)
	name := ""
	switch r.URL.Path {
	case "/v1/models":
		name = "models.json"
	case "/v1/completions":
		name = "completion.json"
		if echo, _ := req["echo"].(bool); echo {
			name = "echo.json"
		}
	case "/v1/chat/completions":
		name = "chat.json"
	case "/tokenize":
		if f.kind == "vllm" {
			w.Write([]byte(`{"count":5,"max_model_len":32768,"tokens":[785,6722,315,9625,374],"token_strs":null}`))
		} else {
			w.Write([]byte(`{"tokens":[785,6722,315,9625,374]}`))
		}
		return
	case "/detokenize":
		if f.kind == "vllm" {
			w.Write([]byte(`{"prompt":"The capital of France is"}`))
		} else {
			w.Write([]byte(`{"content":"The capital of France is"}`))
		}
		return
	default:
		http.NotFound(w, r)
		return
	}
	if stream {
		name = strings.TrimSuffix(name, ".json") + "_stream.txt"
		w.Header().Set("Content-Type", "text/event-stream")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Write(fixture(f.t, f.kind+"_"+name))
}

func newBackend(t *testing.T, srv *httptest.Server, cfg Config) *Backend {
	t.Helper()
	cfg.BaseURL = srv.URL + "/v1"
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ids(toks []inference.Token) []int {
	out := make([]int, len(toks))
	for i, t := range toks {
		out[i] = t.ID
	}
	return out
}

func TestVLLMCompletion(t *testing.T) {
	for _, stream := range []bool{false, true} {
		f, srv := newFake(t, "vllm")
		b := newBackend(t, srv, Config{NoStream: !stream})
		var emitted []inference.Token
		res, err := b.Generate(context.Background(), inference.GenerateRequest{
			PromptTokens: []int{785, 6722, 315, 9625, 374}, MaxTokens: 4, TopLogprobs: 2,
		}, func(tok inference.Token) error { emitted = append(emitted, tok); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if b.Dialect() != DialectVLLM || b.Info().ContextLength != 32768 || b.Info().ID != "Qwen/Qwen2.5-0.5B-Instruct" {
			t.Fatalf("probe: %s %+v", b.Dialect(), b.Info())
		}
		if !reflect.DeepEqual(ids(res.Tokens), []int{12095, 13, 1084, 374}) || res.Text != " Paris. It is" || res.FinishReason != inference.FinishLength {
			t.Fatalf("stream=%v: %+v", stream, res)
		}
		if !reflect.DeepEqual(res.PromptTokens, []int{785, 6722, 315, 9625, 374}) {
			t.Fatalf("prompt tokens %v", res.PromptTokens)
		}
		last := res.Tokens[3]
		if last.Logprob != -0.221 || len(last.Top) != 2 || last.Top[0].ID != 576 || last.Top[1].ID != 374 {
			t.Fatalf("last token %+v", last)
		}
		var text strings.Builder
		for _, e := range emitted {
			text.WriteString(e.Text)
		}
		if len(emitted) != 4 || text.String() != res.Text {
			t.Fatalf("emitted %d tokens, text %q", len(emitted), text.String())
		}
		req := f.body("/v1/completions")
		if req["return_tokens_as_token_ids"] != true || req["logprobs"] != 2.0 || req["model"] != "Qwen/Qwen2.5-0.5B-Instruct" || req["temperature"] != 0.0 {
			t.Fatalf("request %v", req)
		}
		if p, ok := req["prompt"].([]any); !ok || len(p) != 5 {
			t.Fatalf("prompt sent as %v", req["prompt"])
		}
	}
}

func TestVLLMChat(t *testing.T) {
	for _, stream := range []bool{false, true} {
		f, srv := newFake(t, "vllm")
		b := newBackend(t, srv, Config{Dialect: DialectVLLM, Model: "Qwen/Qwen2.5-0.5B-Instruct", NoStream: !stream})
		res, err := b.Generate(context.Background(), inference.GenerateRequest{
			Messages: []inference.Message{{Role: "user", Content: "Say hello"}}, TopLogprobs: 1,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids(res.Tokens), []int{9707, 0}) || res.Text != "Hello!" || res.FinishReason != inference.FinishStop {
			t.Fatalf("stream=%v %+v", stream, res)
		}
		if res.Tokens[0].Piece != "" || len(res.Tokens[0].Top) != 1 || res.Tokens[0].Top[0].ID != 9707 || res.Tokens[1].Logprob != -0.2231 {
			t.Fatalf("token %+v", res.Tokens[0])
		}
		req := f.body("/v1/chat/completions")
		if req["logprobs"] != true || req["top_logprobs"] != 1.0 || req["return_tokens_as_token_ids"] != true {
			t.Fatalf("request %v", req)
		}
		if f.body("/v1/models") != nil {
			t.Fatal("probed although configured")
		}
	}
}

func TestVLLMScore(t *testing.T) {
	f, srv := newFake(t, "vllm")
	b := newBackend(t, srv, Config{})
	toks := []int{785, 6722, 315, 9625, 374}
	sc, err := b.Score(context.Background(), inference.ScoreRequest{Tokens: toks, From: 1, TopK: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(sc) != 4 || sc[0].Pos != 1 || sc[0].Token != 6722 || sc[0].Logprob != -9.8125 || sc[0].Argmax != 3405 {
		t.Fatalf("%+v", sc)
	}
	if sc[1].Argmax != 3283 || sc[1].Gap != -0.9402-(-1.5214) || len(sc[1].Top) != 1 || sc[3].Argmax != 374 {
		t.Fatalf("%+v", sc[1])
	}
	req := f.body("/v1/completions")
	if req["echo"] != true || req["max_tokens"] != 1.0 || req["logprobs"] != 2.0 {
		t.Fatalf("request %v", req)
	}
	got, err := b.Tokenize(context.Background(), "The capital of France is", false)
	if err != nil || !reflect.DeepEqual(got, toks) {
		t.Fatal(got, err)
	}
	if f.body("/tokenize")["prompt"] != "The capital of France is" {
		t.Fatal(f.body("/tokenize"))
	}
	text, err := b.Detokenize(context.Background(), toks, -1)
	if err != nil || text != "The capital of France is" {
		t.Fatal(text, err)
	}
}

func TestLlamaCpp(t *testing.T) {
	for _, stream := range []bool{false, true} {
		f, srv := newFake(t, "llamacpp")
		b := newBackend(t, srv, Config{NoStream: !stream})
		res, err := b.Generate(context.Background(), inference.GenerateRequest{Prompt: "The capital of France is", MaxTokens: 4, TopLogprobs: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if b.Dialect() != DialectLlamaCpp || b.Info().ContextLength != 32768 || b.Info().VocabSize != 151936 {
			t.Fatalf("probe %s %+v", b.Dialect(), b.Info())
		}
		if !reflect.DeepEqual(ids(res.Tokens), []int{12095, 13, 1084, 374}) || res.Text != " Paris. It is" || res.FinishReason != inference.FinishLength {
			t.Fatalf("stream=%v %+v", stream, res)
		}
		if res.Tokens[0].Piece != " Paris" || res.Tokens[0].Text != " Paris" || res.Tokens[3].Top[0].ID != 576 {
			t.Fatalf("%+v", res.Tokens)
		}
		if req := f.body("/v1/completions"); req["n_probs"] != 2.0 || req["prompt"] != "The capital of France is" {
			t.Fatalf("request %v", req)
		}
		res, err = b.Generate(context.Background(), inference.GenerateRequest{Messages: []inference.Message{{Role: "user", Content: "hi"}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ids(res.Tokens), []int{9707, 0}) || res.Text != "Hello!" || res.FinishReason != inference.FinishStop || res.Tokens[1].Piece != "!" {
			t.Fatalf("chat stream=%v %+v", stream, res)
		}
		if req := f.body("/v1/chat/completions"); req["top_logprobs"] != 1.0 || req["n_probs"] != 1.0 {
			t.Fatalf("chat request %v", req)
		}
		if len(res.Tokens[0].Top) != 0 {
			t.Fatalf("asked for no alternatives, got %v", res.Tokens[0].Top)
		}
	}
	_, srv := newFake(t, "llamacpp")
	b := newBackend(t, srv, Config{Dialect: DialectLlamaCpp, Model: "m"})
	if _, err := b.Score(context.Background(), inference.ScoreRequest{Tokens: []int{1, 2}, From: 1}); !errors.Is(err, inference.ErrUnsupported) {
		t.Fatalf("score: %v", err)
	}
	if toks, err := b.Tokenize(context.Background(), "x", true); err != nil || len(toks) != 5 {
		t.Fatal(toks, err)
	}
	if s, err := b.Detokenize(context.Background(), []int{1}, -1); err != nil || s != "The capital of France is" {
		t.Fatal(s, err)
	}
}

// serve answers every request with a fixed status and body.
func serve(t *testing.T, status int, contentType, body string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	gen := inference.GenerateRequest{Prompt: "x", MaxTokens: 4}
	cfg := Config{Dialect: DialectVLLM, Model: "m", NoStream: true}
	cases := []struct {
		name   string
		status int
		ctype  string
		body   string
		stream bool
		want   []error
	}{
		{"vllm context", 400, "application/json", string(fixture(t, "vllm_error_context.json")), false, []error{ErrUpstream, inference.ErrInvalidRequest, inference.ErrContextLength}},
		{"llama.cpp context", 400, "application/json", string(fixture(t, "llamacpp_error_context.json")), false, []error{inference.ErrContextLength}},
		{"not found", 404, "application/json", string(fixture(t, "vllm_error_notfound.json")), false, []error{ErrModelNotFound}},
		{"auth", 401, "application/json", string(fixture(t, "llamacpp_error_auth.json")), false, []error{ErrUnauthorized}},
		{"loading", 503, "application/json", string(fixture(t, "llamacpp_error_loading.json")), false, []error{ErrUnavailable, ErrUpstream}},
		{"rate limit", 429, "application/json", `{"error":{"message":"slow down","type":"rate_limit"}}`, false, []error{ErrRateLimited}},
		{"500 text", 500, "text/plain", "Internal Server Error", false, []error{ErrUpstream}},
		{"malformed json", 200, "application/json", `{"choices":[{"text":`, false, []error{ErrMalformed}},
		{"html", 200, "text/html", `<html>proxy login</html>`, false, []error{ErrMalformed}},
		{"no logprobs", 200, "application/json", `{"choices":[{"index":0,"text":"hi","logprobs":null,"finish_reason":"length"}]}`, false, []error{ErrMissingLogprobs}},
		{"no finish", 200, "application/json", `{"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":null}]}`, false, []error{ErrMalformed}},
		{"no ids", 200, "application/json", `{"choices":[{"index":0,"text":"hi","logprobs":{"tokens":["hi"],"token_logprobs":[-1],"top_logprobs":[{"hi":-1}]},"finish_reason":"length"}]}`, false, []error{ErrMissingTokenIDs}},
		{"ids mismatch", 200, "application/json", `{"choices":[{"index":0,"text":"hi","logprobs":{"tokens":["token_id:5"],"token_logprobs":[-1]},"finish_reason":"length","token_ids":[5,6]}]}`, false, []error{ErrMalformed}},
		{"stream no done", 200, "text/event-stream", "data: {\"choices\":[{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"length\"}]}\n\n", true, []error{ErrMalformed}},
		{"stream bad chunk", 200, "text/event-stream", "data: {\"choices\":[\n\ndata: [DONE]\n\n", true, []error{ErrMalformed}},
		{"stream error event", 200, "text/event-stream", "error: {\"code\":500,\"message\":\"slot unavailable\",\"type\":\"server_error\"}\n\n", true, []error{ErrUpstream}},
		{"stream error data", 200, "text/event-stream", "data: {\"error\":{\"message\":\"This model's maximum context length is 2048 tokens.\",\"type\":\"BadRequestError\",\"code\":400}}\n\n", true, []error{inference.ErrContextLength}},
		{"stream too large", 200, "text/event-stream", "data: " + strings.Repeat("x", 3000) + "\n\n", true, []error{ErrResponseTooLarge}},
		{"body too large", 200, "application/json", `{"choices":[{"text":"` + strings.Repeat("x", 3000) + `"}]}`, false, []error{ErrResponseTooLarge}},
	}
	for _, c := range cases {
		srv := serve(t, c.status, c.ctype, c.body)
		cc := cfg
		cc.NoStream = !c.stream
		cc.MaxResponseBytes = 2048
		b := newBackend(t, srv, cc)
		_, err := b.Generate(ctx, gen, nil)
		for _, w := range c.want {
			if !errors.Is(err, w) {
				t.Errorf("%s: error %v is not %v", c.name, err, w)
			}
		}
	}
	// An error message is readable.
	b := newBackend(t, serve(t, 400, "application/json", string(fixture(t, "vllm_error_context.json"))), cfg)
	_, err := b.Generate(ctx, gen, nil)
	if !strings.Contains(err.Error(), "maximum context length is 32768") || !strings.Contains(err.Error(), "400") {
		t.Errorf("message: %v", err)
	}
}

func TestTransportErrors(t *testing.T) {
	ctx := context.Background()
	gen := inference.GenerateRequest{Prompt: "x"}
	// Connection refused: a port that was just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b, _ := New(Config{BaseURL: "http://" + addr, Dialect: DialectVLLM, Model: "m"})
	if _, err := b.Generate(ctx, gen, nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("refused: %v", err)
	}
	b, _ = New(Config{BaseURL: "http://" + addr})
	if err := b.Probe(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("probe refused: %v", err)
	}
	// Timeout: the server stalls mid-stream.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte(": hello\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	b = newBackend(t, slow, Config{Dialect: DialectVLLM, Model: "m", Timeout: 100 * time.Millisecond})
	start := time.Now()
	if _, err := b.Generate(ctx, gen, nil); !errors.Is(err, ErrTimeout) || time.Since(start) > 5*time.Second {
		t.Errorf("timeout: %v after %v", err, time.Since(start))
	}
	// The caller's own cancellation is reported as such.
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	b = newBackend(t, slow, Config{Dialect: DialectVLLM, Model: "m"})
	if _, err := b.Generate(cctx, gen, nil); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Errorf("caller deadline: %v", err)
	}
	// Configuration errors.
	if _, err := New(Config{BaseURL: "localhost:8000"}); err == nil {
		t.Error("scheme-less URL accepted")
	}
	if _, err := New(Config{BaseURL: "http://x", Dialect: "tgi"}); err == nil {
		t.Error("unknown dialect accepted")
	}
	b, _ = New(Config{BaseURL: "http://x", Dialect: DialectOpenAI, Model: "m"})
	if _, err := b.Tokenize(ctx, "x", false); !errors.Is(err, inference.ErrUnsupported) {
		t.Errorf("tokenize: %v", err)
	}
	if _, err := b.Generate(ctx, inference.GenerateRequest{TopLogprobs: 30}, nil); !errors.Is(err, inference.ErrInvalidRequest) {
		t.Errorf("top logprobs: %v", err)
	}
	// emit errors stop the stream.
	_, srv := newFake(t, "vllm")
	b = newBackend(t, srv, Config{})
	boom := errors.New("client went away")
	if _, err := b.Generate(ctx, inference.GenerateRequest{PromptTokens: []int{1}}, func(inference.Token) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("emit: %v", err)
	}
}

// Package openai is an inference.Engine backed by an OpenAI-compatible HTTP
// server: llama.cpp's server, vLLM, Ollama, or anything that speaks the API
// and can return per-token logprobs. It asks the upstream for logprobs and
// token ids in each server's own dialect and turns upstream failures into
// the errors of errors.go.
package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

// Dialect selects how logprobs and token ids are requested.
type Dialect string

// Dialects.
const (
	// DialectAuto probes GET /v1/models on first use: owned_by "vllm" or
	// "llamacpp" pick those dialects, anything else DialectOpenAI.
	DialectAuto Dialect = ""
	// DialectVLLM sends return_tokens_as_token_ids and return_token_ids
	// and reads "token_id:N" tokens; supports Score (echo) and tokenization.
	DialectVLLM Dialect = "vllm"
	// DialectLlamaCpp sends n_probs and reads the "id" of logprob entries;
	// supports tokenization.
	DialectLlamaCpp Dialect = "llamacpp"
	// DialectOpenAI is the plain API (OpenAI, Ollama): logprobs only, so
	// token ids must come from an "id" field or the request fails.
	DialectOpenAI Dialect = "openai"
)

// Config configures a Backend.
type Config struct {
	// BaseURL is the server root, e.g. http://127.0.0.1:8080 (a trailing /v1 is accepted).
	BaseURL string
	// Model is the model name sent upstream; empty takes the first model of /v1/models.
	Model  string
	APIKey string
	// Dialect of the upstream; DialectAuto probes it.
	Dialect Dialect
	// ModelID is the id Info reports (e.g. "llama-3.2-1b@sha256:..."); default Model.
	ModelID string
	// ContextLength and VocabSize are reported by Info; when zero they are
	// taken from /v1/models if the upstream tells (vLLM, llama.cpp).
	ContextLength int
	VocabSize     int
	// Timeout bounds each upstream request (default 2 minutes).
	Timeout time.Duration
	// MaxResponseBytes bounds a response body or stream (default 16 MiB).
	MaxResponseBytes int64
	// NoStream makes Generate use one non-streaming request (emit is then
	// called for all tokens once the answer is complete).
	NoStream bool
	// HTTPClient defaults to a client without its own timeout (Timeout applies).
	HTTPClient *http.Client
}

// Backend implements inference.Engine over HTTP. Safe for concurrent use.
type Backend struct {
	cfg    Config
	base   string
	client *http.Client

	probeMu sync.Mutex // one probe at a time

	mu sync.RWMutex // guards the fields that Probe fills in
	st upstream
}

// upstream is what is known about the server: configured or probed.
type upstream struct {
	model   string
	dialect Dialect
	ctxLen  int
	vocab   int
}

func (b *Backend) state() upstream {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.st
}

// New checks the configuration; it does not contact the upstream.
func New(cfg Config) (*Backend, error) {
	base := strings.TrimRight(cfg.BaseURL, "/")
	base = strings.TrimSuffix(base, "/v1")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("openai backend: base URL %q must start with http:// or https://", cfg.BaseURL)
	}
	switch cfg.Dialect {
	case DialectAuto, DialectVLLM, DialectLlamaCpp, DialectOpenAI:
	default:
		return nil, fmt.Errorf("openai backend: unknown dialect %q (vllm, llamacpp, openai)", cfg.Dialect)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 16 << 20
	}
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{}
	}
	st := upstream{model: cfg.Model, dialect: cfg.Dialect, ctxLen: cfg.ContextLength, vocab: cfg.VocabSize}
	return &Backend{cfg: cfg, base: base, client: c, st: st}, nil
}

// Probe reads GET /v1/models: it fills in the model name, dialect, context
// length and vocabulary size where the configuration left them empty. The
// other calls probe by themselves until a probe succeeds.
func (b *Backend) Probe(ctx context.Context) error {
	b.probeMu.Lock()
	defer b.probeMu.Unlock()
	return b.probe(ctx)
}

func (b *Backend) ready(ctx context.Context) (upstream, error) {
	if st := b.state(); st.dialect != DialectAuto && st.model != "" {
		return st, nil
	}
	if err := b.Probe(ctx); err != nil {
		return upstream{}, err
	}
	return b.state(), nil
}

func (b *Backend) probe(ctx context.Context) error {
	var list api.ModelList
	if err := b.call(ctx, http.MethodGet, "/v1/models", nil, &list); err != nil {
		return fmt.Errorf("probe %s/v1/models: %w", b.base, err)
	}
	if len(list.Data) == 0 {
		return fmt.Errorf("probe: %w: /v1/models lists no model", ErrMalformed)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st := &b.st
	card := list.Data[0]
	for _, c := range list.Data {
		if c.ID == st.model {
			card = c
		}
	}
	if st.model == "" {
		st.model = card.ID
	}
	if st.dialect == DialectAuto {
		switch strings.ToLower(card.OwnedBy) {
		case "vllm":
			st.dialect = DialectVLLM
		case "llamacpp":
			st.dialect = DialectLlamaCpp
		default:
			st.dialect = DialectOpenAI
		}
	}
	if st.ctxLen == 0 {
		switch {
		case card.MaxModelLen > 0:
			st.ctxLen = card.MaxModelLen
		case card.Meta != nil:
			st.ctxLen = card.Meta.NCtxTrain
		default:
			st.ctxLen = card.ContextLength
		}
	}
	if st.vocab == 0 {
		if card.Meta != nil {
			st.vocab = card.Meta.NVocab
		} else {
			st.vocab = card.VocabSize
		}
	}
	return nil
}

// Dialect is the configured or probed dialect.
func (b *Backend) Dialect() Dialect { return b.state().dialect }

// Info implements inference.Engine. Call Probe first to learn what the
// configuration left out.
func (b *Backend) Info() inference.ModelInfo {
	st := b.state()
	id := b.cfg.ModelID
	if id == "" {
		id = st.model
	}
	return inference.ModelInfo{
		ID: id, Name: st.model, Format: inference.FormatOpenAI,
		ContextLength: st.ctxLen, VocabSize: st.vocab,
	}
}

// Tokenize implements inference.Engine with the upstream's /tokenize
// (vLLM and llama.cpp only).
func (b *Backend) Tokenize(ctx context.Context, text string, bos bool) ([]int, error) {
	st, err := b.ready(ctx)
	if err != nil {
		return nil, err
	}
	var out struct {
		Tokens []int `json:"tokens"`
	}
	var body any
	switch st.dialect {
	case DialectVLLM:
		body = map[string]any{"model": st.model, "prompt": text, "add_special_tokens": bos}
	case DialectLlamaCpp:
		body = map[string]any{"content": text, "add_special": bos}
	default:
		return nil, fmt.Errorf("tokenize: %w (dialect %s)", inference.ErrUnsupported, st.dialect)
	}
	if err := b.call(ctx, http.MethodPost, "/tokenize", body, &out); err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	if out.Tokens == nil {
		return nil, fmt.Errorf("tokenize: %w: no tokens field", ErrMalformed)
	}
	return out.Tokens, nil
}

// Detokenize implements inference.Engine with the upstream's /detokenize;
// prev is ignored (the upstream's tokenizer handles its own spacing).
func (b *Backend) Detokenize(ctx context.Context, tokens []int, _ int) (string, error) {
	st, err := b.ready(ctx)
	if err != nil {
		return "", err
	}
	var out struct {
		Prompt  *string `json:"prompt"`  // vLLM
		Content *string `json:"content"` // llama.cpp
	}
	var body any
	switch st.dialect {
	case DialectVLLM:
		body = map[string]any{"model": st.model, "tokens": tokens}
	case DialectLlamaCpp:
		body = map[string]any{"tokens": tokens}
	default:
		return "", fmt.Errorf("detokenize: %w (dialect %s)", inference.ErrUnsupported, st.dialect)
	}
	if err := b.call(ctx, http.MethodPost, "/detokenize", body, &out); err != nil {
		return "", fmt.Errorf("detokenize: %w", err)
	}
	switch {
	case out.Prompt != nil:
		return *out.Prompt, nil
	case out.Content != nil:
		return *out.Content, nil
	}
	return "", fmt.Errorf("detokenize: %w: no prompt or content field", ErrMalformed)
}

// call does one JSON request and decodes the JSON answer into out.
func (b *Backend) call(callerCtx context.Context, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(callerCtx, b.cfg.Timeout)
	defer cancel()
	resp, err := b.send(ctx, method, path, body, false)
	if err != nil {
		return transportError(ctx, callerCtx, err)
	}
	defer resp.Body.Close()
	raw, err := b.readAll(resp.Body)
	if err != nil {
		return transportError(ctx, callerCtx, err)
	}
	if resp.StatusCode >= 300 {
		return statusError(resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: %v (body starts %q)", ErrMalformed, err, head(raw))
	}
	return nil
}

// send starts a request; the caller owns the response body.
func (b *Backend) send(ctx context.Context, method, path string, body any, stream bool) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if b.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+b.cfg.APIKey)
	}
	return b.client.Do(req)
}

// readAll reads a body up to MaxResponseBytes.
func (b *Backend) readAll(r io.Reader) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, b.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > b.cfg.MaxResponseBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, b.cfg.MaxResponseBytes)
	}
	return raw, nil
}

// limitedReader fails once more than n bytes were read (a stream that
// never ends must not exhaust memory or time).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrResponseTooLarge
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, ErrResponseTooLarge
	}
	return n, err
}

func head(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}

var _ inference.Engine = (*Backend)(nil)

package miner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	dto "github.com/prometheus/client_model/go"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
)

func newKeySigner(t testing.TB) transport.Signer {
	t.Helper()
	s, err := transport.NewKeySigner(secp256k1.GenPrivKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tinyEngine(t testing.TB) *inference.LocalEngine {
	t.Helper()
	e, err := inference.TinyEngine(inference.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testMiner is a Server on a loopback httptest server.
type testMiner struct {
	*Server
	URL  string
	Addr string // the miner's address, the receiver callers sign for
}

func startTestMiner(t testing.TB, cfg ServerConfig) *testMiner {
	t.Helper()
	if cfg.Signer == nil {
		cfg.Signer = newKeySigner(t)
	}
	if cfg.Engine == nil {
		cfg.Engine = tinyEngine(t)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testMiner{Server: srv, URL: hs.URL, Addr: cfg.Signer.Address()}
}

// headerRecorder keeps the headers of the last response a client saw,
// including unsigned refusals that transport.Client turns into errors.
type headerRecorder struct {
	mu   sync.Mutex
	last http.Header
	code int
}

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		h.mu.Lock()
		h.last, h.code = resp.Header.Clone(), resp.StatusCode
		h.mu.Unlock()
	}
	return resp, err
}

func (h *headerRecorder) Header() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

func newTransportClient(t testing.TB, s transport.Signer) (*transport.Client, *headerRecorder) {
	t.Helper()
	rec := &headerRecorder{}
	c, err := transport.NewClient(s, &http.Client{Transport: rec})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends a signed JSON request and returns the authenticated response.
func post(t testing.TB, c *transport.Client, m *testMiner, path string, body any) (*transport.Response, error) {
	t.Helper()
	return c.Do(context.Background(), http.MethodPost, m.URL+path, m.Addr, mustJSON(t, body))
}

// refusal extracts the status and server reason of an unsigned refusal.
func refusal(t testing.TB, err error) (int, string) {
	t.Helper()
	var re *transport.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want a refusal, got %v", err)
	}
	return re.StatusCode, re.ServerReason
}

// metricValue reads one series from a registry; labels must match exactly
// the given pairs (others are ignored).
func metricValue(t testing.TB, m *Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if !labelsMatch(s, labels) {
				continue
			}
			switch {
			case s.Counter != nil:
				total += s.Counter.GetValue()
			case s.Gauge != nil:
				total += s.Gauge.GetValue()
			case s.Histogram != nil:
				total += float64(s.Histogram.GetSampleCount())
			}
		}
	}
	return total
}

func labelsMatch(s *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == k && l.GetValue() == v {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sseEvents splits a verified SSE body into its data payloads.
func sseEvents(t testing.TB, body []byte) [][]byte {
	t.Helper()
	er := api.NewEventReader(bytes.NewReader(body), 1<<20)
	var out [][]byte
	for {
		ev, err := er.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Data)
	}
}

// claimFromCompletion turns a /v1/completions answer into what the
// inference verifier checks, as a validator would.
func claimFromCompletion(t testing.TB, req inference.GenerateRequest, resp api.CompletionResponse) inference.Claim {
	t.Helper()
	if len(resp.Choices) != 1 {
		t.Fatalf("choices: %d", len(resp.Choices))
	}
	ch := resp.Choices[0]
	if ch.Logprobs == nil || len(ch.Logprobs.Content) != len(ch.TokenIDs) {
		t.Fatalf("logprobs do not match token ids: %+v", ch)
	}
	toks, ok := api.TokensOfChat(&api.ChatLogprobs{Content: ch.Logprobs.Content})
	if !ok {
		t.Fatal("logprob entries without ids")
	}
	for i := range toks {
		if toks[i].ID != ch.TokenIDs[i] {
			t.Fatalf("token %d: id %d in logprobs, %d in token_ids", i, toks[i].ID, ch.TokenIDs[i])
		}
	}
	res := &inference.Result{PromptTokens: ch.PromptTokenIDs, Tokens: toks, Text: ch.Text, FinishReason: inference.FinishReason(ch.FinishReason)}
	return inference.ClaimOf(req, res)
}

func verify(t testing.TB, claim inference.Claim) *inference.Verdict {
	t.Helper()
	v := inference.NewVerifier(tinyEngine(t), inference.VerifyOptions{})
	vd, err := v.Verify(context.Background(), claim)
	if err != nil {
		t.Fatal(err)
	}
	return vd
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func listenLoopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

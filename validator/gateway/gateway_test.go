package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/validator/internal/validatortest"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

const testKey = "sk-test-0123456789abcdef"

type recorder struct {
	mu   sync.Mutex
	outs []miners.Outcome
}

func (r *recorder) Record(o miners.Outcome) { r.mu.Lock(); r.outs = append(r.outs, o); r.mu.Unlock() }
func (r *recorder) all() []miners.Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]miners.Outcome(nil), r.outs...)
}

func newTestGateway(t *testing.T, candidates []miners.Miner, spot float64) (*Gateway, *httptest.Server, *recorder) {
	t.Helper()
	_, ref := validatortest.TinyReference(t)
	keys, err := LoadAPIKeys(validatortest.KeysFile(t, "# users\nalice "+testKey+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := transport.NewClient(validatortest.NewIdentity(t, "val"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	g := New(Config{Keys: keys, Client: c, Timeout: 10 * time.Second, SpotCheck: spot,
		Miners: func() []miners.Miner { return candidates }, Reference: func() *reference.Reference { return ref },
		MaxTokens: func() int { return 16 }, Record: rec.Record})
	mux := http.NewServeMux()
	mux.Handle("/v1/", g)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return g, srv, rec
}

func TestGatewayAuthRouteFallback(t *testing.T) {
	eng, _ := validatortest.TinyReference(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := l.Addr().String()
	l.Close()
	down := miners.Miner{UID: 1, Hotkey: validatortest.NewIdentity(t, "d").Address(), Address: downAddr}
	good := validatortest.StartMiner(t, 2, eng)
	_, srv, _ := newTestGateway(t, []miners.Miner{down, good}, 0)

	if resp, _ := validatortest.Post(t, srv.URL+"/v1/completions", "", `{"prompt":"hi"}`); resp.StatusCode != 401 {
		t.Fatalf("no key: %d", resp.StatusCode)
	}
	if resp, _ := validatortest.Post(t, srv.URL+"/v1/completions", "sk-wrong-0123456789abcdef", `{"prompt":"hi"}`); resp.StatusCode != 401 {
		t.Fatalf("wrong key: %d", resp.StatusCode)
	}
	if resp, _ := validatortest.Post(t, srv.URL+"/v1/completions", testKey, `{"prompt":`); resp.StatusCode != 400 {
		t.Fatalf("bad json: %d", resp.StatusCode)
	}
	resp, body := validatortest.Post(t, srv.URL+"/v1/completions", testKey, `{"prompt":"Once upon a time","max_tokens":8,"temperature":0}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Merit-Miner-Uid") != "2" {
		t.Fatalf("status %d uid %q: %s", resp.StatusCode, resp.Header.Get("X-Merit-Miner-Uid"), body)
	}
	var cr api.CompletionResponse
	if err := json.Unmarshal(body, &cr); err != nil || len(cr.Choices) != 1 || len(cr.Choices[0].TokenIDs) == 0 {
		t.Fatalf("%v %s", err, body)
	}
	// Streaming chat passes the events through.
	resp, body = validatortest.Post(t, srv.URL+"/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":"hello"}],"stream":true,"max_tokens":6}`)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		!bytes.Contains(body, []byte("data: [DONE]")) || !bytes.Contains(body, []byte(`"delta"`)) {
		t.Fatalf("stream: %d %s", resp.StatusCode, body)
	}
	// Above the subnet limit is capped, not refused.
	if resp, body := validatortest.Post(t, srv.URL+"/v1/completions", testKey, `{"prompt":"x","max_tokens":5000}`); resp.StatusCode != 200 {
		t.Fatalf("capped max_tokens: %d %s", resp.StatusCode, body)
	}
	// Nobody left.
	_, srv2, _ := newTestGateway(t, []miners.Miner{down}, 0)
	if resp, _ := validatortest.Post(t, srv2.URL+"/v1/completions", testKey, `{"prompt":"x"}`); resp.StatusCode != 502 {
		t.Fatalf("all miners down: %d", resp.StatusCode)
	}
}

func TestGatewaySpotCheckFeedsScores(t *testing.T) {
	eng, _ := validatortest.TinyReference(t)
	m7, tok7, _ := inference.NewTiny(7)
	e7, _ := inference.NewLocalEngine(m7, tok7, inference.Options{})
	cheat := validatortest.StartMiner(t, 3, validatortest.Disguised{Engine: e7, Claimed: eng.Info()})
	honest := validatortest.StartMiner(t, 4, eng)
	g, srv, rec := newTestGateway(t, []miners.Miner{cheat}, 1)
	for _, body := range []string{
		`{"prompt":"Once upon a time","max_tokens":8,"temperature":0}`,
		`{"messages":[{"role":"user","content":"tell me"}],"max_tokens":8,"stream":true,"temperature":0.8}`,
	} {
		path := "/v1/completions"
		if strings.Contains(body, "messages") {
			path = "/v1/chat/completions"
		}
		if resp, b := validatortest.Post(t, srv.URL+path, testKey, body); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	}
	g.Wait()
	outs := rec.all()
	if len(outs) != 2 {
		t.Fatalf("spot checks recorded: %+v", outs)
	}
	for _, o := range outs {
		if o.UID != 3 || o.Result != miners.ResultFailedVerification || !o.SpotCheck {
			t.Fatalf("cheater passed a spot check: %+v", o)
		}
	}
	g2, srv2, rec2 := newTestGateway(t, []miners.Miner{honest}, 1)
	if resp, b := validatortest.Post(t, srv2.URL+"/v1/chat/completions", testKey, `{"messages":[{"role":"user","content":"hi"}],"max_tokens":8,"temperature":0.7,"seed":5}`); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	g2.Wait()
	if outs := rec2.all(); len(outs) != 1 || outs[0].Result != miners.ResultOK {
		t.Fatalf("honest sampled answer: %+v", outs)
	}
}

// TestGatewayInputEdges: the Bearer scheme is required, unknown paths are a
// JSON 404, max_tokens below 1 is a 400, and every error names its code.
func TestGatewayInputEdges(t *testing.T) {
	eng, _ := validatortest.TinyReference(t)
	good := validatortest.StartMiner(t, 2, eng)
	_, srv, _ := newTestGateway(t, []miners.Miner{good}, 0)

	errBody := func(t *testing.T, b []byte) api.ErrorBody {
		t.Helper()
		var e api.ErrorResponse
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" || len(e.Error.Code) == 0 {
			t.Fatalf("not an OpenAI error with a code: %v %s", err, b)
		}
		return e.Error
	}
	// A bare key without the scheme.
	req, _ := http.NewRequest("POST", srv.URL+"/v1/completions", strings.NewReader(`{"prompt":"hi","max_tokens":2}`))
	req.Header.Set("Authorization", testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || string(errBody(t, b).Code) != `"invalid_api_key"` {
		t.Fatalf("bare key: %d %s", resp.StatusCode, b)
	}
	for _, path := range []string{"/v1/embeddings", "/v1/completions/x"} {
		resp, b := validatortest.Post(t, srv.URL+path, testKey, `{}`)
		if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
			string(errBody(t, b).Code) != `"unknown_url"` {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	for _, body := range []string{`{"prompt":"hi","max_tokens":0}`, `{"prompt":"hi","max_tokens":-3}`} {
		resp, b := validatortest.Post(t, srv.URL+"/v1/completions", testKey, body)
		e := errBody(t, b)
		if resp.StatusCode != 400 || e.Param == nil || *e.Param != "max_tokens" {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
	}
	for _, body := range []string{`{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}`,
		`{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":-1}`} {
		if resp, b := validatortest.Post(t, srv.URL+"/v1/chat/completions", testKey, body); resp.StatusCode != 400 {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
	}
	// The wrong JSON is still a 400 with a code.
	resp, b = validatortest.Post(t, srv.URL+"/v1/completions", testKey, `{"prompt":`)
	if resp.StatusCode != 400 || string(errBody(t, b).Code) != `"invalid_request"` {
		t.Fatalf("bad json: %d %s", resp.StatusCode, b)
	}
}

// TestMinerBusy: a full miner (429, or merit-miner's 503 server_busy for a
// full queue) is busy — the user may get a 429 — not broken (a 502).
func TestMinerBusy(t *testing.T) {
	for _, c := range []struct {
		status int
		typ    string
		busy   bool
	}{
		{429, "rate_limit_error", true}, {503, "server_busy", true}, {503, "server_error", false}, {500, "server_error", false}, {404, "", false},
	} {
		if got := minerBusy(c.status, api.ErrorBody{Type: c.typ}); got != c.busy {
			t.Errorf("%d %s: busy %v", c.status, c.typ, got)
		}
	}
}

package transport

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
)

func newSigner(t testing.TB) Signer {
	t.Helper()
	s, err := NewKeySigner(secp256k1.GenPrivKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeClock is a settable clock shared by a test's client and server.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_750_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testServer is a miner-like server behind the Verifier over real loopback
// HTTP, recording rejection reasons as a metrics hook would.
type testServer struct {
	*httptest.Server
	signer   Signer
	verifier *Verifier
	clock    *fakeClock

	mu      sync.Mutex
	reasons []Reason
}

func (s *testServer) rejected() []Reason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Reason(nil), s.reasons...)
}

// echoHandler answers with the caller and the body it was given.
func echoHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := CallerFromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"caller": caller, "body": string(body), "path": r.URL.Path})
	})
}

func newTestServer(t testing.TB, handler http.Handler, tweak func(*VerifierConfig)) *testServer {
	t.Helper()
	ts := &testServer{signer: newSigner(t), clock: newFakeClock()}
	cfg := VerifierConfig{
		Signer: ts.signer,
		Now:    ts.clock.Now,
		OnReject: func(_ *http.Request, e *RejectError) {
			ts.mu.Lock()
			ts.reasons = append(ts.reasons, e.Reason)
			ts.mu.Unlock()
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.verifier = v
	if handler == nil {
		handler = echoHandler()
	}
	ts.Server = httptest.NewServer(v.Middleware(handler))
	t.Cleanup(ts.Close)
	return ts
}

func (s *testServer) client(t testing.TB, signer Signer, opts ...ClientOption) *Client {
	t.Helper()
	opts = append([]ClientOption{WithClock(s.clock.Now)}, opts...)
	c, err := NewClient(signer, s.Server.Client(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signedRequest builds a correctly signed request for tests to tamper with.
func signedRequest(t testing.TB, s Signer, method, url, receiver string, body []byte, now time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pk := s.PubKey().(*secp256k1.PubKey)
	if err := signRequest(req, s, b64.EncodeToString(pk.Key), receiver, BodySHA256(body), now, newNonce()); err != nil {
		t.Fatal(err)
	}
	return req
}

// send issues req and returns the status and claimed rejection reason.
func send(t testing.TB, hc *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get(HeaderError)
}

// roundTripFunc lets a test play man-in-the-middle on responses.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// tamperingClient sends through base and hands each response to tamper.
func tamperingClient(base *http.Client, tamper func(*http.Response) *http.Response) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := base.Transport.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		return tamper(resp), nil
	})}
}

func replaceBody(resp *http.Response, body []byte) {
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
}

func newHTTPTestServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// expectReject sends req and checks the status, the X-Merit-Error header and
// the reason the server's metrics hook saw.
func expectReject(t *testing.T, srv *testServer, req *http.Request, want Reason) {
	t.Helper()
	before := len(srv.rejected())
	status, got := send(t, srv.Server.Client(), req)
	if status != want.Status() || got != string(want) {
		t.Fatalf("got %d %q, want %d %q", status, got, want.Status(), want)
	}
	r := srv.rejected()
	if len(r) != before+1 || r[len(r)-1] != want {
		t.Fatalf("OnReject saw %v, want %q appended", r, want)
	}
}

func TestVerifierAccepts(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	req := signedRequest(t, caller, http.MethodPost, srv.URL+"/v1/completions?stream=false", srv.signer.Address(), []byte(`{"x":1}`), srv.clock.Now())
	status, reason := send(t, srv.Server.Client(), req)
	if status != http.StatusOK || reason != "" {
		t.Fatalf("got %d %q", status, reason)
	}
}

func TestRejectMissingSignature(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	t.Run("no headers", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/models", nil)
		expectReject(t, srv, req, ReasonMissingSignature)
	})
	for _, h := range []string{HeaderSignature, HeaderSigner, HeaderPubKey, HeaderTimestamp, HeaderNonce, HeaderReceiver, HeaderBodySHA256} {
		t.Run("empty "+h, func(t *testing.T) {
			req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
			req.Header.Set(h, "")
			expectReject(t, srv, req, ReasonMissingSignature)
		})
		t.Run("absent "+h, func(t *testing.T) {
			req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
			req.Header.Del(h)
			expectReject(t, srv, req, ReasonMissingSignature)
		})
	}
}

func TestRejectMalformed(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	cases := map[string]func(h http.Header){
		"pubkey not base64":     func(h http.Header) { h.Set(HeaderPubKey, strings.Repeat("!", pubKeyB64Len)) },
		"pubkey uncompressed":   func(h http.Header) { h.Set(HeaderPubKey, b64.EncodeToString(append([]byte{4}, make([]byte, 32)...))) },
		"timestamp not decimal": func(h http.Header) { h.Set(HeaderTimestamp, "17e11") },
		"timestamp negative":    func(h http.Header) { h.Set(HeaderTimestamp, "-1") },
		"nonce uppercase":       func(h http.Header) { h.Set(HeaderNonce, strings.ToUpper(h.Get(HeaderNonce))) },
		"nonce short":           func(h http.Header) { h.Set(HeaderNonce, "abcd") },
		"signature short":       func(h http.Header) { h.Set(HeaderSignature, b64.EncodeToString(make([]byte, 63))) },
		"signer not bech32":     func(h http.Header) { h.Set(HeaderSigner, "merit1notanaddress") },
		"signer other prefix":   func(h http.Header) { h.Set(HeaderSigner, "cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu") },
		"receiver uppercase":    func(h http.Header) { h.Set(HeaderReceiver, strings.ToUpper(h.Get(HeaderReceiver))) },
		"body digest not hex":   func(h http.Header) { h.Set(HeaderBodySHA256, strings.Repeat("z", sha256HexLen)) },
		"repeated signature":    func(h http.Header) { h.Add(HeaderSignature, h.Get(HeaderSignature)) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
			mutate(req.Header)
			expectReject(t, srv, req, ReasonMalformed)
		})
	}
}

func TestRejectBadPubKey(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	victim, attacker := newSigner(t), newSigner(t)
	// The attacker signs correctly with its own key but claims the victim's
	// address; the key gives it away.
	req := signedRequest(t, attacker, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
	req.Header.Set(HeaderSigner, victim.Address())
	expectReject(t, srv, req, ReasonBadPubKey)
}

func TestRejectBadSignature(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	t.Run("other path", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/v1/models", srv.signer.Address(), nil, srv.clock.Now())
		req.URL.Path = "/admin"
		expectReject(t, srv, req, ReasonBadSignature)
	})
	t.Run("other query", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/v1/models?a=1", srv.signer.Address(), nil, srv.clock.Now())
		req.URL.RawQuery = "a=2"
		expectReject(t, srv, req, ReasonBadSignature)
	})
	t.Run("other method", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
		req.Method = http.MethodDelete
		expectReject(t, srv, req, ReasonBadSignature)
	})
	t.Run("flipped bit", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
		sig, _ := b64.DecodeString(req.Header.Get(HeaderSignature))
		sig[10] ^= 1
		req.Header.Set(HeaderSignature, b64.EncodeToString(sig))
		expectReject(t, srv, req, ReasonBadSignature)
	})
	t.Run("timestamp changed", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
		req.Header.Set(HeaderTimestamp, formatMillis(srv.clock.Now().Add(time.Millisecond)))
		expectReject(t, srv, req, ReasonBadSignature)
	})
	t.Run("high-S twin", func(t *testing.T) {
		// (r, n-s) is also a valid ECDSA signature; accepting it would give
		// every message two signatures.
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
		sig, _ := b64.DecodeString(req.Header.Get(HeaderSignature))
		req.Header.Set(HeaderSignature, b64.EncodeToString(highS(sig)))
		expectReject(t, srv, req, ReasonBadSignature)
	})
}

func TestRejectStale(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	for _, d := range []time.Duration{-DefaultMaxSkew - time.Millisecond, DefaultMaxSkew + time.Millisecond, -10 * 365 * 24 * time.Hour} {
		t.Run(d.String(), func(t *testing.T) {
			req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now().Add(d))
			expectReject(t, srv, req, ReasonStale)
		})
	}
	t.Run("far future digits", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
		req.Header.Set(HeaderTimestamp, "999999999999999")
		expectReject(t, srv, req, ReasonStale)
	})
	t.Run("edge of skew accepted", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now().Add(-DefaultMaxSkew))
		if status, reason := send(t, srv.Server.Client(), req); status != http.StatusOK {
			t.Fatalf("got %d %q", status, reason)
		}
	})
}

func TestRejectReplay(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	req := signedRequest(t, caller, http.MethodPost, srv.URL+"/", srv.signer.Address(), []byte("{}"), srv.clock.Now())
	if status, reason := send(t, srv.Server.Client(), req.Clone(context.Background())); status != http.StatusOK {
		t.Fatalf("first: %d %q", status, reason)
	}
	again := req.Clone(context.Background())
	again.Body = io.NopCloser(strings.NewReader("{}"))
	// Still fresh enough to pass the timestamp check.
	srv.clock.Advance(DefaultMaxSkew - time.Second)
	expectReject(t, srv, again, ReasonReplay)
}

func TestRejectReplayConcurrent(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
	const n = 32
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Server.Client().Do(req.Clone(context.Background()))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == http.StatusOK {
			ok++
		} else if s != http.StatusUnauthorized {
			t.Errorf("status %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d identical requests accepted, want exactly 1", ok, n)
	}
}

func TestRejectTamperedBody(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	req := signedRequest(t, caller, http.MethodPost, srv.URL+"/", srv.signer.Address(), []byte(`{"max_tokens":16}`), srv.clock.Now())
	tampered := []byte(`{"max_tokens":99}`)
	req.Body = io.NopCloser(bytes.NewReader(tampered))
	req.ContentLength = int64(len(tampered))
	expectReject(t, srv, req, ReasonTamperedBody)
}

func TestRejectWrongReceiver(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller, otherMiner := newSigner(t), newSigner(t)
	// A request another miner received, forwarded here.
	req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", otherMiner.Address(), nil, srv.clock.Now())
	expectReject(t, srv, req, ReasonWrongReceiver)
}

func TestRejectTooLarge(t *testing.T) {
	srv := newTestServer(t, nil, func(c *VerifierConfig) { c.MaxBodyBytes = 1024 })
	caller := newSigner(t)
	body := bytes.Repeat([]byte("a"), 1025)
	t.Run("content-length", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodPost, srv.URL+"/", srv.signer.Address(), body, srv.clock.Now())
		expectReject(t, srv, req, ReasonTooLarge)
	})
	t.Run("chunked", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodPost, srv.URL+"/", srv.signer.Address(), body, srv.clock.Now())
		req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body))) // hides the length
		req.ContentLength = -1
		expectReject(t, srv, req, ReasonTooLarge)
	})
	t.Run("at limit accepted", func(t *testing.T) {
		req := signedRequest(t, caller, http.MethodPost, srv.URL+"/", srv.signer.Address(), body[:1024], srv.clock.Now())
		if status, reason := send(t, srv.Server.Client(), req); status != http.StatusOK {
			t.Fatalf("got %d %q", status, reason)
		}
	})
}

func TestRejectForbidden(t *testing.T) {
	permitted := newSigner(t)
	srv := newTestServer(t, nil, func(c *VerifierConfig) {
		c.Authorize = func(_ context.Context, caller string) error {
			if caller != permitted.Address() {
				return errors.New("no validator permit")
			}
			return nil
		}
	})
	req := signedRequest(t, newSigner(t), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
	expectReject(t, srv, req, ReasonForbidden)

	req = signedRequest(t, permitted, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
	if status, reason := send(t, srv.Server.Client(), req); status != http.StatusOK {
		t.Fatalf("permitted caller: %d %q", status, reason)
	}
}

func TestAuthorizerChoosesReason(t *testing.T) {
	srv := newTestServer(t, nil, func(c *VerifierConfig) {
		c.Authorize = func(context.Context, string) error {
			return &RejectError{Reason: "rate_limited", Status: http.StatusTooManyRequests}
		}
	})
	req := signedRequest(t, newSigner(t), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
	status, reason := send(t, srv.Server.Client(), req)
	if status != http.StatusTooManyRequests || reason != "rate_limited" {
		t.Fatalf("got %d %q", status, reason)
	}
}

func TestRejectOverloaded(t *testing.T) {
	// One slot per shard: 17 fresh nonces cannot all fit in 16 shards.
	srv := newTestServer(t, nil, func(c *VerifierConfig) { c.MaxNonces = nonceShards })
	caller := newSigner(t)
	overloaded := 0
	for range nonceShards + 1 {
		req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
		status, reason := send(t, srv.Server.Client(), req)
		switch {
		case status == http.StatusServiceUnavailable && reason == string(ReasonOverloaded):
			overloaded++
		case status != http.StatusOK:
			t.Fatalf("got %d %q", status, reason)
		}
	}
	if overloaded == 0 {
		t.Fatal("a full nonce cache accepted more nonces")
	}
	// Once entries expire there is room again.
	srv.clock.Advance(2*DefaultMaxSkew + time.Millisecond)
	req := signedRequest(t, caller, http.MethodGet, srv.URL+"/", srv.signer.Address(), nil, srv.clock.Now())
	if status, reason := send(t, srv.Server.Client(), req); status != http.StatusOK {
		t.Fatalf("after expiry: %d %q", status, reason)
	}
}

func TestHandlerSeesCallerAndBody(t *testing.T) {
	var gotCaller string
	var gotBody []byte
	var gotOK bool
	srv := newTestServer(t, http.StripPrefix("/api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotCaller, gotOK = CallerFromContext(r.Context())
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	})), nil)
	caller := newSigner(t)
	c := srv.client(t, caller)
	resp, err := c.Do(context.Background(), http.MethodPut, srv.URL+"/api/x", srv.signer.Address(), []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNoContent || !gotOK || gotCaller != caller.Address() || string(gotBody) != "payload" {
		t.Fatalf("status %d caller %q (%v) body %q", resp.StatusCode, gotCaller, gotOK, gotBody)
	}
	if _, ok := CallerFromContext(context.Background()); ok {
		t.Fatal("caller found in a bare context")
	}
}

func TestNewVerifierValidates(t *testing.T) {
	s := newSigner(t)
	other := newSigner(t)
	cases := map[string]VerifierConfig{
		"nil signer":    {},
		"short ttl":     {Signer: s, MaxSkew: time.Minute, NonceTTL: time.Minute},
		"negative body": {Signer: s, MaxBodyBytes: -1},
		"mismatched":    {Signer: mismatchedSigner{Signer: s, addr: other.Address()}},
	}
	for name, cfg := range cases {
		if _, err := NewVerifier(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	v, err := NewVerifier(VerifierConfig{Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	if v.cfg.MaxSkew != DefaultMaxSkew || v.cfg.NonceTTL != 2*DefaultMaxSkew || v.cfg.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Fatalf("defaults not applied: %+v", v.cfg)
	}
}

type mismatchedSigner struct {
	Signer
	addr string
}

func (m mismatchedSigner) Address() string { return m.addr }

func TestReasonStatuses(t *testing.T) {
	want := map[Reason]int{
		ReasonMissingSignature: 401, ReasonMalformed: 400, ReasonBadPubKey: 401, ReasonBadSignature: 401,
		ReasonStale: 401, ReasonReplay: 401, ReasonTamperedBody: 401, ReasonWrongReceiver: 401,
		ReasonTooLarge: 413, ReasonForbidden: 403, ReasonOverloaded: 503,
	}
	if len(RejectReasons()) != len(want) {
		t.Fatalf("RejectReasons() has %d entries, want %d", len(RejectReasons()), len(want))
	}
	for _, r := range RejectReasons() {
		if r.Status() != want[r] {
			t.Errorf("%s: status %d, want %d", r, r.Status(), want[r])
		}
	}
	e := &RejectError{Reason: ReasonStale, Err: fmt.Errorf("x")}
	if e.HTTPStatus() != 401 || !strings.Contains(e.Error(), "stale") {
		t.Fatalf("RejectError: %d %q", e.HTTPStatus(), e.Error())
	}
}

// highS returns the other valid encoding (r, n-s) of an ECDSA signature.
func highS(sig []byte) []byte {
	n := []byte{
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
		0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
	}
	out := append([]byte(nil), sig...)
	var borrow int
	for i := 31; i >= 0; i-- {
		d := int(n[i]) - int(sig[32+i]) - borrow
		borrow = 0
		if d < 0 {
			d += 256
			borrow = 1
		}
		out[32+i] = byte(d)
	}
	return out
}

package transport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/client/identity"
)

func wantResponseError(t *testing.T, err error, reason Reason) *ResponseError {
	t.Helper()
	var re *ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *ResponseError %q", err, reason)
	}
	if re.Reason != reason {
		t.Fatalf("reason %q, want %q (%v)", re.Reason, reason, err)
	}
	return re
}

func TestClientDoSuccess(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	caller := newSigner(t)
	c := srv.client(t, caller)
	resp, err := c.Do(context.Background(), http.MethodPost, srv.URL+"/v1/completions?x=1", srv.signer.Address(), []byte(`{"prompt":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || got["caller"] != caller.Address() || got["body"] != `{"prompt":"hi"}` || got["path"] != "/v1/completions" {
		t.Fatalf("status %d body %v", resp.StatusCode, got)
	}
	if resp.Signer != srv.signer.Address() || !resp.Timestamp.Equal(srv.clock.Now()) {
		t.Fatalf("signer %s at %v", resp.Signer, resp.Timestamp)
	}
}

func TestClientAcceptsSignedErrorStatus(t *testing.T) {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "model not loaded", http.StatusServiceUnavailable)
	}), nil)
	resp, err := srv.client(t, newSigner(t)).Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(resp.Body), "model not loaded") {
		t.Fatalf("got %d %q", resp.StatusCode, resp.Body)
	}
}

func TestClientHeadAndNoContent(t *testing.T) {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/empty" {
			w.WriteHeader(http.StatusNoContent)
			_, _ = w.Write([]byte("dropped"))
			return
		}
		_, _ = w.Write([]byte("only for GET"))
	}), nil)
	c := srv.client(t, newSigner(t))
	for _, tc := range []struct{ method, path string }{{http.MethodHead, "/"}, {http.MethodGet, "/empty"}} {
		resp, err := c.Do(context.Background(), tc.method, srv.URL+tc.path, srv.signer.Address(), nil)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		if len(resp.Body) != 0 {
			t.Fatalf("%s %s: body %q", tc.method, tc.path, resp.Body)
		}
	}
}

// A rejection is unsigned; the client says so and passes on the claimed reason.
func TestClientReportsUnsignedRejection(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	c := srv.client(t, newSigner(t), WithClock(func() time.Time { return srv.clock.Now().Add(-time.Hour) }))
	_, err := c.Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	re := wantResponseError(t, err, ReasonMissingSignature)
	if re.StatusCode != http.StatusUnauthorized || re.ServerReason != string(ReasonStale) {
		t.Fatalf("status %d server reason %q", re.StatusCode, re.ServerReason)
	}
}

func TestClientRejectsTamperedResponses(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	other := newSigner(t)
	cases := []struct {
		name   string
		tamper func(*http.Response)
		want   Reason
	}{
		{"body changed", func(r *http.Response) {
			b, _ := io.ReadAll(r.Body)
			replaceBody(r, []byte(strings.Replace(string(b), "caller", "callee", 1)))
		}, ReasonTamperedBody},
		{"body and digest changed", func(r *http.Response) {
			replaceBody(r, []byte(`{"evil":true}`))
			r.Header.Set(HeaderBodySHA256, BodySHA256([]byte(`{"evil":true}`)))
		}, ReasonBadSignature},
		{"status changed", func(r *http.Response) { r.StatusCode = http.StatusTeapot }, ReasonBadSignature},
		{"signature removed", func(r *http.Response) { r.Header.Del(HeaderSignature) }, ReasonMissingSignature},
		{"signature garbled", func(r *http.Response) { r.Header.Set(HeaderSignature, "%%%") }, ReasonMalformed},
		{"signer replaced", func(r *http.Response) { r.Header.Set(HeaderSigner, other.Address()) }, ReasonWrongSigner},
		{"pubkey replaced", func(r *http.Response) {
			r.Header.Set(HeaderPubKey, b64.EncodeToString(other.PubKey().Bytes()))
		}, ReasonBadPubKey},
		{"body truncated", func(r *http.Response) { replaceBody(r, nil) }, ReasonTamperedBody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hc := tamperingClient(srv.Server.Client(), func(r *http.Response) *http.Response { tc.tamper(r); return r })
			c, err := NewClient(newSigner(t), hc, WithClock(srv.clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Do(context.Background(), http.MethodPost, srv.URL+"/", srv.signer.Address(), []byte("{}"))
			wantResponseError(t, err, tc.want)
		})
	}
}

// A genuine response to one request must not pass as the answer to another.
func TestClientRejectsReplayedResponse(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	var saved *http.Response
	var savedBody []byte
	hc := tamperingClient(srv.Server.Client(), func(r *http.Response) *http.Response {
		if saved == nil {
			savedBody, _ = io.ReadAll(r.Body)
			saved = r
			replaceBody(r, savedBody)
			return r
		}
		r.Body.Close()
		replay := *saved
		replay.Header = saved.Header.Clone()
		replaceBody(&replay, savedBody)
		return &replay
	})
	c, err := NewClient(newSigner(t), hc, WithClock(srv.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	wantResponseError(t, err, ReasonBadSignature)
}

func TestClientRejectsStaleResponse(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	hc := tamperingClient(srv.Server.Client(), func(r *http.Response) *http.Response {
		ts, _ := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts-time.Hour.Milliseconds(), 10))
		return r
	})
	c, err := NewClient(newSigner(t), hc, WithClock(srv.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	wantResponseError(t, err, ReasonStale)
}

// The wrong miner answering (say DNS points elsewhere) cannot pass: it
// refuses a request not meant for it, and could not sign as the right one.
func TestClientWrongServer(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	expected := newSigner(t)
	_, err := srv.client(t, newSigner(t)).Do(context.Background(), http.MethodGet, srv.URL+"/", expected.Address(), nil)
	re := wantResponseError(t, err, ReasonMissingSignature)
	if re.ServerReason != string(ReasonWrongReceiver) {
		t.Fatalf("server reason %q", re.ServerReason)
	}
}

func TestClientResponseTooLarge(t *testing.T) {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 2048))
	}), nil)
	c := srv.client(t, newSigner(t), WithMaxResponseBytes(1024))
	_, err := c.Do(context.Background(), http.MethodGet, srv.URL+"/", srv.signer.Address(), nil)
	wantResponseError(t, err, ReasonTooLarge)
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("new"))
	}), nil)
	resp, err := srv.client(t, newSigner(t)).Do(context.Background(), http.MethodGet, srv.URL+"/old", srv.signer.Address(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d: redirect was followed", resp.StatusCode)
	}
}

func TestClientBadInput(t *testing.T) {
	srv := newTestServer(t, nil, nil)
	c := srv.client(t, newSigner(t))
	for _, tc := range []struct{ method, url, receiver string }{
		{"GET", srv.URL, ""},
		{"GET", srv.URL, "merit1xyz"},
		{"GET", "://bad", srv.signer.Address()},
		{"BAD METHOD", srv.URL, srv.signer.Address()},
	} {
		if _, err := c.Do(context.Background(), tc.method, tc.url, tc.receiver, nil); err == nil {
			t.Errorf("%+v: accepted", tc)
		}
	}
	if _, err := NewClient(nil, nil); err == nil {
		t.Error("nil signer accepted")
	}
}

// Daemons sign with keyring identities; both ends here do.
func TestWithKeyringIdentities(t *testing.T) {
	if identity.Bech32Prefix != Bech32Prefix {
		t.Fatalf("prefixes differ: %q vs %q", identity.Bech32Prefix, Bech32Prefix)
	}
	kr, err := identity.Open(identity.BackendTest, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	load := func(name string, opts ...identity.LoadOption) *identity.Identity {
		if _, _, err := kr.NewMnemonic(name, keyring.English, sdk.FullFundraiserPath, "", hd.Secp256k1); err != nil {
			t.Fatal(err)
		}
		id, err := identity.Load(kr, name, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	var _ Signer = (*identity.Identity)(nil)
	validator := load("validator")                   // signs through the keyring
	miner := load("miner", identity.WithCachedKey()) // signs in memory, as a busy miner would
	v, err := NewVerifier(VerifierConfig{Signer: miner})
	if err != nil {
		t.Fatal(err)
	}
	srv := &testServer{signer: miner}
	srv.Server = newHTTPTestServer(t, v.Middleware(echoHandler()))
	c, err := NewClient(validator, srv.Server.Client())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(context.Background(), http.MethodPost, srv.URL+"/v1/chat/completions", miner.Address(), []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(resp.Body), validator.Address()) {
		t.Fatalf("handler did not see the validator as caller: %s", resp.Body)
	}
}

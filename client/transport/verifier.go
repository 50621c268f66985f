package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Defaults of VerifierConfig.
const (
	DefaultMaxSkew      = 30 * time.Second
	DefaultMaxBodyBytes = 1 << 20
	DefaultMaxNonces    = 1 << 17 // ~2000 requests/s sustained at the default TTL
)

// Authorizer decides whether an authenticated caller may proceed. The miner
// plugs in "holds a validator permit in the current metagraph". Returning a
// *RejectError picks the reason and status; any other error means 403.
type Authorizer func(ctx context.Context, caller string) error

// VerifierConfig configures a Verifier. Zero values take the defaults.
type VerifierConfig struct {
	// Signer is this server's hotkey: requests must name its address as
	// receiver, and responses are signed with it. Required.
	Signer Signer
	// MaxSkew is how far a request timestamp may be from Now, either way.
	MaxSkew time.Duration
	// NonceTTL is how long nonces are remembered. A request stays fresh for
	// up to 2×MaxSkew after it was first seen, so shorter values would let a
	// replay through; NewVerifier refuses them. Default 2×MaxSkew.
	NonceTTL time.Duration
	// MaxNonces bounds the replay cache; beyond it requests get 503
	// (ReasonOverloaded) until entries expire. The cache is split into 16
	// shards of MaxNonces/16 each, so size it with some headroom over
	// peak requests/s × NonceTTL.
	MaxNonces int
	// MaxBodyBytes bounds request bodies (413 beyond). Default 1 MiB.
	MaxBodyBytes int64
	// Authorize, if set, runs after authentication and before the nonce is
	// recorded, so callers it refuses cannot fill the replay cache.
	Authorize Authorizer
	// OnReject, if set, is called for every rejected request, e.g. to count
	// rejections by Reason.
	OnReject func(r *http.Request, err *RejectError)
	// OnError, if set, is told about failures to sign or write a response
	// (a departed client shows up here too).
	OnError func(r *http.Request, err error)
	// Now is the clock; tests inject one. Default time.Now.
	Now func() time.Time
}

// Verifier authenticates requests and signs responses.
type Verifier struct {
	cfg    VerifierConfig
	self   string
	pubB64 string
	nonces *nonceCache
}

// NewVerifier checks cfg and fills in defaults.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	pk, err := checkSigner(cfg.Signer)
	if err != nil {
		return nil, err
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = 2 * cfg.MaxSkew
	}
	if cfg.MaxNonces == 0 {
		cfg.MaxNonces = DefaultMaxNonces
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch {
	case cfg.MaxSkew < 0 || cfg.MaxBodyBytes < 0 || cfg.MaxNonces < 0:
		return nil, errors.New("transport: negative limit in VerifierConfig")
	case cfg.NonceTTL < 2*cfg.MaxSkew:
		return nil, fmt.Errorf("transport: NonceTTL %v must be at least 2×MaxSkew (%v)", cfg.NonceTTL, 2*cfg.MaxSkew)
	}
	return &Verifier{
		cfg:    cfg,
		self:   cfg.Signer.Address(),
		pubB64: b64.EncodeToString(pk.Key),
		nonces: newNonceCache(cfg.NonceTTL, cfg.MaxNonces),
	}, nil
}

type callerKey struct{}

// CallerFromContext returns the verified address of the caller, set by the
// Verifier middleware.
func CallerFromContext(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(callerKey{}).(string)
	return s, ok
}

// Middleware authenticates each request before calling next, and signs
// next's response. next sees the verified body in r.Body and the caller in
// the context (CallerFromContext).
//
// Checks run cheapest first and the body is read only once the caller is
// authenticated and authorised, so anonymous traffic costs at most one
// signature verification and never a body read.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, body, rej := v.verify(r)
		if rej != nil {
			v.rejectRequest(w, r, rej)
			return
		}
		r2 := r.WithContext(context.WithValue(r.Context(), callerKey{}, req.signer))
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))

		sw := newSigningWriter(w, r2, v, req.nonce, req.signer)
		next.ServeHTTP(sw, r2)
		if err := sw.finish(); err != nil && v.cfg.OnError != nil {
			v.cfg.OnError(r, err)
		}
	})
}

func (v *Verifier) verify(r *http.Request) (signedHeaders, []byte, *RejectError) {
	if r.ContentLength > v.cfg.MaxBodyBytes {
		return signedHeaders{}, nil, reject(ReasonTooLarge, "body of %d bytes exceeds %d", r.ContentLength, v.cfg.MaxBodyBytes)
	}
	req, rej := parseRequestHeaders(r.Header)
	if rej != nil {
		return req, nil, rej
	}
	if req.receiver != v.self {
		return req, nil, reject(ReasonWrongReceiver, "signed for %s, this is %s", req.receiver, v.self)
	}
	now := v.cfg.Now()
	if !withinSkew(now, req.timestamp, v.cfg.MaxSkew) {
		return req, nil, reject(ReasonStale, "timestamp %d ms is more than %v from now (%d ms)", req.timestamp, v.cfg.MaxSkew, now.UnixMilli())
	}
	if !bytes.Equal(req.signerRaw, req.pubKey.Address()) {
		return req, nil, reject(ReasonBadPubKey, "public key does not hash to %s", req.signer)
	}
	payload := RequestPayload(r.Method, requestTarget(r), req.bodySHA, req.tsRaw, req.nonce, req.receiver)
	if !req.pubKey.VerifySignature(payload, req.sig) {
		return req, nil, reject(ReasonBadSignature, "signature does not verify")
	}
	if v.cfg.Authorize != nil {
		if err := v.cfg.Authorize(r.Context(), req.signer); err != nil {
			var rej *RejectError
			if errors.As(err, &rej) {
				return req, nil, rej
			}
			return req, nil, &RejectError{Reason: ReasonForbidden, Err: err}
		}
	}
	switch err := v.nonces.add(req.signer+"/"+req.nonce, now); {
	case errors.Is(err, errReplay):
		return req, nil, reject(ReasonReplay, "nonce %s already used", req.nonce)
	case err != nil:
		return req, nil, &RejectError{Reason: ReasonOverloaded, Err: err}
	}
	body, rej := readBody(r, v.cfg.MaxBodyBytes)
	if rej != nil {
		return req, nil, rej
	}
	if BodySHA256(body) != req.bodySHA {
		return req, nil, reject(ReasonTamperedBody, "body does not match %s", HeaderBodySHA256)
	}
	return req, body, nil
}

// requestTarget is the request-target as the client sent it. RequestURI is
// the raw one, unlike r.URL which http.StripPrefix and friends rewrite;
// absolute-form targets (sent to proxies) are reduced to origin-form.
func requestTarget(r *http.Request) string {
	if len(r.RequestURI) > 0 && r.RequestURI[0] == '/' {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

func readBody(r *http.Request, limit int64) ([]byte, *RejectError) {
	if r.Body == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, reject(ReasonMalformed, "read body: %v", err)
	}
	if n > limit {
		return nil, reject(ReasonTooLarge, "body exceeds %d bytes", limit)
	}
	return buf.Bytes(), nil
}

// rejectRequest answers unsigned: the request was not authenticated (or not
// admitted), and signing whatever an anonymous peer asks for would make
// this server a signing oracle.
func (v *Verifier) rejectRequest(w http.ResponseWriter, r *http.Request, rej *RejectError) {
	if v.cfg.OnReject != nil {
		v.cfg.OnReject(r, rej)
	}
	status := rej.HTTPStatus()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderError, string(rej.Reason))
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `MeritSig version="1"`)
	}
	if rej.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(rej.RetryAfter))
	}
	if status == http.StatusRequestEntityTooLarge {
		// The unread body would otherwise be drained or break the next
		// request on a kept-alive connection.
		h.Set("Connection", "close")
	}
	w.WriteHeader(status)
	msg := ""
	if rej.Err != nil {
		msg = rej.Err.Error()
	}
	_ = json.NewEncoder(w).Encode(struct {
		Error  string `json:"error"`
		Reason Reason `json:"reason"`
	}{msg, rej.Reason})
}

// withinSkew compares in milliseconds: a hostile timestamp converted to a
// time.Duration could overflow.
func withinSkew(now time.Time, tsMillis int64, skew time.Duration) bool {
	d := now.UnixMilli() - tsMillis
	return d <= skew.Milliseconds() && d >= -skew.Milliseconds()
}

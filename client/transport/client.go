package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultMaxResponseBytes bounds what Do reads; completions with per-token
// logprobs run to a few MiB at most.
const DefaultMaxResponseBytes = 8 << 20

// Client sends signed requests and accepts only responses signed by the
// receiver they were sent to. It is safe for concurrent use.
type Client struct {
	signer      Signer
	pubB64      string
	hc          *http.Client
	maxResponse int64
	now         func() time.Time
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithMaxResponseBytes bounds the body Do reads (default 8 MiB).
func WithMaxResponseBytes(n int64) ClientOption { return func(c *Client) { c.maxResponse = n } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) ClientOption { return func(c *Client) { c.now = now } }

// NewClient signs with s and sends through hc (http.DefaultClient if nil).
// Redirects are not followed: the signature names one request-target and
// one receiver, and a redirect response is not signed anyway.
func NewClient(s Signer, hc *http.Client, opts ...ClientOption) (*Client, error) {
	pk, err := checkSigner(s)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	hcCopy := *hc
	hcCopy.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		signer:      s,
		pubB64:      b64.EncodeToString(pk.Key),
		hc:          &hcCopy,
		maxResponse: DefaultMaxResponseBytes,
		now:         time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	if c.maxResponse <= 0 {
		return nil, errors.New("transport: client limits must be positive")
	}
	return c, nil
}

// Response is an authenticated response. Non-2xx statuses are returned
// here too when signed: the receiver really did answer that.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	Signer     string    // always the receiver Do was given
	Timestamp  time.Time // the responder's clock when it signed
}

// Do sends a signed request with body (JSON by convention) to url, meant for
// receiver (a merit1… address), and returns the verified response. A
// response that is unsigned, signed by anyone but receiver, or altered
// yields a *ResponseError. Streamed (SSE) responses are read to the end
// and their trailer verified, within the same size limit.
func (c *Client) Do(ctx context.Context, method, url, receiver string, body []byte) (*Response, error) {
	resp, sh, nonce, err := c.roundTrip(ctx, method, url, receiver, body, "application/json")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	var data []byte
	if sh.bodySHA == streamCommitment {
		sr := c.newStreamReader(resp, sh, nonce)
		sr.limit = c.maxResponse
		data, err = io.ReadAll(sr)
	} else {
		data, err = c.readVerified(resp, sh)
	}
	if err != nil {
		return nil, err
	}
	return &Response{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		Body:       data,
		Signer:     sh.signer,
		Timestamp:  time.UnixMilli(sh.timestamp),
	}, nil
}

// roundTrip sends the signed request and authenticates the response
// headers, leaving the body to the caller.
func (c *Client) roundTrip(ctx context.Context, method, url, receiver string, body []byte, accept string) (*http.Response, signedHeaders, string, error) {
	if _, err := decodeAddress(receiver); err != nil {
		return nil, signedHeaders{}, "", fmt.Errorf("transport: receiver %q: %w", receiver, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, signedHeaders{}, "", fmt.Errorf("transport: %w", err)
	}
	nonce := newNonce()
	if err := signRequest(req, c.signer, c.pubB64, receiver, BodySHA256(body), c.now(), nonce); err != nil {
		return nil, signedHeaders{}, "", err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, signedHeaders{}, "", fmt.Errorf("transport: %w", err)
	}
	sh, rerr := c.checkHeaders(resp, receiver, nonce)
	if rerr != nil {
		// Drain a little so the connection can be reused after a plain
		// rejection, without reading an unbounded body from a bad peer.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
		return nil, signedHeaders{}, "", rerr
	}
	return resp, sh, nonce, nil
}

func (c *Client) checkHeaders(resp *http.Response, receiver, nonce string) (signedHeaders, *ResponseError) {
	fail := func(e *ResponseError) (signedHeaders, *ResponseError) {
		e.StatusCode = resp.StatusCode
		e.ServerReason = truncate(resp.Header.Get(HeaderError), 64)
		return signedHeaders{}, e
	}
	sh, rej := parseResponseHeaders(resp.Header)
	if rej != nil {
		return fail(&ResponseError{Reason: rej.Reason, Err: rej.Err})
	}
	if sh.signer != receiver {
		return fail(&ResponseError{Reason: ReasonWrongSigner, Err: fmt.Errorf("signed by %s, expected %s", sh.signer, receiver)})
	}
	if !bytes.Equal(sh.signerRaw, sh.pubKey.Address()) {
		return fail(&ResponseError{Reason: ReasonBadPubKey, Err: fmt.Errorf("public key does not hash to %s", sh.signer)})
	}
	if !withinSkew(c.now(), sh.timestamp, DefaultMaxSkew) {
		return fail(&ResponseError{Reason: ReasonStale, Err: fmt.Errorf("response timestamp %d ms is more than %v from now", sh.timestamp, DefaultMaxSkew)})
	}
	payload := ResponsePayload(resp.StatusCode, sh.bodySHA, sh.tsRaw, nonce, c.signer.Address())
	if !sh.pubKey.VerifySignature(payload, sh.sig) {
		return fail(&ResponseError{Reason: ReasonBadSignature, Err: errors.New("response signature does not verify")})
	}
	return sh, nil
}

// readVerified reads a buffered body, whose digest the already verified
// header signature covers.
func (c *Client) readVerified(resp *http.Response, sh signedHeaders) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("transport: read response: %w", err)
	}
	if int64(len(data)) > c.maxResponse {
		return nil, &ResponseError{Reason: ReasonTooLarge, StatusCode: resp.StatusCode, Err: fmt.Errorf("response exceeds %d bytes", c.maxResponse)}
	}
	if BodySHA256(data) != sh.bodySHA {
		return nil, &ResponseError{Reason: ReasonTamperedBody, StatusCode: resp.StatusCode, Err: errors.New("response body does not match its signed digest")}
	}
	return data, nil
}

// signRequest sets the signing headers of req.
func signRequest(req *http.Request, s Signer, pubB64, receiver, bodySHA string, now time.Time, nonce string) error {
	ts := formatMillis(now)
	sig, err := s.Sign(RequestPayload(req.Method, req.URL.RequestURI(), bodySHA, ts, nonce, receiver))
	if err != nil {
		return fmt.Errorf("transport: sign request: %w", err)
	}
	setSigningHeaders(req.Header, s.Address(), pubB64, ts, bodySHA, sig)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set(HeaderReceiver, receiver)
	return nil
}

func newNonce() string {
	var b [nonceHexLen / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// truncate bounds strings taken from an unauthenticated peer before they
// reach logs or metric labels.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

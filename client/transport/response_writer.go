package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"mime"
	"net/http"
	"strconv"
)

// trailerPrefix starts the SSE comment line that ends a signed stream:
// ": merit-end-v1 <base64 signature>\n\n". SSE clients ignore comments, so
// plain EventSource readers are unaffected.
const trailerPrefix = ": merit-end-v1 "

// signingWriter signs what a handler writes. Normal responses are buffered
// whole, because their signature covers the body's digest and headers go out
// before the body. A handler that sets Content-Type text/event-stream gets
// a streaming writer instead: headers are signed at once (with the body
// commitment "stream"), bytes pass through as written, and a signed trailer
// carrying the digest of everything sent closes the stream.
type signingWriter struct {
	w         http.ResponseWriter
	r         *http.Request
	v         *Verifier
	nonce     string
	requester string

	status      int
	wroteHeader bool
	streaming   bool
	ts          string
	buf         bytes.Buffer
	sum         hash.Hash
	written     int64
	last        byte
	err         error
}

func newSigningWriter(w http.ResponseWriter, r *http.Request, v *Verifier, nonce, requester string) *signingWriter {
	return &signingWriter{w: w, r: r, v: v, nonce: nonce, requester: requester}
}

func (s *signingWriter) Header() http.Header { return s.w.Header() }

// Unwrap lets http.ResponseController reach the underlying writer (write
// deadlines for long streams).
func (s *signingWriter) Unwrap() http.ResponseWriter { return s.w }

func (s *signingWriter) WriteHeader(code int) {
	if s.wroteHeader {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// Interim responses (103 Early Hints) carry no body to sign.
		s.w.WriteHeader(code)
		return
	}
	s.status, s.wroteHeader = code, true
	if bodyAllowed(code, s.r.Method) && isEventStream(s.w.Header().Get("Content-Type")) {
		s.streaming = true
		s.startStream()
	}
}

func (s *signingWriter) Write(p []byte) (int, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	switch {
	case s.err != nil:
		return 0, s.err
	case !bodyAllowed(s.status, s.r.Method):
		if s.r.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	case !s.streaming:
		return s.buf.Write(p)
	}
	n, err := s.w.Write(p)
	s.sum.Write(p[:n])
	s.written += int64(n)
	if n > 0 {
		s.last = p[n-1]
	}
	return n, err
}

// Flush sends buffered stream bytes; for a buffered response it only
// commits the status, as nothing may leave before the signature.
func (s *signingWriter) Flush() {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	if s.streaming && s.err == nil {
		if f, ok := s.w.(http.Flusher); ok {
			f.Flush()
		}
	}
}

func (s *signingWriter) sign(payload []byte) ([]byte, error) {
	sig, err := s.v.cfg.Signer.Sign(payload)
	if err == nil && len(sig) != 64 {
		err = fmt.Errorf("signer returned %d bytes, want 64", len(sig))
	}
	if err != nil {
		return nil, fmt.Errorf("transport: sign response: %w", err)
	}
	return sig, nil
}

func (s *signingWriter) startStream() {
	s.ts = formatMillis(s.v.cfg.Now())
	sig, err := s.sign(ResponsePayload(s.status, streamCommitment, s.ts, s.nonce, s.requester))
	if err != nil {
		s.fail(err)
		return
	}
	h := s.w.Header()
	// The newline and trailer added at the end change the length.
	h.Del("Content-Length")
	setSigningHeaders(h, s.v.self, s.v.pubB64, s.ts, streamCommitment, sig)
	s.sum = sha256.New()
	s.w.WriteHeader(s.status)
}

// fail answers 500 unsigned, which the client reports as missing_signature;
// an unsigned answer is the only honest one when the key cannot sign.
func (s *signingWriter) fail(err error) {
	s.err = err
	h := s.w.Header()
	h.Del("Content-Length")
	h.Set(HeaderError, "sign_failed")
	s.w.WriteHeader(http.StatusInternalServerError)
}

// finish runs after the handler returned.
func (s *signingWriter) finish() error {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	if s.err != nil {
		return s.err
	}
	if s.streaming {
		return s.finishStream()
	}
	var body []byte
	if bodyAllowed(s.status, s.r.Method) {
		body = s.buf.Bytes()
	}
	ts := formatMillis(s.v.cfg.Now())
	bodySHA := BodySHA256(body)
	sig, err := s.sign(ResponsePayload(s.status, bodySHA, ts, s.nonce, s.requester))
	if err != nil {
		s.fail(err)
		return err
	}
	h := s.w.Header()
	setSigningHeaders(h, s.v.self, s.v.pubB64, ts, bodySHA, sig)
	if bodyAllowed(s.status, s.r.Method) {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	s.w.WriteHeader(s.status)
	if len(body) > 0 {
		if _, err := s.w.Write(body); err != nil {
			return fmt.Errorf("transport: write response: %w", err)
		}
	}
	return nil
}

func (s *signingWriter) finishStream() error {
	// The trailer must start a line to be recognised, so a stream cut
	// mid-line is completed with a newline, which is covered by the digest.
	if s.written > 0 && s.last != '\n' {
		if _, err := s.Write([]byte{'\n'}); err != nil {
			return fmt.Errorf("transport: write stream: %w", err)
		}
	}
	bodySHA := hex.EncodeToString(s.sum.Sum(nil))
	sig, err := s.sign(StreamTrailerPayload(s.status, bodySHA, s.ts, s.nonce, s.requester))
	if err != nil {
		// Headers are gone; ending without a trailer makes the client
		// report truncated_stream.
		return err
	}
	trailer := trailerPrefix + b64.EncodeToString(sig) + "\n\n"
	if _, err := s.w.Write([]byte(trailer)); err != nil {
		return fmt.Errorf("transport: write stream trailer: %w", err)
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// bodyAllowed mirrors what reaches the client: HEAD responses and 1xx, 204
// and 304 carry no body, so their signature covers the empty body.
func bodyAllowed(status int, method string) bool {
	if method == http.MethodHead {
		return false
	}
	return !(status >= 100 && status < 200) && status != http.StatusNoContent && status != http.StatusNotModified
}

func isEventStream(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "text/event-stream"
}

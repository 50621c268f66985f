package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"time"
)

// StreamResponse is a response whose body is read incrementally, as SSE
// is. Its headers are authenticated when Stream returns; its body is
// authenticated as a whole by the trailer, so Body returns io.EOF only after
// the trailer verified, and a *ResponseError instead if it is missing or
// wrong. Bytes read before that are not yet authenticated: act on them
// (e.g. time the first token) but commit results only after EOF.
type StreamResponse struct {
	StatusCode int
	Header     http.Header
	Body       io.ReadCloser // never returns the trailer line itself
	Signer     string
	Timestamp  time.Time
}

// Stream is Do for responses read as they arrive (Accept:
// text/event-stream). If the server answers with a buffered response
// instead, it is read and verified within Do's limit and served from memory.
func (c *Client) Stream(ctx context.Context, method, url, receiver string, body []byte) (*StreamResponse, error) {
	resp, sh, nonce, err := c.roundTrip(ctx, method, url, receiver, body, "text/event-stream")
	if err != nil {
		return nil, err
	}
	out := &StreamResponse{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		Signer:     sh.signer,
		Timestamp:  time.UnixMilli(sh.timestamp),
	}
	if sh.bodySHA == streamCommitment {
		out.Body = c.newStreamReader(resp, sh, nonce)
		return out, nil
	}
	defer resp.Body.Close()
	data, err := c.readVerified(resp, sh)
	if err != nil {
		return nil, err
	}
	out.Body = io.NopCloser(bytes.NewReader(data))
	return out, nil
}

// streamReader passes a stream through line by line, hashing every line
// until the trailer line, which it verifies and swallows. Only the start of
// a line can begin the trailer, so lines are never held longer than the
// bufio buffer and memory stays bounded whatever the peer sends.
type streamReader struct {
	body      io.ReadCloser
	br        *bufio.Reader
	sum       hash.Hash
	lineStart bool
	pending   []byte // bytes already hashed, not yet handed out
	err       error  // sticky: io.EOF once verified, else why not
	limit     int64  // 0: none
	read      int64
	status    int
	verify    func(bodySHA string, sig []byte) bool
}

func (c *Client) newStreamReader(resp *http.Response, sh signedHeaders, nonce string) *streamReader {
	requester := c.signer.Address()
	return &streamReader{
		body:      resp.Body,
		br:        bufio.NewReaderSize(resp.Body, 32<<10),
		sum:       sha256.New(),
		lineStart: true,
		status:    resp.StatusCode,
		verify: func(bodySHA string, sig []byte) bool {
			return sh.pubKey.VerifySignature(StreamTrailerPayload(resp.StatusCode, bodySHA, sh.tsRaw, nonce, requester), sig)
		},
	}
}

func (s *streamReader) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.fill()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func (s *streamReader) Close() error { return s.body.Close() }

func (s *streamReader) fail(reason Reason, format string, args ...any) {
	s.err = &ResponseError{Reason: reason, StatusCode: s.status, Err: fmt.Errorf(format, args...)}
}

// fill reads the next line, or as much of a long line as fits the buffer.
// s.pending aliases the bufio buffer, so fill runs only once it is drained.
func (s *streamReader) fill() {
	chunk, err := s.br.ReadSlice('\n')
	if s.lineStart && bytes.HasPrefix(chunk, []byte(trailerPrefix)) {
		s.trailer(chunk, err)
		return
	}
	if len(chunk) > 0 {
		s.read += int64(len(chunk))
		if s.limit > 0 && s.read > s.limit {
			s.fail(ReasonTooLarge, "stream exceeds %d bytes", s.limit)
			return
		}
		s.sum.Write(chunk)
		s.pending = chunk
		s.lineStart = chunk[len(chunk)-1] == '\n'
	}
	switch {
	case err == nil || errors.Is(err, bufio.ErrBufferFull):
	case errors.Is(err, io.EOF):
		s.fail(ReasonTruncated, "stream ended without a signed trailer")
	default:
		s.err = fmt.Errorf("transport: read stream: %w", err)
	}
}

func (s *streamReader) trailer(line []byte, err error) {
	if err != nil || line[len(line)-1] != '\n' {
		s.fail(ReasonTruncated, "incomplete stream trailer")
		return
	}
	sig, perr := parseSignature(string(line[len(trailerPrefix) : len(line)-1]))
	if perr != nil {
		s.fail(ReasonMalformed, "stream trailer: %v", perr)
		return
	}
	// The trailer is the last event: a blank line, then the end.
	if b, err := s.br.ReadByte(); err != nil || b != '\n' {
		s.fail(ReasonTruncated, "stream trailer not terminated")
		return
	}
	if _, err := s.br.ReadByte(); !errors.Is(err, io.EOF) {
		if err == nil {
			s.fail(ReasonTamperedBody, "data after the stream trailer")
		} else {
			s.err = fmt.Errorf("transport: read stream: %w", err)
		}
		return
	}
	if !s.verify(hex.EncodeToString(s.sum.Sum(nil)), sig) {
		s.fail(ReasonBadSignature, "stream trailer signature does not verify (body altered or wrong key)")
		return
	}
	s.err = io.EOF
}

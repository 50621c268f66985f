package miner

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// Timeouts of the miner's HTTP server. Bodies are small (a prompt and its
// settings), so reading one gets a short deadline of its own; the rest of a
// request is bounded by the request timeout, streams included.
const (
	DefaultReadHeaderTimeout  = 5 * time.Second
	DefaultBodyTimeout        = 10 * time.Second
	DefaultIdleTimeout        = 60 * time.Second
	DefaultStreamWriteTimeout = 10 * time.Second
	DefaultMaxConnsPerIP      = 64
)

// bodyDeadline gives reading a request's body its own deadline. The
// server-wide ReadTimeout cannot do this: it covers the whole request, and
// once the body is read net/http keeps reading in the background under the
// same deadline to notice a client that leaves, so when it expires it
// cancels the request's context, cutting a long generation or stream. Here
// the deadline is cleared as soon as the body ends.
func bodyDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Bodiless requests: net/http's background read is already under
		// way, and a deadline would cancel the request when it expired.
		if d <= 0 || r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(d)) != nil { // not a net/http connection (tests)
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{ReadCloser: r.Body, clear: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody clears the read deadline once the body is read.
type deadlineBody struct {
	io.ReadCloser
	once  sync.Once
	clear func()
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.once.Do(b.clear)
	}
	return n, err
}

// eventWriter re-arms the connection's write deadline before each write
// of a stream: one event may take at most d to leave, however long the
// stream lasts, so a client that stops reading loses the stream (and its
// generation slot) within d instead of holding it until the request
// timeout. A fixed server-wide WriteTimeout could not tell the two apart.
type eventWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	d   time.Duration
	err error // the first failed write: the client is gone or stalled
}

func newEventWriter(w http.ResponseWriter, d time.Duration) *eventWriter {
	return &eventWriter{w: w, rc: http.NewResponseController(w), d: d}
}

func (e *eventWriter) Header() http.Header { return e.w.Header() }

func (e *eventWriter) WriteHeader(code int) { e.w.WriteHeader(code) }

func (e *eventWriter) Write(p []byte) (int, error) {
	_ = e.rc.SetWriteDeadline(time.Now().Add(e.d)) // unsupported only outside net/http
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

func (e *eventWriter) Flush() {
	if err := e.rc.Flush(); err != nil && e.err == nil {
		e.err = err
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (e *eventWriter) Unwrap() http.ResponseWriter { return e.w }

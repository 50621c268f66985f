package miner

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
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

// perIPListener caps the connections one client address holds open at
// once. A connection over the cap gets a 429 in OpenAI's shape and is
// closed, so a caller's slow or idle connections cannot take every socket
// and goroutine the miner has.
type perIPListener struct {
	net.Listener
	max int
	mu  sync.Mutex
	n   map[string]int
	// onRefuse counts a refused connection (metrics).
	onRefuse func()
	// refusing counts 429 answers being written: a flood of connections
	// beyond maxRefusing is closed without one, so refusals cost no more
	// goroutines than that.
	refusing atomic.Int32
}

const maxRefusing = 64

func limitPerIP(ln net.Listener, max int, onRefuse func()) net.Listener {
	if max <= 0 {
		return ln
	}
	return &perIPListener{Listener: ln, max: max, n: make(map[string]int), onRefuse: onRefuse}
}

const tooManyConns = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"

func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := hostOf(c.RemoteAddr())
		l.mu.Lock()
		over := l.n[ip] >= l.max
		if !over {
			l.n[ip]++
		}
		l.mu.Unlock()
		if !over {
			return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
		}
		l.onRefuse()
		if l.refusing.Add(1) > maxRefusing {
			l.refusing.Add(-1)
			_ = c.Close()
			continue
		}
		go func() {
			defer l.refusing.Add(-1)
			refuseConn(c)
		}()
	}
}

func (l *perIPListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip]--; l.n[ip] <= 0 {
		delete(l.n, ip)
	}
}

// refuseConn answers 429 and closes. It half-closes first and drains what
// the client sent, so the client reads the answer instead of a reset.
func refuseConn(c net.Conn) {
	defer c.Close()
	body := `{"error":{"message":"too many connections from this address; reuse connections or retry later","type":"rate_limit_error","param":null,"code":"` +
		string(ReasonTooManyConns) + `"}}` + "\n"
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, fmtResponse(body)); err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

func fmtResponse(body string) string {
	return fmt.Sprintf(tooManyConns, len(body), body)
}

func hostOf(a net.Addr) string {
	if tcp, ok := a.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// countedConn gives its place back once, when closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// CloseWrite keeps net/http's graceful close (a half-close, then a wait
// for the client to read the answer).
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

package validator

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPLimits bound what one caller can hold of the validator's HTTP server
// (dashboard, metrics, gateway). Zero values get the defaults below.
type HTTPLimits struct {
	// ReadTimeout bounds reading one request, body included (default 30s):
	// a client that trickles its body is cut off.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response (default 30s). The gateway
	// is streaming-aware: it lifts the limit while a miner works and
	// re-arms it before every write, so a long stream lives as long as it
	// makes progress and a client that stops reading is dropped.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections left unused (default 60s).
	IdleTimeout time.Duration
	// MaxConnsPerIP caps open connections per client address (default 64);
	// beyond it new connections get a 429 and are closed.
	MaxConnsPerIP int
}

func (l *HTTPLimits) defaults() {
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 30 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 30 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 60 * time.Second
	}
	if l.MaxConnsPerIP <= 0 {
		l.MaxConnsPerIP = 64
	}
}

// newHTTPServer is the validator's server with lim's timeouts; serve it on
// limitPerIP(l, lim.MaxConnsPerIP).
func newHTTPServer(h http.Handler, lim HTTPLimits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: min(10*time.Second, lim.ReadTimeout),
		ReadTimeout: lim.ReadTimeout, WriteTimeout: lim.WriteTimeout, IdleTimeout: lim.IdleTimeout}
}

// tooManyConns is written to a connection over the per-IP cap before it is
// closed: a plain HTTP/1.1 answer any client understands.
var tooManyConns = func() []byte {
	body := `{"error":{"message":"too many connections from this address","type":"rate_limit_error","param":null,"code":"too_many_connections"}}`
	return []byte(fmt.Sprintf("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"+
		"Connection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}()

// perIPListener caps open connections per remote IP.
type perIPListener struct {
	net.Listener
	max int

	mu   sync.Mutex
	open map[string]int
}

func limitPerIP(l net.Listener, maxConns int) net.Listener {
	return &perIPListener{Listener: l, max: maxConns, open: map[string]int{}}
}

// Accept returns the next connection within the cap; connections over it
// are answered and closed here, never reaching the server.
func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		l.mu.Lock()
		over := l.open[ip] >= l.max
		if !over {
			l.open[ip]++
		}
		l.mu.Unlock()
		if over {
			// Bounded: the write goes to the socket buffer; never wait on
			// a client that does not read.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(tooManyConns)
			_ = c.Close()
			continue
		}
		return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *perIPListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// countedConn gives its slot back once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

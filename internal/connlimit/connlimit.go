// Package connlimit caps the connections one client address holds open on a
// daemon's HTTP listener, so a caller's slow or idle connections cannot take
// every socket and goroutine the server has. Both daemons use it.
package connlimit

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Code is the OpenAI-style error code of the 429 a refused connection gets.
const Code = "too_many_connections"

// maxRefusing bounds the 429 answers being written at once: a flood of
// connections beyond it is closed without one, so refusals cost no more
// goroutines than that.
const maxRefusing = 64

// PerIP wraps ln so that each remote IP holds at most max connections. A
// connection over the cap gets a 429 in OpenAI's error shape and is closed;
// onRefuse (may be nil) counts it. max ≤ 0 returns ln unchanged.
func PerIP(ln net.Listener, max int, onRefuse func()) net.Listener {
	if max <= 0 {
		return ln
	}
	return &listener{Listener: ln, max: max, n: make(map[string]int), onRefuse: onRefuse}
}

type listener struct {
	net.Listener
	max      int
	mu       sync.Mutex
	n        map[string]int
	onRefuse func()
	refusing atomic.Int32
}

func (l *listener) Accept() (net.Conn, error) {
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
		if l.onRefuse != nil {
			l.onRefuse()
		}
		if l.refusing.Add(1) > maxRefusing {
			l.refusing.Add(-1)
			_ = c.Close()
			continue
		}
		go func() {
			defer l.refusing.Add(-1)
			refuse(c)
		}()
	}
}

func (l *listener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[ip]--; l.n[ip] <= 0 {
		delete(l.n, ip)
	}
}

var tooMany = func() string {
	body := `{"error":{"message":"too many connections from this address; reuse connections or retry later","type":"rate_limit_error","param":null,"code":"` +
		Code + `"}}` + "\n"
	return fmt.Sprintf("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

// refuse answers 429 and closes. It half-closes first and drains what the
// client sent, so the client reads the answer instead of a reset.
func refuse(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, tooMany); err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
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

// CloseWrite keeps net/http's graceful close (a half-close, then a wait for
// the client to read the answer).
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

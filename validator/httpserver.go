package validator

import (
	"net/http"
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
// connlimit.PerIP(l, lim.MaxConnsPerIP, nil).
func newHTTPServer(h http.Handler, lim HTTPLimits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: min(10*time.Second, lim.ReadTimeout),
		ReadTimeout: lim.ReadTimeout, WriteTimeout: lim.WriteTimeout, IdleTimeout: lim.IdleTimeout}
}

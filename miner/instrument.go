package miner

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// endpointLabel keeps the metric's label set fixed: unknown paths (scanners
// probe for anything) share one label.
func endpointLabel(path string) string {
	switch path {
	case "/v1/completions", "/v1/chat/completions", "/v1/models", "/healthz", "/metrics":
		return path
	}
	return "other"
}

// instrument is the outermost layer: it counts every answer (refusals by
// the transport included) by endpoint and code, times it, adds a
// Retry-After of one second to 429 and 503 answers that did not set their
// own (the rate limiter's refusals carry the real wait), and announces the
// limits on every /v1 answer (ratelimits.go).
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			ctx, note := withLimitsNote(r.Context())
			r = r.WithContext(ctx)
			sw.limits = func(h http.Header) { s.setLimitHeaders(h, note) }
		}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		ep := endpointLabel(r.URL.Path)
		s.metrics.requests.WithLabelValues(ep, strconv.Itoa(sw.status)).Inc()
		s.metrics.latency.WithLabelValues(ep).Observe(time.Since(start).Seconds())
	})
}

// statusWriter records the status and passes everything through. It must
// keep Flush working: the transport's stream signer flushes every event.
type statusWriter struct {
	http.ResponseWriter
	status int
	// limits writes the rate-limit headers (nil outside /v1).
	limits func(http.Header)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		if w.limits != nil {
			w.limits(w.Header())
		}
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			h := w.Header()
			if h.Get("Retry-After") == "" {
				h.Set("Retry-After", "1")
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

package miner

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Headers a miner announces its limits in, on every /v1 answer. The first
// three are OpenAI's names: a caller's bucket holds LimitRequests requests
// (the burst), RemainingRequests are left after this request, and the
// bucket is full again after ResetRequests (a Go duration such as "400ms"
// or "1s", as OpenAI writes them). OpenAI's window is a minute; here the
// bucket refills at RateRequests per second, so it empties and refills in
// about a second. Concurrency and QueueSize are the miner's own capacity,
// shared by all callers: generations running at once, and how many more
// may wait before it answers 503 queue_full.
const (
	HeaderLimitRequests     = "X-Ratelimit-Limit-Requests"
	HeaderRemainingRequests = "X-Ratelimit-Remaining-Requests"
	HeaderResetRequests     = "X-Ratelimit-Reset-Requests"
	HeaderRateRequests      = "X-Merit-Ratelimit-Requests-Per-Second"
	HeaderConcurrency       = "X-Merit-Concurrency"
	HeaderQueueSize         = "X-Merit-Queue-Size"
)

// RateLimits is one caller's token bucket as its last request left it.
type RateLimits struct {
	Rate      float64 // requests per second
	Burst     int
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
}

// limitsNote carries a caller's limits from Authorize (which knows the
// caller) to the outermost writer (which writes the headers). A request is
// handled by one goroutine, so it needs no lock.
type limitsNote struct {
	limits RateLimits
	set    bool
}

type limitsNoteKey struct{}

func withLimitsNote(ctx context.Context) (context.Context, *limitsNote) {
	n := &limitsNote{}
	return context.WithValue(ctx, limitsNoteKey{}, n), n
}

// noteLimits records l for the response's headers, when the request came
// through a Server (Authorize may run elsewhere, as in tests).
func noteLimits(ctx context.Context, l RateLimits) {
	if n, ok := ctx.Value(limitsNoteKey{}).(*limitsNote); ok {
		n.limits, n.set = l, true
	}
}

// setLimitHeaders writes the announcement: capacity always, the caller's
// bucket when the caller is known and rate limited (an unauthenticated
// request has no bucket to speak of).
func (s *Server) setLimitHeaders(h http.Header, n *limitsNote) {
	h.Set(HeaderConcurrency, strconv.Itoa(s.cfg.Concurrency))
	h.Set(HeaderQueueSize, strconv.Itoa(s.cfg.QueueSize))
	if n == nil || !n.set {
		return
	}
	l := n.limits
	h.Set(HeaderLimitRequests, strconv.Itoa(l.Burst))
	h.Set(HeaderRemainingRequests, strconv.Itoa(max(0, l.Remaining)))
	h.Set(HeaderResetRequests, max(0, l.Reset).Round(time.Millisecond).String())
	h.Set(HeaderRateRequests, strconv.FormatFloat(l.Rate, 'g', 6, 64))
}

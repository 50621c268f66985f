package miner

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/meritnet/merit/client/transport"
)

// Access decides who may call the /v1 routes: validators holding a permit
// in the current metagraph of the subnet, and the addresses of --allow. Each
// admitted caller has a token bucket whose rate scales with its stake.
type Access struct {
	source MetagraphSource
	allow  map[string]bool
	base   float64
	netuid uint32
	now    func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// AccessConfig configures Access.
type AccessConfig struct {
	// Metagraph supplies permits and stake; nil admits only Allow.
	Metagraph MetagraphSource
	// Allow lists addresses admitted whatever the metagraph says, at the
	// base rate (an operator's own validator, a monitoring key).
	Allow []string
	// RateLimit is the base requests per second per caller; 0 disables
	// rate limiting.
	RateLimit float64
	// Netuid is only used in messages.
	Netuid uint32
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// NewAccess checks the allowlist addresses.
func NewAccess(cfg AccessConfig) (*Access, error) {
	if cfg.RateLimit < 0 || math.IsNaN(cfg.RateLimit) || math.IsInf(cfg.RateLimit, 0) {
		return nil, fmt.Errorf("rate limit %v must be a non-negative number", cfg.RateLimit)
	}
	a := &Access{source: cfg.Metagraph, allow: map[string]bool{}, base: cfg.RateLimit, netuid: cfg.Netuid, now: cfg.Now, buckets: map[string]*bucket{}}
	if a.now == nil {
		a.now = time.Now
	}
	for _, addr := range cfg.Allow {
		if _, err := addressCodec.StringToBytes(addr); err != nil {
			return nil, fmt.Errorf("allow: %q is not a merit1… address: %w", addr, err)
		}
		a.allow[addr] = true
	}
	return a, nil
}

// rateFactor is how many times the base rate caller gets, and whether it
// is admitted at all.
func (a *Access) rateFactor(caller string) (float64, error) {
	var s *Snapshot
	if a.source != nil {
		s = a.source.Current()
	}
	if s != nil {
		if f, ok := s.Permitted[caller]; ok {
			return f, nil
		}
	}
	if a.allow[caller] {
		return 1, nil
	}
	switch {
	case s == nil:
		return 0, fmt.Errorf("caller %s is not in --allow and no metagraph has been read yet", caller)
	case s.Registered[caller]:
		return 0, fmt.Errorf("caller %s is registered on subnet %d but holds no validator permit (metagraph at block %d)", caller, a.netuid, s.Block)
	default:
		return 0, fmt.Errorf("caller %s is not registered on subnet %d (metagraph at block %d)", caller, a.netuid, s.Block)
	}
}

// Authorize implements transport.Authorizer. It runs after the signature
// check and before the replay cache, so refused callers cost one signature
// verification and nothing else.
func (a *Access) Authorize(ctx context.Context, caller string) error {
	f, err := a.rateFactor(caller)
	if err != nil {
		return err // 403 forbidden
	}
	if a.base == 0 {
		return nil
	}
	limit := a.base * f
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.buckets[caller]
	// A burst of one second's worth lets a validator fire its probes
	// together; at least one token so that rates below 1/s work at all.
	burst := max(1, int(math.Ceil(limit)))
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(limit), burst)}
		a.buckets[caller] = b
	} else if b.lim.Limit() != rate.Limit(limit) || b.lim.Burst() != burst {
		// Stake moved: the new rate applies from now on, tokens kept.
		b.lim.SetLimitAt(now, rate.Limit(limit))
		b.lim.SetBurstAt(now, burst)
	}
	b.seen = now
	a.sweep(now)
	r := b.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	if d > 0 {
		r.CancelAt(now)
	}
	tokens := b.lim.TokensAt(now)
	noteLimits(ctx, RateLimits{Rate: limit, Burst: burst, Remaining: int(math.Floor(max(0, tokens))),
		Reset: time.Duration((float64(burst) - tokens) / limit * float64(time.Second))})
	if d > 0 {
		secs := int(math.Ceil(d.Seconds()))
		return &transport.RejectError{
			Reason: ReasonRateLimited, Status: 429, RetryAfter: secs,
			Err: fmt.Errorf("caller %s exceeds %.3g requests/s (burst %d); retry in %d s", caller, limit, burst, secs),
		}
	}
	return nil
}

// sweep forgets buckets idle for ten minutes (callers that lost their
// permit, or left); the map stays as small as the set of active callers.
// Called with mu held.
func (a *Access) sweep(now time.Time) {
	if now.Sub(a.lastSweep) < time.Minute {
		return
	}
	a.lastSweep = now
	for k, b := range a.buckets {
		if now.Sub(b.seen) > 10*time.Minute {
			delete(a.buckets, k)
		}
	}
}

var _ transport.Authorizer = (*Access)(nil).Authorize

// HealthFields describe the rate limit in /healthz: the base rate a caller
// gets and its burst; permit holders with more than the average stake get
// proportionally more (each answer's headers carry the caller's own).
func (a *Access) HealthFields() map[string]any {
	if a.base == 0 {
		return map[string]any{"rate_limit": map[string]any{"enabled": false}}
	}
	return map[string]any{"rate_limit": map[string]any{
		"enabled":                  true,
		"base_requests_per_second": a.base,
		"base_burst":               max(1, int(math.Ceil(a.base))),
		"scales_with_stake":        true,
	}}
}

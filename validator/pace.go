package validator

import (
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meritnet/merit/client/transport"
)

// What a miner announces on its /v1 answers (docs/miner.md, "Rate limit"):
// the caller's token bucket in OpenAI's header names, its refill rate, and
// the miner's own capacity.
const (
	headerLimitRequests     = "X-Ratelimit-Limit-Requests"
	headerRemainingRequests = "X-Ratelimit-Remaining-Requests"
	headerRateRequests      = "X-Merit-Ratelimit-Requests-Per-Second"
	headerConcurrency       = "X-Merit-Concurrency"
	headerQueueSize         = "X-Merit-Queue-Size"
)

// Pacing defaults.
const (
	// defaultMinerRate and defaultMinerBurst stand for a miner's bucket
	// where it announced none (merit-miner's default --rate-limit) when
	// judging whether a 429 was the validator's own doing. A miner not
	// heard from yet is not paced: its first answer says how.
	defaultMinerRate  = 5
	defaultMinerBurst = 5
	// paceMargin is the share of a miner's announced rate the validator
	// uses: requests leave and arrive at different times, and the
	// miner's clock is its own.
	paceMargin = 0.9
	// maxProbeWait bounds how long a probe waits for a token or a 429's
	// pause, so a miner that announces a tiny rate cannot starve its own
	// probes: they go anyway and a refusal then counts.
	maxProbeWait = 3 * time.Second
	// defaultBackoff is the pause after a 429 without Retry-After.
	defaultBackoff = time.Second
	// paceIdle is when an unused miner's state is forgotten.
	paceIdle = 10 * time.Minute
)

// Pacer keeps this validator's calls to each miner within the limit the
// miner announces for the validator's hotkey: probes and user traffic (the
// gateway) spend one budget, so they are paced together. Probes come
// first: user traffic never takes the tokens the next probe job needs, and
// a probe refused with 429 just after the validator's own traffic used the
// budget is not held against the miner.
//
// It sits in the validator's HTTP transport, so every request signed with
// the validator's hotkey is paced, whoever sends it; Acquire lets a caller
// ask first instead of being refused there.
type Pacer struct {
	now func() time.Time
	// reserve is how many requests a probe job sends: user traffic leaves
	// that many tokens in every miner's bucket.
	reserve int

	mu        sync.Mutex
	miners    map[string]*minerPace // by hotkey
	lastSweep time.Time
}

// minerPace mirrors the miner's bucket for this validator.
type minerPace struct {
	rate      float64 // requests/s, after the margin
	burst     float64
	unlimited bool // the miner admits this validator without a bucket
	tokens    float64
	at        time.Time // tokens as of
	// blocked is when a 429's Retry-After ends.
	blocked time.Time
	// heard is set by the miner's first answer; until then one user
	// request at a time finds out its limits.
	heard bool
	// capacity is the miner's generation slots plus queue places, 0 when
	// it does not say.
	capacity int
	// inflight counts user requests on their way.
	inflight int
	// sends are this validator's recent requests to the miner, oldest
	// first, to tell whether they can have emptied its bucket.
	sends []send
	// announced is the largest bucket the miner announced lately (rate
	// without the margin): a miner cannot excuse its refusals by
	// announcing less on them.
	announcedRate, announcedBurst float64
	announcedAt                   time.Time
	// wake is closed (and replaced) whenever a 429's pause or the bucket
	// may have changed, to wake waiting probes.
	wake chan struct{}
	seen time.Time
}

// NewPacer returns a pacer whose user traffic leaves probeRequests tokens
// for the probes of every miner.
func NewPacer(probeRequests int) *Pacer {
	return &Pacer{now: time.Now, reserve: max(0, probeRequests), miners: map[string]*minerPace{}}
}

// get returns hotkey's state, refilled to now. Called with mu held.
func (p *Pacer) get(hotkey string, now time.Time) *minerPace {
	m := p.miners[hotkey]
	if m == nil {
		m = &minerPace{rate: defaultMinerRate * paceMargin, burst: defaultMinerBurst, tokens: defaultMinerBurst, at: now,
			unlimited: true, wake: make(chan struct{})}
		p.miners[hotkey] = m
	}
	if dt := now.Sub(m.at); dt > 0 {
		m.tokens = math.Min(m.burst, m.tokens+dt.Seconds()*m.rate)
		m.at = now
	}
	m.seen = now
	if now.Sub(p.lastSweep) > time.Minute {
		p.lastSweep = now
		for k, o := range p.miners {
			if now.Sub(o.seen) > paceIdle && o.inflight == 0 {
				delete(p.miners, k)
			}
		}
	}
	return m
}

func (m *minerPace) signal() {
	close(m.wake)
	m.wake = make(chan struct{})
}

// userReserve is what user traffic must leave in the bucket.
func (p *Pacer) userReserve(m *minerPace) float64 {
	return math.Min(float64(p.reserve), math.Floor(m.burst/2))
}

// Acquire reserves one request to the miner with this hotkey for traffic
// other than probes (the gateway), without waiting. ok is false when the
// validator's budget at that miner is spent (for this purpose: what is left
// belongs to the probes), when a 429's Retry-After has not passed, or when
// this validator's requests would overflow the miner's slots and queue (or,
// before the miner's first answer, one is already on its way):
// treat the miner as rate limited and try another (RetryAfter says when to
// come back). When ok, send the request with the returned context (it
// tells the transport the request is paced already) and call release once
// the answer has been read; release is safe to call more than once.
func (p *Pacer) Acquire(ctx context.Context, hotkey string) (_ context.Context, release func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	m := p.get(hotkey, now)
	if now.Before(m.blocked) || (!m.heard && m.inflight > 0) || (m.capacity > 0 && m.inflight >= m.capacity) ||
		(!m.unlimited && m.tokens < 1+p.userReserve(m)) {
		return ctx, func() {}, false
	}
	if !m.unlimited {
		m.tokens--
	}
	m.inflight++
	m.logSend(now, false)
	var once sync.Once
	return context.WithValue(ctx, pacedKey{}, true), func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			m.inflight--
			m.signal()
		})
	}, true
}

// RetryAfter is how long until Acquire may succeed for hotkey, at least a
// second (what a user is told to wait when every miner is paced out).
func (p *Pacer) RetryAfter(hotkey string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	m := p.get(hotkey, now)
	d := m.blocked.Sub(now)
	if !m.unlimited && m.rate > 0 {
		d = max(d, time.Duration((1+p.userReserve(m)-m.tokens)/m.rate*float64(time.Second)))
	}
	return max(time.Second, d)
}

// probeSend accounts one probe request, first waiting (at most
// maxProbeWait) for a 429's Retry-After to pass and for a token; it
// returns when the probe leaves.
func (p *Pacer) probeSend(ctx context.Context, hotkey string) (sentAt time.Time) {
	p.mu.Lock()
	m := p.get(hotkey, p.now())
	p.mu.Unlock()
	p.wait(ctx, m, func() bool {
		m2 := p.get(hotkey, p.now())
		return !p.now().Before(m2.blocked) && (m2.unlimited || m2.tokens >= 1)
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	m = p.get(hotkey, now)
	if !m.unlimited {
		m.tokens = math.Max(0, m.tokens-1)
	}
	m.logSend(now, true)
	return now
}

// wait polls ready (under mu) until it holds, ctx ends or maxProbeWait
// passes; it wakes on signals and every 20 ms (refills need no signal).
func (p *Pacer) wait(ctx context.Context, m *minerPace, ready func() bool) {
	deadline := time.NewTimer(maxProbeWait)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		ok, wake := ready(), m.wake
		p.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-wake:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// send is one request that left for a miner.
type send struct {
	at    time.Time
	probe bool
	// refused sends took no token from the miner's bucket.
	refused bool
}

// Bounds of the send log: what can matter to a bucket that refills in
// seconds.
const (
	maxSends   = 256
	sendMaxAge = time.Minute
)

// logSend records a request leaving now. Called with mu held.
func (m *minerPace) logSend(now time.Time, probe bool) {
	i := 0
	for i < len(m.sends) && (now.Sub(m.sends[i].at) > sendMaxAge || len(m.sends)-i >= maxSends) {
		i++
	}
	m.sends = append(m.sends[i:], send{at: now, probe: probe})
}

// ownTrafficSlack is how many requests short of emptying the miner's
// bucket the validator's traffic may be and still be blamed for a 429:
// requests arrive a little later than they leave, and not evenly.
const ownTrafficSlack = 0.5

// ownTraffic reports whether this validator's own requests can explain a
// 429 to the probe sent at sentAt: user traffic was among them, and they
// were enough to empty the bucket the miner announced (the largest it
// announced lately): for some window T before sentAt, at least
// burst + rate·T - ownTrafficSlack of them, not counting refused ones,
// left in it. Otherwise the refusal is the miner's, and counts. The probe
// is marked refused either way: it took no token.
func (p *Pacer) ownTraffic(hotkey string, sentAt time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.get(hotkey, p.now())
	rate, burst := m.announcedRate, m.announcedBurst
	if rate <= 0 || burst <= 0 {
		rate, burst = defaultMinerRate, defaultMinerBurst
	}
	k, user, own := 0, false, false
	for i := len(m.sends) - 1; i >= 0; i-- {
		sd := &m.sends[i]
		if sd.probe && sd.at.Equal(sentAt) {
			sd.refused = true
		}
		if sd.refused || !sd.at.Before(sentAt) {
			continue
		}
		k++
		user = user || !sd.probe
		if user && float64(k) >= burst+rate*sentAt.Sub(sd.at).Seconds()-ownTrafficSlack {
			own = true
			break
		}
	}
	return own
}

// observe learns from a miner's answer: its announced bucket and
// capacity, and a 429's pause.
func (p *Pacer) observe(hotkey string, status int, h http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	m := p.get(hotkey, now)
	m.heard = true
	if n, err := strconv.Atoi(h.Get(headerConcurrency)); err == nil && n > 0 {
		q, _ := strconv.Atoi(h.Get(headerQueueSize))
		m.capacity = n + max(0, q)
	}
	burst, errB := strconv.Atoi(h.Get(headerLimitRequests))
	remaining, errR := strconv.Atoi(h.Get(headerRemainingRequests))
	rate, errRate := strconv.ParseFloat(h.Get(headerRateRequests), 64)
	switch {
	case errB == nil && burst > 0:
		m.unlimited = false
		m.burst = float64(burst)
		if errRate == nil && rate > 0 && !math.IsInf(rate, 0) {
			m.rate = rate * paceMargin
		}
		if now.Sub(m.announcedAt) > paceIdle {
			m.announcedRate, m.announcedBurst = 0, 0
		}
		m.announcedRate = math.Max(m.announcedRate, m.rate/paceMargin)
		m.announcedBurst = math.Max(m.announcedBurst, m.burst)
		m.announcedAt = now
		if errR == nil {
			// The miner counted every request that reached it before this
			// one; ours on their way are already counted here: the lower
			// figure is the safe one.
			m.tokens = math.Min(m.tokens, math.Max(0, float64(remaining)))
		}
		m.tokens = math.Min(m.tokens, m.burst)
	case status/100 == 2:
		// Admitted without a bucket: the miner does not limit this
		// validator (or does not say); a 429 will still pause it.
		m.unlimited = true
	}
	if status == http.StatusTooManyRequests {
		wait := defaultBackoff
		if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
			wait = time.Duration(min(s, 60)) * time.Second
		}
		m.blocked = now.Add(wait)
		m.tokens = 0
	}
	m.signal()
}

// pacedKey marks a request already paced (a probe, or Acquire's caller).
type pacedKey struct{}

// probeContext marks ctx's requests as probes: the probe job paces them.
func probeContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, pacedKey{}, true)
}

// Transport wraps base: every request to a miner (the receiver of a signed
// request) learns from the answer, and one nobody paced yet (the gateway)
// goes through Acquire; when refused it is answered here with an unsigned
// 429 rate_limited, which the transport client reports as the miner's
// limiter would, so the caller moves on to another miner.
func (p *Pacer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &pacedTransport{p: p, base: base}
}

type pacedTransport struct {
	p    *Pacer
	base http.RoundTripper
}

func (t *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	hotkey := req.Header.Get(transport.HeaderReceiver)
	if hotkey == "" {
		return t.base.RoundTrip(req)
	}
	release := func() {}
	if paced, _ := req.Context().Value(pacedKey{}).(bool); !paced {
		var ok bool
		if _, release, ok = t.p.Acquire(req.Context(), hotkey); !ok {
			return t.refuse(req, hotkey), nil
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	t.p.observe(hotkey, resp.StatusCode, resp.Header)
	resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// refuse is the answer to a request the pacer holds back: what the miner's
// own limiter would say, unsigned, without calling it.
func (t *pacedTransport) refuse(req *http.Request, hotkey string) *http.Response {
	secs := int(math.Ceil(t.p.RetryAfter(hotkey).Seconds()))
	body := `{"error":"this validator's requests to the miner are paced under its announced rate limit","reason":"rate_limited"}`
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(transport.HeaderError, ReasonRateLimited)
	h.Set("Retry-After", strconv.Itoa(secs))
	return &http.Response{Status: "429 Too Many Requests", StatusCode: http.StatusTooManyRequests, Proto: "HTTP/1.1",
		ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}
}

// releaseBody ends a user request's hold on the miner when its answer has
// been read (streams included).
type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

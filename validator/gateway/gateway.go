package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/validator/billing"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

// Config wires the gateway to the validator's state.
type Config struct {
	// Keys are the operator's own keys: served free, unmetered.
	Keys *APIKeys
	// Meter admits and meters keys of the chain's paid accounts; with
	// neither Keys nor Meter the gateway is disabled (503).
	Meter *billing.Meter
	// KeyWait is how long a request with a key the meter does not know
	// waits for newer books (an account opened in the block being read)
	// before 401; 0 answers at once.
	KeyWait time.Duration
	Client  *transport.Client
	// Timeout bounds one upstream attempt.
	Timeout time.Duration
	// Attempts is how many miners a request may try (default 3).
	Attempts int
	// SpotCheck is the fraction of answers verified (0..1).
	SpotCheck float64
	// Miners lists candidates, best first.
	Miners func() []miners.Miner
	// Reference is the current reference (nil before the first sync).
	Reference func() *reference.Reference
	// MaxTokens is the subnet's token limit per request.
	MaxTokens func() int
	// Metered is told what each paid request cost (metrics, logs); Failed
	// when its usage could not be written.
	Metered func(billing.Receipt, error)
	// Pace, if set, reserves a request to a miner within this validator's
	// budget there (the Pacer's Acquire): not ok means the miner is to be
	// treated as busy without calling it. RetryAfter says when it frees.
	Pace       func(ctx context.Context, hotkey string) (context.Context, func(), bool)
	RetryAfter func(hotkey string) time.Duration
	// Overhead, if set, is told the gateway's own time of each answered
	// request: everything but the wait for (and relay of) the miner's
	// answer — authentication, parsing, admission, metering, writing.
	Overhead func(time.Duration)
	// WriteTimeout bounds each write to the user (default 30s); the
	// server's own write timeout is lifted while miners work.
	WriteTimeout time.Duration
	// Record feeds spot-check results into the scores.
	Record  func(miners.Outcome)
	Metrics *Metrics
	Log     *zap.Logger
}

// Gateway is an OpenAI-compatible endpoint for users: it routes each request
// to the best-scoring miner that is available, falls back to the next on
// failure, and verifies a fraction of real answers, so a miner cannot be
// honest with probes and cheap with users.
type Gateway struct {
	cfg Config

	mu       sync.Mutex
	cooldown map[string]time.Time // hotkey → until
	checks   chan struct{}        // bounds concurrent spot checks
	// keyWaiters bounds the requests waiting for an unknown key (checkKey).
	keyWaiters chan struct{}
	wg         sync.WaitGroup
}

// cooldownFor keeps a miner that just failed a user out of rotation.
const cooldownFor = 30 * time.Second

// rateLimitCooldown keeps a miner that answered 429 aside briefly: it is
// busy, not broken. It is also the Retry-After users get.
const rateLimitCooldown = time.Second

// maxKeyWaiters is how many requests may wait for an unknown key at once.
const maxKeyWaiters = 32

// New returns the gateway handler.
func New(cfg Config) *Gateway {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	return &Gateway{cfg: cfg, cooldown: map[string]time.Time{}, checks: make(chan struct{}, 2),
		keyWaiters: make(chan struct{}, maxKeyWaiters)}
}

// Wait blocks until running spot checks end (tests, shutdown).
func (g *Gateway) Wait() { g.wg.Wait() }

// ServeHTTP implements /v1/completions, /v1/chat/completions and /v1/models.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	switch r.URL.Path {
	case "/v1/models", "/v1/completions", "/v1/chat/completions":
	default:
		// Before authentication: a wrong URL is worth saying even without a key.
		g.fail(w, http.StatusNotFound, "unknown_url", nil, "unknown path "+r.URL.Path)
		return
	}
	if g.cfg.Keys == nil && g.cfg.Meter == nil {
		g.fail(w, http.StatusServiceUnavailable, "gateway_disabled", nil, "the gateway is disabled")
		return
	}
	user, token, paid, ok := g.authenticate(w, r)
	if !ok {
		return
	}
	if r.URL.Path == "/v1/models" {
		g.models(w)
		return
	}
	req, ref, ok := g.readRequest(w, r)
	if !ok {
		return
	}
	var ticket *billing.Ticket
	if paid {
		if ticket, ok = g.admit(w, token, req, ref); !ok {
			return
		}
		// Whatever happens below, a request that was not metered must not
		// keep its hold.
		defer ticket.Cancel()
		user = "account-" + strconv.FormatUint(ticket.Account, 10)
	}
	// The server's write timeout would cut a long answer; the upstream
	// contexts bound the wait instead, and every write re-arms a short one.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Duration(g.cfg.Attempts)*g.cfg.Timeout + g.cfg.WriteTimeout))
	g.route(w, r, req, user, ticket, start)
}

// readRequest reads and normalizes a completion request; on failure it
// has answered.
func (g *Gateway) readRequest(w http.ResponseWriter, r *http.Request) (*gatewayRequest, *reference.Reference, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		g.fail(w, http.StatusMethodNotAllowed, "method_not_allowed", nil, "use POST")
		return nil, nil, false
	}
	ref := g.cfg.Reference()
	if ref == nil {
		g.count("no_miner")
		g.fail(w, http.StatusServiceUnavailable, "not_ready", nil, "the validator has not synced with the chain yet")
		return nil, nil, false
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxGatewayBody+1))
	if err != nil || len(raw) > maxGatewayBody {
		g.count("bad_request")
		g.fail(w, http.StatusRequestEntityTooLarge, "request_too_large", nil, "request body too large or unreadable")
		return nil, nil, false
	}
	req, err := g.normalize(r.URL.Path, raw, ref.ModelID)
	if err != nil {
		g.count("bad_request")
		var pe *paramError
		var param *string
		if errors.As(err, &pe) {
			param = &pe.param
		}
		g.fail(w, http.StatusBadRequest, "invalid_request", param, err.Error())
		return nil, nil, false
	}
	return req, ref, true
}

// route tries the available miners, best first, until one answers. A
// miner that says 429 is busy, not broken: it answers at once and costs
// no attempt, so every miner with capacity gets its chance; when all of
// them are saturated the user is told to come back (429).
func (g *Gateway) route(w http.ResponseWriter, r *http.Request, req *gatewayRequest, user string, ticket *billing.Ticket, start time.Time) {
	candidates := g.available()
	if len(candidates) == 0 {
		g.count("no_miner")
		g.fail(w, http.StatusServiceUnavailable, "no_miner", nil, "no miner is available right now")
		return
	}
	var t tally
	var upstream time.Duration
	for _, m := range candidates {
		if t.failed >= g.cfg.Attempts {
			break
		}
		ctx, release, ok := g.pace(r.Context(), m.Hotkey)
		if !ok {
			// Over this validator's budget at m: busy, and not called.
			t.busy(g.retryAfter(m.Hotkey))
			continue
		}
		done, errText, rateLimited := g.try(ctx, w, m, req, user, ticket, &upstream)
		release()
		if done {
			g.answered(req, start, upstream)
			return
		}
		if r.Context().Err() != nil {
			return
		}
		if rateLimited {
			t.busy(rateLimitCooldown)
			g.coolFor(m.Hotkey, rateLimitCooldown)
			g.cfg.Log.Debug("gateway: miner rate limited; trying the next", zap.Uint16("uid", m.UID), zap.String("result", "rate_limited"))
			continue
		}
		t.failed++
		t.lastErr = errText
		g.coolFor(m.Hotkey, cooldownFor)
		g.cfg.Log.Info("gateway: miner failed; trying the next", zap.Uint16("uid", m.UID), zap.String("error", errText))
	}
	g.unanswered(w, &t)
}

// tally is what the miners tried for one request said.
type tally struct {
	failed, limited int
	lastErr         string
	retryAfter      time.Duration // the soonest a busy miner frees up
}

func (t *tally) busy(d time.Duration) {
	t.limited++
	if t.retryAfter == 0 || d < t.retryAfter {
		t.retryAfter = d
	}
}

// pace reserves a request to the miner within this validator's budget
// there (Config.Pace); without a pacer every request may go.
func (g *Gateway) pace(ctx context.Context, hotkey string) (context.Context, func(), bool) {
	if g.cfg.Pace == nil {
		return ctx, func() {}, true
	}
	return g.cfg.Pace(ctx, hotkey)
}

// retryAfter is when a miner over this validator's budget frees up.
func (g *Gateway) retryAfter(hotkey string) time.Duration {
	if g.cfg.RetryAfter == nil {
		return rateLimitCooldown
	}
	return g.cfg.RetryAfter(hotkey)
}

// answered observes a request a miner answered.
func (g *Gateway) answered(req *gatewayRequest, start time.Time, upstream time.Duration) {
	if g.cfg.Metrics != nil {
		g.cfg.Metrics.Latency.WithLabelValues(req.path).Observe(time.Since(start).Seconds())
	}
	if g.cfg.Overhead != nil {
		g.cfg.Overhead(time.Since(start) - upstream)
	}
}

// unanswered tells the user no miner answered: come back (429) when some
// were busy, else the last miner's failure (502).
func (g *Gateway) unanswered(w http.ResponseWriter, t *tally) {
	if t.limited > 0 {
		g.count("rate_limited")
		secs := max(1, int((t.retryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		g.fail(w, http.StatusTooManyRequests, "rate_limit_exceeded", nil, fmt.Sprintf("every miner is busy; retry after %d s", secs))
		return
	}
	g.count("upstream_error")
	g.fail(w, http.StatusBadGateway, "upstream_error", nil, "no miner answered: "+t.lastErr)
}

// available lists the candidates not cooling down after a failure.
func (g *Gateway) available() []miners.Miner {
	all := g.cfg.Miners()
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	var out, cooling []miners.Miner
	for _, m := range all {
		if until, ok := g.cooldown[m.Hotkey]; ok && now.Before(until) {
			cooling = append(cooling, m)
			continue
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return cooling // better a miner that failed recently than none
	}
	return out
}

func (g *Gateway) cool(hotkey string) { g.coolFor(hotkey, cooldownFor) }

func (g *Gateway) coolFor(hotkey string, d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cooldown[hotkey] = time.Now().Add(d)
}

func (g *Gateway) models(w http.ResponseWriter) {
	ref := g.cfg.Reference()
	list := api.ModelList{Object: api.ObjectList, Data: []api.ModelCard{}}
	if ref != nil {
		info := ref.Engine.Info()
		list.Data = append(list.Data, api.ModelCard{ID: ref.ModelID, Object: api.ObjectModel, OwnedBy: "merit",
			ContextLength: info.ContextLength, VocabSize: info.VocabSize, Format: info.Format})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(list)
}

func (g *Gateway) count(result string) {
	if g.cfg.Metrics != nil {
		g.cfg.Metrics.Requests.WithLabelValues(result).Inc()
	}
}

// fail writes OpenAI's error envelope: the type says whose fault it is
// (the caller's, a rate limit, the server's), the code what exactly.
func (g *Gateway) fail(w http.ResponseWriter, status int, code string, param *string, msg string) {
	typ := "invalid_request_error"
	switch {
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case status >= 500:
		typ = "server_error"
	}
	codeJSON, _ := json.Marshal(code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorBody{Message: msg, Type: typ, Param: param, Code: codeJSON}})
}

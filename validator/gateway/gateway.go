package gateway

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/inference"
	"github.com/meritnet/merit/inference/api"
	"github.com/meritnet/merit/validator/billing"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

// maxGatewayBody bounds a user's request body.
const maxGatewayBody = 1 << 20

// Config wires the gateway to the validator's state.
type Config struct {
	// Keys are the operator's own keys: served free, unmetered.
	Keys *APIKeys
	// Meter admits and meters keys of the chain's paid accounts; with
	// neither Keys nor Meter the gateway is disabled (503).
	Meter  *billing.Meter
	Client *transport.Client
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
	wg       sync.WaitGroup
}

// cooldownFor keeps a miner that just failed a user out of rotation.
const cooldownFor = 30 * time.Second

// rateLimitCooldown keeps a miner that answered 429 aside briefly: it is
// busy, not broken. It is also the Retry-After users get.
const rateLimitCooldown = time.Second

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
	return &Gateway{cfg: cfg, cooldown: map[string]time.Time{}, checks: make(chan struct{}, 2)}
}

// isRateLimited reports whether err is a miner's 429.
func isRateLimited(err error) bool {
	var re *transport.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusTooManyRequests
}

// Wait blocks until running spot checks end (tests, shutdown).
func (g *Gateway) Wait() { g.wg.Wait() }

// gatewayRequest is a user's request, normalized for a miner.
type gatewayRequest struct {
	path   string
	body   []byte
	stream bool
	engine inference.GenerateRequest
	topK   int
	// maxTokens is the completion limit sent to the miner (0: the model's
	// context); bound what the request can be billed at most.
	maxTokens int
	bound     uint64
	// promptTokens is the exact prompt size when the reference is local.
	promptTokens uint64
}

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
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		g.fail(w, http.StatusMethodNotAllowed, "method_not_allowed", nil, "use POST")
		return
	}
	ref := g.cfg.Reference()
	if ref == nil {
		g.count("no_miner")
		g.fail(w, http.StatusServiceUnavailable, "not_ready", nil, "the validator has not synced with the chain yet")
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxGatewayBody+1))
	if err != nil || len(raw) > maxGatewayBody {
		g.count("bad_request")
		g.fail(w, http.StatusRequestEntityTooLarge, "request_too_large", nil, "request body too large or unreadable")
		return
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
	miners := g.available()
	if len(miners) == 0 {
		g.count("no_miner")
		g.fail(w, http.StatusServiceUnavailable, "no_miner", nil, "no miner is available right now")
		return
	}
	// A miner that says 429 is busy, not broken: it answers at once and
	// costs no attempt, so every miner with capacity gets its chance; when
	// all of them are saturated the user is told to come back (429).
	var lastErr string
	var upstream time.Duration
	failed, limited := 0, 0
	retryAfter := time.Duration(0) // the soonest a busy miner frees up
	busy := func(d time.Duration) {
		limited++
		if retryAfter == 0 || d < retryAfter {
			retryAfter = d
		}
	}
	for _, m := range miners {
		if failed >= g.cfg.Attempts {
			break
		}
		ctx, release := r.Context(), func() {}
		if g.cfg.Pace != nil {
			var ok bool
			if ctx, release, ok = g.cfg.Pace(ctx, m.Hotkey); !ok {
				// Over this validator's budget at m: busy, and not called.
				d := rateLimitCooldown
				if g.cfg.RetryAfter != nil {
					d = g.cfg.RetryAfter(m.Hotkey)
				}
				busy(d)
				continue
			}
		}
		done, errText, rateLimited := g.try(ctx, w, m, req, user, ticket, &upstream)
		release()
		if done {
			if g.cfg.Metrics != nil {
				g.cfg.Metrics.Latency.WithLabelValues(req.path).Observe(time.Since(start).Seconds())
			}
			if g.cfg.Overhead != nil {
				g.cfg.Overhead(time.Since(start) - upstream)
			}
			return
		}
		if r.Context().Err() != nil {
			return
		}
		if rateLimited {
			busy(rateLimitCooldown)
			g.coolFor(m.Hotkey, rateLimitCooldown)
			g.cfg.Log.Debug("gateway: miner rate limited; trying the next", zap.Uint16("uid", m.UID), zap.String("result", "rate_limited"))
			continue
		}
		failed++
		lastErr = errText
		g.coolFor(m.Hotkey, cooldownFor)
		g.cfg.Log.Info("gateway: miner failed; trying the next", zap.Uint16("uid", m.UID), zap.String("error", errText))
	}
	if limited > 0 {
		g.count("rate_limited")
		secs := max(1, int((retryAfter+time.Second-1)/time.Second))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		g.fail(w, http.StatusTooManyRequests, "rate_limit_exceeded", nil, fmt.Sprintf("every miner is busy; retry after %d s", secs))
		return
	}
	g.count("upstream_error")
	g.fail(w, http.StatusBadGateway, "upstream_error", nil, "no miner answered: "+lastErr)
}

// try sends the request to one miner. It reports done when a response
// (success or the user's own error) was written; otherwise nothing was
// written and the next miner may be tried, and rateLimited says whether
// the miner refused with 429 (busy, or this validator over its limit).
func (g *Gateway) try(ctx context.Context, w http.ResponseWriter, m miners.Miner, req *gatewayRequest, user string, ticket *billing.Ticket, upstream *time.Duration) (done bool, errText string, rateLimited bool) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
	defer cancel()
	url := "http://" + m.Address + req.path
	t0 := time.Now()
	if !req.stream {
		resp, err := g.cfg.Client.Do(ctx, http.MethodPost, url, m.Hotkey, req.body)
		*upstream += time.Since(t0)
		if err != nil {
			return false, err.Error(), isRateLimited(err)
		}
		if retryable(resp.StatusCode) {
			e := api.DecodeError(resp.Body)
			return false, fmt.Sprintf("status %d: %s", resp.StatusCode, e.Message), minerBusy(resp.StatusCode, e)
		}
		minerHeaders(w, m)
		if resp.StatusCode/100 == 2 {
			// Metered and written down before the user has the answer.
			prompt, completion := countTokens(resp.Body)
			g.meter(w.Header(), ticket, req, prompt, completion)
		}
		g.armWrite(w)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(resp.Body)
		if resp.StatusCode/100 == 2 {
			g.count("ok")
			// Reading the whole answer (logprobs and all) is the costly
			// part: only for the answers drawn for a check.
			var ans miners.Answer
			if g.wantSpotCheck() {
				if _, err := ans.Add(resp.Body); err == nil {
					g.spotCheck(m, req, &ans)
				}
			}
		} else {
			g.count("bad_request")
		}
		return true, "", false
	}
	sr, err := g.cfg.Client.Stream(ctx, http.MethodPost, url, m.Hotkey, req.body)
	// A stream's relay is paced by the miner: all of it counts as upstream.
	defer func() { *upstream += time.Since(t0) }()
	if err != nil {
		return false, err.Error(), isRateLimited(err)
	}
	defer sr.Body.Close()
	if retryable(sr.StatusCode) {
		raw, _ := io.ReadAll(io.LimitReader(sr.Body, 64<<10))
		e := api.DecodeError(raw)
		return false, fmt.Sprintf("status %d: %s", sr.StatusCode, e.Message), minerBusy(sr.StatusCode, e)
	}
	minerHeaders(w, m)
	if sr.StatusCode/100 != 2 || !strings.HasPrefix(sr.Header.Get("Content-Type"), "text/event-stream") {
		raw, err := io.ReadAll(io.LimitReader(sr.Body, transport.DefaultMaxResponseBytes))
		if err != nil {
			return false, err.Error(), false
		}
		if sr.StatusCode/100 == 2 {
			prompt, completion := countTokens(raw)
			g.meter(w.Header(), ticket, req, prompt, completion)
		}
		g.armWrite(w)
		w.Header().Set("Content-Type", sr.Header.Get("Content-Type"))
		w.WriteHeader(sr.StatusCode)
		_, _ = w.Write(raw)
		g.count(map[bool]string{true: "ok", false: "bad_request"}[sr.StatusCode/100 == 2])
		return true, "", false
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	if ticket != nil {
		// The cost is known only at the end of a stream: it follows the
		// body as trailers.
		w.Header().Set("Trailer", strings.Join([]string{HeaderTokens, HeaderCost, HeaderBalance}, ", "))
		paidHeaders(w.Header(), ticket.Account, ticket.Price)
		w.Header().Set(HeaderBalance, strconv.FormatUint(ticket.Available, 10))
	}
	g.armWrite(w)
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	var ans miners.Answer
	// A stream that ends early is billed for what it carried; the
	// deferred meter is a no-op once the stream metered itself.
	metered := false
	var receipt *billing.Receipt
	meterOnce := func() {
		if !metered {
			metered = true
			prompt, completion := ans.Tokens()
			receipt = g.meter(w.Header(), ticket, req, prompt, completion)
		}
	}
	defer meterOnce()
	events := api.NewEventReader(sr.Body, miners.MaxEventBytes)
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Headers are out: the user sees a cut stream; the miner is
			// cooled down and the cause logged.
			g.cool(m.Hotkey)
			g.count("upstream_error")
			g.cfg.Log.Warn("gateway: stream from miner broke", zap.Uint16("uid", m.UID), zap.Error(err))
			return true, "", false
		}
		g.armWrite(w)
		switch {
		case ev.Name == "error":
			fmt.Fprintf(w, "event: error\ndata: %s\n\n", ev.Data)
		case ev.Done():
			meterOnce() // written down before the user sees the end
			if receipt != nil {
				// For readers of the raw stream (curl); clients skip comments.
				fmt.Fprintf(w, ": merit account=%d tokens=%d cost=%d balance=%d\n\n", receipt.Account, receipt.Tokens, receipt.Cost, receipt.Balance)
			}
			fmt.Fprintf(w, "data: %s\n\n", ev.Data)
		default:
			_, _ = ans.Add(ev.Data)
			data := ev.Data
			if ticket != nil && isUsageChunk(data) {
				// The usage chunk the user asked for (stream_options.
				// include_usage) is the last before [DONE]: it carries
				// the cost, which stock clients cannot read from trailers.
				meterOnce()
				data = withMeritUsage(data, receipt)
			}
			fmt.Fprintf(w, "data: %s\n\n", data)
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	meterOnce()
	g.count("ok")
	g.cfg.Log.Debug("gateway: streamed", zap.String("user", user), zap.Uint16("uid", m.UID))
	if g.wantSpotCheck() {
		g.spotCheck(m, req, &ans)
	}
	return true, "", false
}

// armWrite gives the next write to the user WriteTimeout: a stream lives
// as long as it makes progress, a client that stops reading is dropped.
// (A ResponseWriter without deadlines, as in tests, is left alone.)
func (g *Gateway) armWrite(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(g.cfg.WriteTimeout))
}

// retryable statuses are the miner's problem, not the user's: another miner
// may well answer.
func retryable(status int) bool {
	return status >= 500 || status == http.StatusUnauthorized || status == http.StatusForbidden ||
		status == http.StatusTooManyRequests || status == http.StatusNotFound
}

// minerBusy says a refusal means "full, come back", not "broken": a 429,
// or a 503 whose error type is server_busy (merit-miner's full queue).
func minerBusy(status int, e api.ErrorBody) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable && e.Type == "server_busy"
}

func minerHeaders(w http.ResponseWriter, m miners.Miner) {
	w.Header().Set("X-Merit-Miner-Uid", strconv.Itoa(int(m.UID)))
	w.Header().Set("X-Merit-Miner-Hotkey", m.Hotkey)
}

// normalize parses a user's request and rewrites it so every answer can be
// verified: the subnet's model, a token limit within the subnet's, token ids
// and logprobs on, and an explicit seed for sampled requests (the verifier
// replays the sampler).
func (g *Gateway) normalize(path string, raw []byte, modelID string) (*gatewayRequest, error) {
	limit := 0
	if g.cfg.MaxTokens != nil {
		limit = g.cfg.MaxTokens()
	}
	capTokens := func(p *int) *int {
		n := limit
		if p != nil && *p > 0 && (limit == 0 || *p < limit) {
			n = *p
		}
		if n == 0 {
			return nil
		}
		return &n
	}
	seedFor := func(temp *float64, seed *uint64) (*float64, *uint64) {
		t := 1.0 // the OpenAI default, made explicit
		if temp != nil {
			t = *temp
		}
		if t < 0 || math.IsNaN(t) {
			t = 0
		}
		if seed == nil && t > 0 {
			s := randomSeed()
			seed = &s
		}
		return &t, seed
	}
	out := &gatewayRequest{path: path}
	// Each shape sets these; the engine request and body are finished below.
	var (
		wire      any
		maxTokens *int
		topP      *float64
		seed      *uint64
	)
	switch path {
	case "/v1/completions":
		var req api.CompletionRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		if req.N != nil && *req.N > 1 {
			return nil, errors.New("n > 1 is not supported")
		}
		if req.Echo {
			return nil, errors.New("echo is not supported")
		}
		if err := positiveTokens(req.MaxTokens); err != nil {
			return nil, err
		}
		req.Model = modelID
		req.MaxTokens = capTokens(req.MaxTokens)
		req.Temperature, req.Seed = seedFor(req.Temperature, req.Seed)
		req.ReturnTokenIDs = true
		if req.Logprobs == nil {
			zero := 0
			req.Logprobs = &zero
		}
		out.stream = req.Stream
		out.engine = inference.GenerateRequest{Prompt: req.Prompt.Text, PromptTokens: req.Prompt.Tokens,
			Temperature: *req.Temperature, Stop: req.Stop}
		wire, maxTokens, topP, seed = &req, req.MaxTokens, req.TopP, req.Seed
	case "/v1/chat/completions":
		var req api.ChatCompletionRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		if len(req.Messages) == 0 {
			return nil, errors.New("messages must not be empty")
		}
		if req.N != nil && *req.N > 1 {
			return nil, errors.New("n > 1 is not supported")
		}
		if err := positiveTokens(req.CompletionMaxTokens()); err != nil {
			return nil, err
		}
		req.Model = modelID
		req.MaxTokens = capTokens(req.CompletionMaxTokens())
		req.MaxCompletionTokens = nil
		req.Temperature, req.Seed = seedFor(req.Temperature, req.Seed)
		req.ReturnTokenIDs = true
		req.Logprobs = true
		out.stream = req.Stream
		msgs := make([]inference.Message, len(req.Messages))
		for i, m := range req.Messages {
			msgs[i] = inference.Message{Role: m.Role, Content: string(m.Content)}
		}
		out.engine = inference.GenerateRequest{Messages: msgs, Temperature: *req.Temperature, Stop: req.Stop}
		if req.TopLogprobs != nil {
			out.topK = *req.TopLogprobs
		}
		wire, maxTokens, topP, seed = &req, req.MaxTokens, req.TopP, req.Seed
	default:
		return nil, fmt.Errorf("unknown endpoint %s", path)
	}
	if maxTokens != nil {
		out.engine.MaxTokens = *maxTokens
		out.maxTokens = *maxTokens
	}
	if topP != nil {
		out.engine.TopP = *topP
	}
	if seed != nil {
		out.engine.Seed = *seed
	}
	body, err := json.Marshal(wire)
	if err != nil {
		return nil, err
	}
	out.body = body
	return out, nil
}

// positiveTokens refuses a token limit below 1, as OpenAI does; passing it
// on would let a miner answer at its default length.
func positiveTokens(p *int) error {
	if p != nil && *p < 1 {
		return &paramError{param: "max_tokens", msg: fmt.Sprintf("max_tokens must be at least 1, got %d", *p)}
	}
	return nil
}

// randomSeed is a secret non-zero seed. crypto/rand.Read does not fail
// (since Go 1.24 it crashes the program instead).
func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
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

// wantSpotCheck draws whether to verify this answer (--spot-check).
func (g *Gateway) wantSpotCheck() bool {
	return g.cfg.SpotCheck > 0 && mrand.Float64() < g.cfg.SpotCheck
}

// spotCheck verifies a fraction of answers in the background; a failure
// disqualifies the miner for the current round like a failed probe.
func (g *Gateway) spotCheck(m miners.Miner, req *gatewayRequest, ans *miners.Answer) {
	ref := g.cfg.Reference()
	if ref == nil || (!ref.Local() && req.engine.Temperature > 0) {
		g.spot("skipped") // remote references cannot replay sampling
		return
	}
	parts, err := ans.Parts(req.topK > 0)
	if err != nil {
		g.spot("failed")
		g.cfg.Log.Warn("gateway spot check: unreadable answer", zap.Uint16("uid", m.UID), zap.Error(err))
		g.cfg.Record(miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: miners.ResultInvalid, Reason: "malformed", Detail: err.Error(), SpotCheck: true})
		return
	}
	select {
	case g.checks <- struct{}{}:
	default:
		g.spot("skipped") // verification is falling behind traffic
		return
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer func() { <-g.checks }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res := ref.Verify(ctx, reference.Check{Request: req.engine, Parts: parts})
		switch {
		case res.Err != nil:
			g.spot("error")
			g.cfg.Log.Warn("gateway spot check could not run", zap.Uint16("uid", m.UID), zap.Error(res.Err))
		case !res.OK:
			g.spot("failed")
			if g.cfg.Metrics != nil {
				g.cfg.Metrics.VerificationFailures.WithLabelValues(res.Reason).Inc()
			}
			g.cfg.Log.Warn("gateway spot check failed verification", zap.Uint16("uid", m.UID), zap.String("hotkey", m.Hotkey),
				zap.String("reason", res.Reason), zap.String("detail", res.Detail))
			g.cfg.Record(miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: miners.ResultFailedVerification, Reason: res.Reason, Detail: res.Detail, SpotCheck: true})
		default:
			g.spot("ok")
			g.cfg.Record(miners.Outcome{UID: m.UID, Hotkey: m.Hotkey, Result: miners.ResultOK, SpotCheck: true})
		}
	}()
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

func (g *Gateway) spot(result string) {
	if g.cfg.Metrics != nil {
		g.cfg.Metrics.SpotChecks.WithLabelValues(result).Inc()
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

// paramError is a bad request naming the offending field.
type paramError struct {
	param string
	msg   string
}

func (e *paramError) Error() string { return e.msg }

// Package validator is the merit-validator daemon: it keeps the metagraph of
// its subnet, probes miners with generated prompts, verifies every answer
// against the subnet's reference model, scores correctness and speed, and
// commits and reveals weights on the chain's schedule. It also serves a
// dashboard, Prometheus metrics and an OpenAI-compatible gateway for users.
// docs/validator.md describes how to run it and how it scores.
package validator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/client/transport"
	"github.com/meritnet/merit/internal/connlimit"
	"github.com/meritnet/merit/internal/logthrottle"
	"github.com/meritnet/merit/validator/dashboard"
	"github.com/meritnet/merit/validator/gateway"
	"github.com/meritnet/merit/validator/miners"
	"github.com/meritnet/merit/validator/reference"
)

// Config is what `run` takes; zero values get the defaults below.
type Config struct {
	// Home holds the pending commits and saved scores.
	Home   string
	Netuid uint32

	ProbeInterval    time.Duration // default 5s
	ProbeTimeout     time.Duration // default 20s
	ProbeConcurrency int           // miners probed at once, default 4
	PromptsPerProbe  int           // prompts per miner per round, default 2
	// MaxTokens per probe; 0 is the subnet task's max_tokens.
	MaxTokens int
	EMAAlpha  float64 // default 0.3
	// Seed of the prompt generator; 0 draws a secret random one.
	Seed uint64

	Reference reference.Config

	// Listen is host:port of the dashboard, metrics and gateway ("" = off).
	Listen string
	// GatewayKeys is the operator's API keys file (free keys; optional).
	GatewayKeys string
	// Paid is how the gateway takes payment from x/payment accounts.
	Paid PaidConfig
	// SpotCheck is the fraction of gateway answers verified.
	SpotCheck float64

	// PollInterval is the metagraph poll when the block stream is down.
	PollInterval time.Duration

	// HTTP bounds what callers of Listen can hold (timeouts, connections
	// per client).
	HTTP HTTPLimits

	// AllowPrivateEndpoints lets the validator call miners on loopback,
	// link-local and private addresses (local networks and tests only).
	AllowPrivateEndpoints bool
}

func (c *Config) defaults() {
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = 5 * time.Second
	}
	if c.ProbeTimeout <= 0 {
		c.ProbeTimeout = 20 * time.Second
	}
	if c.ProbeConcurrency <= 0 {
		c.ProbeConcurrency = 4
	}
	if c.PromptsPerProbe <= 0 {
		c.PromptsPerProbe = 2
	}
	if !(c.EMAAlpha > 0 && c.EMAAlpha <= 1) {
		c.EMAAlpha = 0.3
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	c.HTTP.defaults()
}

// Validate rejects settings that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Home == "":
		return errors.New("home directory is required")
	case c.Netuid == 0:
		return errors.New("netuid must be at least 1")
	case c.MaxTokens < 0:
		return errors.New("max tokens must not be negative")
	case c.SpotCheck < 0 || c.SpotCheck > 1:
		return fmt.Errorf("spot-check %v must be within [0, 1]", c.SpotCheck)
	case c.EMAAlpha < 0 || c.EMAAlpha > 1:
		return fmt.Errorf("ema-alpha %v must be within (0, 1]", c.EMAAlpha)
	}
	return nil
}

// maxConnsPerMiner bounds the connections to one miner (probes and
// gateway together).
const maxConnsPerMiner = 48

// Validator is a running validator.
type Validator struct {
	cfg     Config
	chain   chain.Chain
	id      *identity.Identity
	log     *zap.Logger
	sync    *Syncer
	scorer  *Scorer
	prompts *PromptGenerator
	asker   *Asker
	commits *CommitStore
	submit  *Submitter
	metrics *Metrics
	history *dashboard.History
	gateway *gateway.Gateway
	settler *settler // nil when the gateway is off
	ref     atomic.Pointer[reference.Reference]

	lastSub atomic.Pointer[Submission]
	// seen holds each miner's last probe result class, so that a miner that
	// stays down is logged when it goes down, not every round.
	seenMu   sync.Mutex
	seen     map[string]string
	listener net.Listener
	// guard refuses miner endpoints that point inward; guardLog throttles
	// the refusals' log lines per miner.
	guard    *endpointGuard
	guardLog *logthrottle.Throttle
	ready    chan struct{}
	readyOne sync.Once
}

// New prepares a validator: it opens the home directory and loads pending
// commits and saved scores, and binds the HTTP listener (so Addr works
// before Run). Nothing talks to the chain until Run.
func New(cfg Config, c chain.Chain, id *identity.Identity, log *zap.Logger) (*Validator, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if c == nil || id == nil {
		return nil, errors.New("validator needs a chain client and an identity")
	}
	if log == nil {
		log = zap.NewNop()
	}
	// The home holds commit salts that must stay secret until revealed.
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return nil, fmt.Errorf("home %s: %w", cfg.Home, err)
	}
	store, err := OpenCommitStore(cfg.Home)
	if err != nil {
		return nil, err
	}
	client, pacer, err := newMinerClient(cfg, id)
	if err != nil {
		return nil, err
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = randomSeed()
	}
	v := &Validator{
		cfg: cfg, chain: c, id: id, log: log,
		scorer:  NewScorer(cfg.EMAAlpha),
		prompts: NewPromptGenerator(seed),
		asker:   NewAsker(AskerConfig{Client: client, Timeout: cfg.ProbeTimeout, Pacer: pacer}),
		commits: store,
		metrics: NewMetrics(),
		history: dashboard.NewHistory(240),
		ready:   make(chan struct{}),
		seen:    map[string]string{},
		guard:   newEndpointGuard(cfg.AllowPrivateEndpoints, nil),
		// A refused endpoint stays refused; once in ten minutes keeps it visible.
		guardLog: logthrottle.New(10 * time.Minute),
	}
	v.sync = NewSyncer(c, cfg.Netuid, id.Address(), cfg.PollInterval, log.Named("sync"), v.onSnapshot)
	v.resume()
	v.submit = NewSubmitter(SubmitterConfig{Chain: c, ID: id, Store: store, Scores: v.weightScores, Log: log.Named("weights"),
		Metrics: v.metrics, OnSubmit: func(s Submission) { v.lastSub.Store(&s) }})
	if err := v.newGateway(client, pacer); err != nil {
		return nil, err
	}
	if cfg.Listen != "" {
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			if v.settler != nil {
				// The ledger holds its file; a caller that retries must find it free.
				_ = v.settler.meter.Ledger().Close()
			}
			return nil, fmt.Errorf("listen %s: %w", cfg.Listen, err)
		}
		v.listener = l
	}
	if n := len(store.List()); n > 0 {
		log.Info("loaded pending commits", zap.Int("count", n), zap.String("file", store.Path()))
	}
	return v, nil
}

// newMinerClient is the client every request to a miner goes through,
// signed with the hotkey. Limits come from each request's context (probe
// timeout, gateway timeout), not from the transport: a miner sends its
// headers with the first token, and a long non-streamed gateway answer
// sends them last.
func newMinerClient(cfg Config, id *identity.Identity) (*transport.Client, *Pacer, error) {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivateEndpoints {
		dialer.Control = dialControl
	}
	// Every request signed with the hotkey spends its rate limit at the
	// miner, so all of them go through one pacer (pace.go).
	pacer := NewPacer(cfg.PromptsPerProbe)
	client, err := transport.NewClient(id, &http.Client{Transport: pacer.Transport(&http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second,
		// Below a miner's cap per client address (merit-miner's default
		// 64): past it a request waits for a connection instead of being
		// refused at the door.
		MaxConnsPerHost:     maxConnsPerMiner,
		TLSHandshakeTimeout: 10 * time.Second,
	})})
	if err != nil {
		return nil, nil, err
	}
	return client, pacer, nil
}

// resume restores the scores saved in the home by the same hotkey on the
// same subnet.
func (v *Validator) resume() {
	st, err := LoadState(v.cfg.Home)
	switch {
	case err != nil:
		v.log.Warn("saved scores unreadable; starting from zero", zap.Error(err))
	case st != nil && st.Netuid == v.cfg.Netuid && st.Hotkey == v.id.Address():
		v.scorer.Restore(st.Scores, st.Round)
		v.metrics.SetScores(v.scorer.Scores())
		if st.LastWeights != nil {
			v.lastSub.Store(st.LastWeights)
		}
		v.log.Info("resumed saved scores", zap.Int("miners", len(st.Scores)), zap.Uint64("round", st.Round))
	}
}

// newGateway builds the gateway: free keys from the keys file, and paid
// ones through the settler when the validator listens.
func (v *Validator) newGateway(client *transport.Client, pacer *Pacer) error {
	var keys *gateway.APIKeys
	if v.cfg.GatewayKeys != "" {
		var err error
		if keys, err = gateway.LoadAPIKeys(v.cfg.GatewayKeys); err != nil {
			return err
		}
	}
	gw := gateway.Config{
		Keys: keys, Client: client, SpotCheck: v.cfg.SpotCheck, Miners: v.gatewayMiners,
		Reference: v.ref.Load, MaxTokens: v.taskMaxTokens, Record: v.scorer.Record, WriteTimeout: v.cfg.HTTP.WriteTimeout,
		Metrics: v.metrics.gateway(), Log: v.log.Named("gateway"), Pace: pacer.Acquire, RetryAfter: pacer.RetryAfter,
	}
	if v.cfg.Listen != "" {
		var err error
		if v.settler, err = newSettler(v, v.cfg.Paid); err != nil {
			return err
		}
		v.settler.wire(&gw)
	}
	v.gateway = gateway.New(gw)
	return nil
}

// Addr is the bound dashboard/gateway address ("" when not listening).
func (v *Validator) Addr() string {
	if v.listener == nil {
		return ""
	}
	return v.listener.Addr().String()
}

// Ready is closed once the first metagraph and the reference model are in
// place and probing has started.
func (v *Validator) Ready() <-chan struct{} { return v.ready }

// Scores returns the current scores.
func (v *Validator) Scores() []MinerScore { return v.scorer.Scores() }

// Commits returns the pending commits.
func (v *Validator) Commits() []PendingCommit { return v.commits.List() }

// Run works until ctx ends: sync, probe rounds, weight submissions, and the
// HTTP server. It waits for the first metagraph as long as it takes (a
// validator outlives its node's restarts), and returns an error only when
// it cannot start: the subnet's reference model is not available.
// Everything after that is retried and logged.
func (v *Validator) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	srv := v.serve(&wg)
	started := false
	// Whichever way Run returns: stop every goroutine, then save the
	// scores once nothing changes them any more.
	defer func() {
		cancel()
		v.shutdown(srv, &wg)
		if started {
			v.saveState()
		}
	}()

	wg.Add(1)
	go func() { defer wg.Done(); v.sync.Run(ctx) }()
	mg, err := v.sync.WaitFirst(ctx)
	if err != nil {
		return fmt.Errorf("no metagraph for subnet %d: %w", v.cfg.Netuid, err)
	}
	if err := v.ensureReference(ctx, mg); err != nil {
		return err
	}
	v.logStart(mg)

	started = true
	if v.settler != nil {
		wg.Add(2)
		go func() { defer wg.Done(); v.settler.book.Run(ctx) }()
		go func() { defer wg.Done(); v.settler.run(ctx) }()
	}
	wg.Add(3)
	go func() { defer wg.Done(); v.probeLoop(ctx) }()
	go func() { defer wg.Done(); v.weightsLoop(ctx) }()
	go func() { defer wg.Done(); v.backfillEmissions(ctx, mg) }()
	v.readyOne.Do(func() { close(v.ready) })
	<-ctx.Done()
	return nil
}

// serve starts the HTTP server on the bound listener (nil when there is
// none).
func (v *Validator) serve(wg *sync.WaitGroup) *http.Server {
	if v.listener == nil {
		return nil
	}
	srv := newHTTPServer(v.Handler(), v.cfg.HTTP)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(connlimit.PerIP(v.listener, v.cfg.HTTP.MaxConnsPerIP, nil)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			v.log.Error("http server stopped", zap.Error(err))
		}
	}()
	v.log.Info("dashboard, metrics and gateway listening", zap.String("addr", v.Addr()))
	return srv
}

// shutdown stops what Run started once its context is cancelled: the
// HTTP server first (it does not watch the context), then waits for the
// goroutines and spot checks, and closes the usage ledger.
func (v *Validator) shutdown(srv *http.Server, wg *sync.WaitGroup) {
	if srv != nil {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		_ = srv.Shutdown(sctx)
		c()
	}
	wg.Wait()
	v.gateway.Wait()
	if v.settler != nil {
		if err := v.settler.meter.Ledger().Close(); err != nil {
			v.log.Error("usage ledger not closed cleanly", zap.Error(err))
		}
	}
}

// logStart says what the validator starts with.
func (v *Validator) logStart(mg *Metagraph) {
	v.log.Info("validator started", zap.String("hotkey", v.id.Address()), zap.Uint32("netuid", v.cfg.Netuid),
		zap.Int("uid", mg.SelfUID()), zap.Bool("permit", mg.HasPermit()), zap.String("task_model", mg.Subnet.Task.ModelID()),
		zap.Uint64("tempo", mg.Hyperparams().Tempo), zap.Bool("commit_reveal", mg.Hyperparams().CommitRevealEnabled),
		zap.Bool("prompt_seed_fixed", v.cfg.Seed != 0))
	if mg.Self == nil {
		v.log.Warn("this hotkey is not registered on the subnet: probing still runs, weights wait for registration",
			zap.String("hotkey", v.id.Address()))
	}
}

// ensureReference builds (or rebuilds, when the subnet's task changed) the
// reference model.
func (v *Validator) ensureReference(ctx context.Context, mg *Metagraph) error {
	id := mg.Subnet.Task.ModelID()
	if cur := v.ref.Load(); cur != nil && cur.ModelID == id {
		return nil
	}
	ref, err := reference.New(ctx, mg.Subnet.Task, v.cfg.Reference)
	if err != nil {
		return fmt.Errorf("reference model for subnet %d: %w", v.cfg.Netuid, err)
	}
	v.ref.Store(ref)
	v.log.Info("reference model ready", zap.String("model", id), zap.String("engine", ref.Engine.Info().Format))
	return nil
}

// backfillEmissions seeds the emission plot from the chain's payout
// history, one neuron at a time (it is only a picture; errors are logged).
func (v *Validator) backfillEmissions(ctx context.Context, mg *Metagraph) {
	for _, n := range mg.Neurons {
		if ctx.Err() != nil {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		recs, err := v.chain.NeuronHistory(qctx, mg.Netuid, n.Neuron.Uid, 0)
		cancel()
		if err != nil {
			v.log.Debug("no emission history", zap.Uint32("uid", n.Neuron.Uid), zap.Error(err))
			continue
		}
		v.history.Backfill(uint16(n.Neuron.Uid), n.Neuron.Hotkey, recs)
	}
}

// onSnapshot runs after every metagraph refresh.
func (v *Validator) onSnapshot(mg *Metagraph) {
	v.metrics.Height.Set(float64(mg.Height))
	v.history.AddEmissions(mg.Neurons)
}

// weightsLoop steps the submitter on every new snapshot.
func (v *Validator) weightsLoop(ctx context.Context) {
	for {
		ch := v.sync.Updated()
		if mg := v.sync.Current(); mg != nil {
			v.submit.Step(ctx, mg)
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

func (v *Validator) taskMaxTokens() int {
	if mg := v.sync.Current(); mg != nil {
		return int(mg.Subnet.Task.MaxTokens)
	}
	return 0
}

// weightScores are the smoothed scores of the miners currently registered.
func (v *Validator) weightScores() map[uint16]float64 {
	out := map[uint16]float64{}
	for _, s := range v.scorer.Scores() {
		out[s.UID] = s.Score
	}
	return out
}

// gatewayMiners ranks miners for user traffic: serving the task's model,
// best score first; before any miner has a score, all of them in UID order.
func (v *Validator) gatewayMiners() []miners.Miner {
	mg := v.sync.Current()
	ref := v.ref.Load()
	if mg == nil || ref == nil {
		return nil
	}
	scores := map[uint16]MinerScore{}
	for _, s := range v.scorer.Scores() {
		scores[s.UID] = s
	}
	var scored, unscored []miners.Miner
	for _, m := range v.callable(context.Background(), mg.Miners()) {
		if m.ModelID != "" && m.ModelID != ref.ModelID {
			continue
		}
		s, ok := scores[m.UID]
		switch {
		case ok && s.Hotkey == m.Hotkey && s.Score > 0:
			scored = append(scored, m)
		case !ok || s.Rounds == 0:
			unscored = append(unscored, m)
		}
	}
	sort.SliceStable(scored, func(i, j int) bool { return scores[scored[i].UID].Score > scores[scored[j].UID].Score })
	if len(scored) > 0 {
		return scored
	}
	return unscored
}

// callable drops miners whose endpoint the guard refuses, logging each
// refusal when it starts and then at most every ten minutes. A skipped
// miner gets no outcome, so its score decays like a silent miner's.
func (v *Validator) callable(ctx context.Context, miners []miners.Miner) []miners.Miner {
	out := miners[:0:0]
	for _, m := range miners {
		err := v.guard.check(ctx, m.Address)
		key := m.Hotkey + "@" + m.Address
		if err == nil {
			if v.guardLog.Clear(key) {
				v.log.Info("miner endpoint accepted again", zap.Uint16("uid", m.UID), zap.String("address", m.Address))
			}
			out = append(out, m)
			continue
		}
		if ctx.Err() == nil && v.guardLog.Allow(key, time.Now()) {
			v.log.Warn("miner endpoint refused; not calling it", zap.Uint16("uid", m.UID), zap.String("hotkey", m.Hotkey),
				zap.String("address", m.Address), zap.Error(err))
		}
	}
	return out
}

// saveState writes the scores for restarts and `status`.
func (v *Validator) saveState() {
	st := &SavedState{Netuid: v.cfg.Netuid, Hotkey: v.id.Address(), UpdatedAt: time.Now().UTC(),
		Round: v.scorer.Round(), Scores: v.scorer.Scores(), LastWeights: v.lastSub.Load()}
	if mg := v.sync.Current(); mg != nil {
		st.Height = mg.Height
	}
	if err := SaveState(v.cfg.Home, st); err != nil {
		v.log.Warn("cannot save scores", zap.Error(err))
	}
}

// Handler is the HTTP surface: dashboard, metrics, health, gateway.
func (v *Validator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", dashboard.Handler(v.dashboardData))
	mux.Handle("/metrics", v.metrics.Handler())
	mux.HandleFunc("/healthz", v.healthz)
	mux.Handle("/v1/", v.gateway) // the gateway answers unknown /v1 paths itself

	return mux
}

// healthz is 200 when the metagraph is fresh (within a minute) and the
// reference model loaded, 503 otherwise, with a one-line reason.
func (v *Validator) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	mg := v.sync.Current()
	switch {
	case mg == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "not synced: %s\n", v.sync.LastErrorText())
	case time.Since(mg.ReadAt) > time.Minute:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "metagraph stale since height %d: %s\n", mg.Height, v.sync.LastErrorText())
	case v.ref.Load() == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "reference model not loaded")
	default:
		fmt.Fprintf(w, "ok height %d\n", mg.Height)
	}
}

package miner

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/internal/backoff"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// ProtocolVersion is the miner API version announced on-chain: v1 is the
// signed transport of docs/transport.md with the OpenAI-compatible routes.
const ProtocolVersion = 1

// Publisher keeps the neuron's on-chain endpoint equal to what this miner
// serves: it sends MsgServeEndpoint when they differ (at start, and again
// whenever the chain's copy changes, e.g. after re-registration), within
// the subnet's serving_rate_limit.
type Publisher struct {
	chain   chain.Broadcaster
	id      *identity.Identity
	netuid  uint32
	want    subnettypes.Endpoint
	watcher *Watcher
	log     *zap.Logger
	metrics *Metrics

	mu    sync.Mutex
	state string // stateCurrent etc.; logged when it changes
}

// States of the on-chain endpoint, as observe last saw it.
const (
	stateCurrent      = "current"
	stateStale        = "stale"
	stateUnregistered = "unregistered"
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	Chain    chain.Broadcaster
	Identity *identity.Identity
	Netuid   uint32
	// Address is host:port as validators reach the miner; ModelID the
	// served model.
	Address string
	ModelID string
	Watcher *Watcher
	Logger  *zap.Logger
	Metrics *Metrics
}

// NewPublisher returns a publisher; Run starts it.
func NewPublisher(cfg PublisherConfig) *Publisher {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	return &Publisher{
		chain: cfg.Chain, id: cfg.Identity, netuid: cfg.Netuid, watcher: cfg.Watcher, log: cfg.Logger, metrics: cfg.Metrics,
		want: subnettypes.Endpoint{Address: cfg.Address, ProtocolVersion: ProtocolVersion, ModelId: cfg.ModelID},
	}
}

// Current reports whether the chain's endpoint matched at the last check.
func (p *Publisher) Current() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state == stateCurrent
}

func (p *Publisher) setState(state string, log func()) {
	p.mu.Lock()
	changed := p.state != state
	p.state = state
	p.mu.Unlock()
	if state == stateCurrent {
		p.metrics.endpointCurrent.Set(1)
	} else {
		p.metrics.endpointCurrent.Set(0)
	}
	if changed {
		log()
	}
}

// Run publishes until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	updates := p.watcher.Subscribe()
	ticker := time.NewTicker(5 * time.Second)
	defer ticker.Stop()
	st := newPublishState()
	for {
		p.check(ctx, st)
		select {
		case <-ctx.Done():
			return
		case <-updates:
		case <-ticker.C:
		}
	}
}

// publishState is what Run remembers between checks.
type publishState struct {
	// includedAt is the height of our last successful update: snapshots
	// older than it cannot show it yet, so they must not trigger another.
	includedAt int64
	notBefore  time.Time        // a short pause after the chain's rate limit
	retry      *backoff.Backoff // after other errors
}

func newPublishState() *publishState {
	return &publishState{retry: backoff.New(5*time.Second, 5*time.Minute)}
}

// observe records whether snapshot s shows the wanted endpoint, logging
// changes; false means an update is due (or impossible: unregistered).
func (p *Publisher) observe(s *Snapshot) bool {
	if s.Self == nil {
		p.setState(stateUnregistered, func() {
			p.log.Error("hotkey is not registered on the subnet (pruned?); validators will stop calling and no rewards accrue; run `merit-miner register`",
				zap.Uint32("netuid", p.netuid), zap.String("hotkey", p.id.Address()), zap.Int64("block", s.Block))
		})
		return true
	}
	have := s.Self.Neuron.Endpoint
	if have.Address == p.want.Address && have.ProtocolVersion == p.want.ProtocolVersion && have.ModelId == p.want.ModelId {
		p.setState(stateCurrent, func() {
			p.log.Info("endpoint is on chain", zap.String("address", have.Address), zap.String("model", have.ModelId),
				zap.Uint32("uid", s.Self.Neuron.Uid), zap.Int64("updated_at", have.UpdatedAt))
		})
		return true
	}
	p.setState(stateStale, func() {
		p.log.Info("on-chain endpoint differs from what this miner serves; publishing",
			zap.String("on_chain", have.Address), zap.String("on_chain_model", have.ModelId),
			zap.String("address", p.want.Address), zap.String("model", p.want.ModelId))
	})
	return false
}

func (p *Publisher) check(ctx context.Context, st *publishState) {
	s := p.watcher.Current()
	if s == nil || p.observe(s) {
		return
	}
	if now := time.Now(); s.Block < st.includedAt || now.Before(st.notBefore) || !st.retry.Ready(now) {
		return
	}
	// The tx lands in the next block at the earliest; the chain accepts
	// an update once serving_rate_limit blocks passed since the last.
	have := s.Self.Neuron.Endpoint
	limit := int64(s.Subnet.Hyperparams.ServingRateLimit)
	if have.UpdatedAt > 0 && s.Block+1-have.UpdatedAt < limit {
		p.log.Debug("endpoint update waits for serving_rate_limit", zap.Int64("allowed_at", have.UpdatedAt+limit), zap.Int64("block", s.Block))
		return
	}
	msg := &subnettypes.MsgServeEndpoint{
		Hotkey: p.id.Address(), Netuid: p.netuid, Address: p.want.Address,
		ProtocolVersion: p.want.ProtocolVersion, ModelId: p.want.ModelId,
	}
	res, err := p.chain.Broadcast(ctx, p.id, msg)
	switch {
	case err == nil:
		p.metrics.endpointUpdates.WithLabelValues("ok").Inc()
		st.includedAt = res.Height
		st.retry.Reset()
		p.log.Info("endpoint published", zap.String("address", p.want.Address), zap.String("model", p.want.ModelId),
			zap.Int64("height", res.Height), zap.String("tx", res.Hash))
		if p.watcher.Refresh(ctx) == nil {
			p.observe(p.watcher.Current())
		}
	case ctx.Err() != nil:
	case isRateLimited(err):
		// Our view of the chain was behind; the next snapshots show when.
		p.metrics.endpointUpdates.WithLabelValues("rate_limited").Inc()
		p.log.Info("endpoint update rate limited by the chain; retrying when allowed", zap.Error(err))
		st.notBefore = time.Now().Add(2 * time.Second)
	default:
		p.metrics.endpointUpdates.WithLabelValues("error").Inc()
		d := st.retry.Fail(time.Now())
		p.log.Warn("endpoint update failed; retrying", zap.Error(err), zap.Duration("retry_in", d))
	}
}

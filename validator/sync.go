package validator

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Metagraph is the validator's snapshot of its subnet at one height.
type Metagraph struct {
	Height  int64
	Netuid  uint32
	Subnet  subnettypes.Subnet
	Neurons []subnettypes.MetagraphNeuron
	// Epoch is the subnet's epoch counter, LastEpochBlock the block of the
	// last epoch, NextEpochBlock the next block whose EndBlock runs one.
	Epoch          uint64
	LastEpochBlock int64
	NextEpochBlock int64
	// Self is the validator's own neuron, nil when its hotkey is not
	// registered on the subnet.
	Self   *subnettypes.MetagraphNeuron
	ReadAt time.Time
}

// Hyperparams is a shortcut to the subnet's hyperparameters.
func (m *Metagraph) Hyperparams() subnettypes.Hyperparams { return m.Subnet.Hyperparams }

// SelfUID is the validator's UID, or -1.
func (m *Metagraph) SelfUID() int {
	if m.Self == nil {
		return -1
	}
	return int(m.Self.Neuron.Uid)
}

// HasPermit reports whether the validator holds a validator permit.
func (m *Metagraph) HasPermit() bool { return m.Self != nil && m.Self.Neuron.ValidatorPermit }

// Miner is a neuron the validator can probe.
type Miner struct {
	UID     uint16
	Hotkey  string
	Address string // host:port
	ModelID string // as announced on-chain
}

// Miners lists the neurons with an endpoint, except the validator itself.
func (m *Metagraph) Miners() []Miner {
	var out []Miner
	for _, n := range m.Neurons {
		if m.Self != nil && n.Neuron.Hotkey == m.Self.Neuron.Hotkey {
			continue
		}
		if n.Neuron.Endpoint.Address == "" {
			continue
		}
		out = append(out, Miner{UID: uint16(n.Neuron.Uid), Hotkey: n.Neuron.Hotkey,
			Address: n.Neuron.Endpoint.Address, ModelID: n.Neuron.Endpoint.ModelId})
	}
	return out
}

// Registered maps every UID except the validator's own to its hotkey.
func (m *Metagraph) Registered() map[uint16]string {
	out := make(map[uint16]string, len(m.Neurons))
	for _, n := range m.Neurons {
		if m.Self != nil && n.Neuron.Uid == m.Self.Neuron.Uid {
			continue
		}
		out[uint16(n.Neuron.Uid)] = n.Neuron.Hotkey
	}
	return out
}

// Limits are the weight rules of the subnet for this validator.
func (m *Metagraph) Limits() WeightLimits {
	h := m.Hyperparams()
	return WeightLimits{N: m.Subnet.N, Self: m.SelfUID(), MinAllowedWeights: h.MinAllowedWeights, MaxWeightLimit: h.MaxWeightLimit}
}

// Syncer keeps the current Metagraph: refreshed on every block of the
// chain's block stream, and by polling whenever the stream is down or
// quiet, so a broken websocket only slows the validator down.
type Syncer struct {
	chain  chain.Chain
	netuid uint32
	hotkey string
	log    *zap.Logger
	poll   time.Duration
	// OnUpdate, if set, is called after every successful refresh.
	OnUpdate func(*Metagraph)

	cur     atomic.Pointer[Metagraph]
	mu      sync.Mutex
	waiters []chan struct{}
	lastErr atomic.Pointer[string]
}

// NewSyncer watches netuid for the validator with hotkey.
func NewSyncer(c chain.Chain, netuid uint32, hotkey string, poll time.Duration, log *zap.Logger) *Syncer {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Syncer{chain: c, netuid: netuid, hotkey: hotkey, log: log, poll: poll}
}

// Current is the latest snapshot, nil before the first successful refresh.
func (s *Syncer) Current() *Metagraph { return s.cur.Load() }

// Updated returns a channel closed at the next successful refresh.
func (s *Syncer) Updated() <-chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	return ch
}

// LastError is the last refresh error ("" after a success).
func (s *Syncer) LastError() string {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

// Refresh reads the metagraph and epoch schedule once.
func (s *Syncer) Refresh(ctx context.Context) (*Metagraph, error) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	mg, err := s.chain.Metagraph(qctx, s.netuid)
	if err != nil {
		return nil, s.fail(fmt.Errorf("metagraph of subnet %d: %w", s.netuid, err))
	}
	ep, err := s.chain.EpochState(qctx, s.netuid)
	if err != nil {
		return nil, s.fail(fmt.Errorf("epoch state of subnet %d: %w", s.netuid, err))
	}
	m := &Metagraph{
		Height: mg.Block, Netuid: s.netuid, Subnet: mg.Subnet, Neurons: mg.Neurons,
		Epoch: ep.State.Epoch, LastEpochBlock: ep.State.LastEpochBlock, NextEpochBlock: ep.NextEpochBlock,
		ReadAt: time.Now(),
	}
	for i := range m.Neurons {
		if m.Neurons[i].Neuron.Hotkey == s.hotkey {
			m.Self = &m.Neurons[i]
		}
	}
	// Never step back: two refreshes may finish out of order.
	if old := s.cur.Load(); old != nil && old.Height > m.Height {
		return old, nil
	}
	s.cur.Store(m)
	empty := ""
	s.lastErr.Store(&empty)
	if s.OnUpdate != nil {
		s.OnUpdate(m)
	}
	s.mu.Lock()
	ws := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
	return m, nil
}

func (s *Syncer) fail(err error) error {
	msg := err.Error()
	s.lastErr.Store(&msg)
	return err
}

// Run refreshes on every block until ctx ends. The stream is (re)opened
// with backoff; while it is down, or when no block arrived for a poll
// interval, the metagraph is polled instead.
func (s *Syncer) Run(ctx context.Context) {
	var blocks <-chan chain.Block
	backoff := time.Second
	nextStreamTry := time.Now()
	ticker := time.NewTicker(s.poll)
	defer ticker.Stop()
	lastRefresh := time.Time{}
	refresh := func(why string) {
		if _, err := s.Refresh(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("metagraph refresh failed", zap.String("trigger", why), zap.Error(err))
			}
			return
		}
		lastRefresh = time.Now()
	}
	refresh("start")
	for {
		if blocks == nil && !time.Now().Before(nextStreamTry) {
			ch, err := s.chain.Blocks(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Warn("block stream unavailable; polling", zap.Error(err), zap.Duration("retry_in", backoff))
				nextStreamTry = time.Now().Add(backoff)
				backoff = min(2*backoff, time.Minute)
			} else {
				blocks, backoff = ch, time.Second
			}
		}
		select {
		case <-ctx.Done():
			return
		case b, ok := <-blocks:
			if !ok {
				if ctx.Err() != nil {
					return
				}
				s.log.Warn("block stream closed; polling until it reopens")
				blocks = nil
				nextStreamTry = time.Now().Add(backoff)
				continue
			}
			// Skip blocks already covered by a newer snapshot (a replayed gap).
			if cur := s.Current(); cur != nil && cur.Height >= b.Height {
				continue
			}
			refresh("block")
		case <-ticker.C:
			if time.Since(lastRefresh) >= s.poll {
				refresh("poll")
			}
		}
	}
}

// WaitFirst blocks until the first snapshot exists or ctx ends.
func (s *Syncer) WaitFirst(ctx context.Context) (*Metagraph, error) {
	for {
		if m := s.Current(); m != nil {
			return m, nil
		}
		ch := s.Updated()
		if m := s.Current(); m != nil {
			return m, nil
		}
		select {
		case <-ctx.Done():
			if e := s.LastError(); e != "" {
				return nil, fmt.Errorf("%w (last error: %s)", ctx.Err(), e)
			}
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

type commitsReader interface {
	Commits(ctx context.Context, netuid uint32, hotkey string) ([]scoringtypes.CommitInfo, error)
}

// commitsOf is a helper for the chain's Commits query with a timeout.
func commitsOf(ctx context.Context, c commitsReader, netuid uint32, hotkey string) ([]scoringtypes.CommitInfo, error) {
	qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Commits(qctx, netuid, hotkey)
}

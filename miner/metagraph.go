package miner

import (
	"context"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// Snapshot is one metagraph reading reduced to what the miner decides
// with. It is immutable once published.
type Snapshot struct {
	Block   int64
	Fetched time.Time
	Subnet  subnettypes.Subnet
	// Self is this miner's row, nil when its hotkey is not registered.
	Self *subnettypes.MetagraphNeuron
	// Permitted maps each hotkey holding a validator permit to its rate
	// factor max(1, n_permitted × stake / permitted_stake): validators with
	// more stake may ask more often, none less than the base rate.
	Permitted map[string]float64
	// Registered holds every hotkey of the subnet, for clearer refusals.
	Registered map[string]bool
}

// NewSnapshot reduces a metagraph; self is the miner's hotkey.
func NewSnapshot(mg *subnettypes.QueryMetagraphResponse, self string, fetched time.Time) *Snapshot {
	s := &Snapshot{
		Block: mg.Block, Fetched: fetched, Subnet: mg.Subnet,
		Permitted: map[string]float64{}, Registered: make(map[string]bool, len(mg.Neurons)),
	}
	total := new(big.Float)
	stakes := map[string]*big.Float{}
	for i := range mg.Neurons {
		row := &mg.Neurons[i]
		hk := row.Neuron.Hotkey
		s.Registered[hk] = true
		if hk == self {
			r := *row
			s.Self = &r
		}
		if !row.Neuron.ValidatorPermit {
			continue
		}
		st := new(big.Float)
		if !row.Stake.IsNil() && row.Stake.IsPositive() {
			st.SetInt(row.Stake.BigInt())
		}
		stakes[hk] = st
		total.Add(total, st)
	}
	n := float64(len(stakes))
	totalF, _ := total.Float64()
	for hk, st := range stakes {
		f := 1.0
		if totalF > 0 {
			sf, _ := st.Float64()
			f = max(1, n*sf/totalF)
		}
		s.Permitted[hk] = f
	}
	return s
}

// MetagraphSource is where the access check and the endpoint publisher read
// the current metagraph from.
type MetagraphSource interface {
	Current() *Snapshot
}

// StaticMetagraph is a fixed snapshot, for tests and for allowlist-only
// servers.
type StaticMetagraph struct{ S *Snapshot }

// Current implements MetagraphSource.
func (s StaticMetagraph) Current() *Snapshot { return s.S }

// Watcher keeps a fresh metagraph of one subnet: it refreshes on every new
// block of the chain's block stream, and on a timer in case the stream is
// down. When the chain cannot be reached it keeps the last good copy (access
// decisions go on, based on slightly old permits) and says so in the log.
type Watcher struct {
	chain   chain.Chain
	netuid  uint32
	self    string
	poll    time.Duration
	timeout time.Duration
	log     *zap.Logger
	metrics *Metrics

	cur atomic.Pointer[Snapshot]

	mu   sync.Mutex
	subs []chan struct{}

	failing    bool
	lastFailed time.Time
}

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	Chain  chain.Chain
	Netuid uint32
	// Self is the miner's hotkey address.
	Self string
	// Poll is the fallback refresh interval (default 30 s).
	Poll time.Duration
	// Timeout bounds one metagraph query (default 10 s).
	Timeout time.Duration
	Logger  *zap.Logger
	Metrics *Metrics
}

// NewWatcher returns a watcher without a snapshot; call Refresh once before
// serving, then Run.
func NewWatcher(cfg WatcherConfig) *Watcher {
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Watcher{chain: cfg.Chain, netuid: cfg.Netuid, self: cfg.Self, poll: cfg.Poll, timeout: cfg.Timeout, log: cfg.Logger, metrics: cfg.Metrics}
}

// Current is the latest good snapshot (nil before the first refresh).
func (w *Watcher) Current() *Snapshot { return w.cur.Load() }

// Subscribe returns a channel that receives a signal after each refresh
// that produced a new snapshot. Signals coalesce: a slow reader sees the
// latest state through Current.
func (w *Watcher) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.subs = append(w.subs, ch)
	w.mu.Unlock()
	return ch
}

// Refresh reads the metagraph once and publishes it.
func (w *Watcher) Refresh(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	mg, err := w.chain.Metagraph(qctx, w.netuid)
	if err != nil {
		w.noteFailure(err)
		return err
	}
	s := NewSnapshot(mg, w.self, time.Now())
	if old := w.cur.Load(); old != nil && old.Block > s.Block {
		return nil // an answer from a lagging node; keep the newer copy
	}
	w.cur.Store(s)
	w.noteSuccess(s)
	w.mu.Lock()
	for _, ch := range w.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
	return nil
}

func (w *Watcher) noteFailure(err error) {
	if w.metrics != nil {
		w.metrics.metagraphFailures.Inc()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// One warning when the trouble starts and one a minute while it lasts:
	// a chain outage must be visible without drowning the log.
	if w.failing && time.Since(w.lastFailed) < time.Minute {
		return
	}
	w.failing, w.lastFailed = true, time.Now()
	fields := []zap.Field{zap.Uint32("netuid", w.netuid), zap.Error(err)}
	if s := w.cur.Load(); s != nil {
		fields = append(fields, zap.Int64("using_block", s.Block), zap.Duration("copy_age", time.Since(s.Fetched).Round(time.Second)))
	}
	w.log.Warn("metagraph refresh failed; keeping the last good copy", fields...)
}

func (w *Watcher) noteSuccess(s *Snapshot) {
	if m := w.metrics; m != nil {
		m.metagraphBlock.Set(float64(s.Block))
		m.permittedValidators.Set(float64(len(s.Permitted)))
		if s.Self != nil {
			m.registered.Set(1)
		} else {
			m.registered.Set(0)
		}
	}
	w.mu.Lock()
	recovered := w.failing
	w.failing = false
	w.mu.Unlock()
	if recovered {
		w.log.Info("metagraph refresh works again", zap.Int64("block", s.Block))
	}
}

// Run refreshes until ctx ends: on every block of the stream, and every
// Poll interval without one.
func (w *Watcher) Run(ctx context.Context) {
	ticker := time.NewTicker(w.poll)
	defer ticker.Stop()
	var blocks <-chan chain.Block
	retryStream := time.After(0)
	backoff := time.Second
	for {
		select {
		case <-ctx.Done():
			return
		case <-retryStream:
			retryStream = nil
			ch, err := w.chain.Blocks(ctx)
			if err != nil {
				w.log.Warn("block stream unavailable; polling the metagraph instead", zap.Error(err), zap.Duration("retry_in", backoff))
				retryStream = time.After(backoff)
				backoff = min(2*backoff, 2*time.Minute)
				continue
			}
			blocks, backoff = ch, time.Second
		case _, ok := <-blocks:
			if !ok {
				if ctx.Err() != nil {
					return
				}
				blocks = nil
				retryStream = time.After(backoff)
				continue
			}
			// Drain what queued up meanwhile: one refresh answers them all.
			for drained := false; !drained; {
				select {
				case _, ok := <-blocks:
					if !ok {
						drained = true
					}
				default:
					drained = true
				}
			}
			_ = w.Refresh(ctx)
		case <-ticker.C:
			if s := w.Current(); s == nil || time.Since(s.Fetched) >= w.poll {
				_ = w.Refresh(ctx)
			}
		}
	}
}

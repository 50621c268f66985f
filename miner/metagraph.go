package miner

import (
	"context"
	"math/big"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/internal/logthrottle"
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

// Watcher keeps a fresh metagraph of one subnet with a chain.Follower: it
// refreshes on every new block, and on a timer in case the stream is down.
// When the chain cannot be reached it keeps the last good copy (access
// decisions go on, based on slightly old permits) and says so in the log.
type Watcher struct {
	*chain.Follower[Snapshot]

	netuid  uint32
	log     *zap.Logger
	metrics *Metrics
	warn    *logthrottle.Throttle
}

// WatcherChain is what a Watcher reads.
type WatcherChain interface {
	chain.MetagraphReader
	chain.BlockStreamer
}

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	Chain  WatcherChain
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
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	w := &Watcher{netuid: cfg.Netuid, log: cfg.Logger, metrics: cfg.Metrics, warn: logthrottle.New(time.Minute)}
	read := func(ctx context.Context) (*Snapshot, int64, error) {
		mg, err := cfg.Chain.Metagraph(ctx, cfg.Netuid)
		if err != nil {
			return nil, 0, err
		}
		return NewSnapshot(mg, cfg.Self, time.Now()), mg.Block, nil
	}
	w.Follower = chain.NewFollower(cfg.Chain, read, chain.FollowOptions[Snapshot]{
		Poll: cfg.Poll, Timeout: cfg.Timeout,
		OnUpdate: w.noteSuccess, OnError: w.noteFailure,
		OnStreamDown: func(err error, retryIn time.Duration) {
			w.log.Warn("block stream unavailable; polling the metagraph instead", zap.Error(err), zap.Duration("retry_in", retryIn))
		},
	})
	return w
}

// Refresh reads the metagraph once and publishes it.
func (w *Watcher) Refresh(ctx context.Context) error {
	_, err := w.Follower.Refresh(ctx)
	return err
}

const refreshFailing = "refresh"

func (w *Watcher) noteFailure(err error) {
	if w.metrics != nil {
		w.metrics.metagraphFailures.Inc()
	}
	// One warning when the trouble starts and one a minute while it lasts:
	// a chain outage must be visible without drowning the log.
	if !w.warn.Allow(refreshFailing, time.Now()) {
		return
	}
	fields := []zap.Field{zap.Uint32("netuid", w.netuid), zap.Error(err)}
	if s := w.Current(); s != nil {
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
	if w.warn.Clear(refreshFailing) {
		w.log.Info("metagraph refresh works again", zap.Int64("block", s.Block))
	}
}

package validator

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/internal/logthrottle"
	"github.com/meritnet/merit/validator/miners"
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

// Miners lists the neurons with an endpoint, except the validator itself.
func (m *Metagraph) Miners() []miners.Miner {
	var out []miners.Miner
	for _, n := range m.Neurons {
		if m.Self != nil && n.Neuron.Hotkey == m.Self.Neuron.Hotkey {
			continue
		}
		if n.Neuron.Endpoint.Address == "" {
			continue
		}
		out = append(out, miners.Miner{UID: uint16(n.Neuron.Uid), Hotkey: n.Neuron.Hotkey,
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

// Syncer keeps the current Metagraph with a chain.Follower: refreshed on
// every block of the chain's block stream, and by polling whenever the
// stream is down or quiet, so a broken websocket only slows the validator
// down.
type Syncer struct {
	*chain.Follower[Metagraph]
}

// SyncChain is what a Syncer reads.
type SyncChain interface {
	chain.MetagraphReader
	chain.BlockStreamer
	EpochState(ctx context.Context, netuid uint32) (*scoringtypes.QueryEpochStateResponse, error)
}

// NewSyncer watches netuid for the validator with hotkey; onUpdate, if set,
// sees every new snapshot.
func NewSyncer(c SyncChain, netuid uint32, hotkey string, poll time.Duration, log *zap.Logger, onUpdate func(*Metagraph)) *Syncer {
	if log == nil {
		log = zap.NewNop()
	}
	read := func(ctx context.Context) (*Metagraph, int64, error) {
		m, err := readMetagraph(ctx, c, netuid, hotkey)
		if err != nil {
			return nil, 0, err
		}
		return m, m.Height, nil
	}
	warn := logthrottle.New(time.Minute)
	return &Syncer{chain.NewFollower(c, read, chain.FollowOptions[Metagraph]{
		Poll: poll, OnUpdate: onUpdate,
		OnError: func(err error) {
			if warn.Allow("refresh", time.Now()) {
				log.Warn("metagraph refresh failed", zap.Error(err))
			}
		},
		OnStreamDown: func(err error, retryIn time.Duration) {
			log.Warn("block stream unavailable; polling", zap.Error(err), zap.Duration("retry_in", retryIn))
		},
	})}
}

// readMetagraph reads the metagraph and epoch schedule once.
func readMetagraph(ctx context.Context, c SyncChain, netuid uint32, hotkey string) (*Metagraph, error) {
	mg, err := c.Metagraph(ctx, netuid)
	if err != nil {
		return nil, fmt.Errorf("metagraph of subnet %d: %w", netuid, err)
	}
	ep, err := c.EpochState(ctx, netuid)
	if err != nil {
		return nil, fmt.Errorf("epoch state of subnet %d: %w", netuid, err)
	}
	m := &Metagraph{
		Height: mg.Block, Netuid: netuid, Subnet: mg.Subnet, Neurons: mg.Neurons,
		Epoch: ep.State.Epoch, LastEpochBlock: ep.State.LastEpochBlock, NextEpochBlock: ep.NextEpochBlock,
		ReadAt: time.Now(),
	}
	for i := range m.Neurons {
		if m.Neurons[i].Neuron.Hotkey == hotkey {
			m.Self = &m.Neurons[i]
		}
	}
	return m, nil
}

// LastErrorText is the last refresh error, "" after a success.
func (s *Syncer) LastErrorText() string {
	if err := s.LastError(); err != nil {
		return err.Error()
	}
	return ""
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

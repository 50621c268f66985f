// Package chaintest is an in-memory chain.Chain for fast unit tests of the
// daemons: one subnet with its neurons, blocks that the test mines, epochs
// at the chain's schedule, the rules of the messages the daemons send
// (endpoint and weights rate limits, registration price, commit-reveal
// windows), and a block stream. Integration tests use a real meritd
// (testutil/localchain) instead.
package chaintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	errorsmod "cosmossdk.io/errors"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/gogoproto/proto"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// ErrDown is what queries return while State.Down is set.
var ErrDown = errors.New("chaintest: connection refused")

// ChainID is the fake chain's id.
const ChainID = "fake-1"

// State is everything the fake chain holds. Tests read and change it inside
// Update.
type State struct {
	Height int64
	// Epoch counts the subnet's epochs; LastEpochBlock is the last one's.
	Epoch          uint64
	LastEpochBlock int64
	Subnet         subnettypes.Subnet
	Neurons        []subnettypes.MetagraphNeuron
	Price          sdkmath.Int // registration burn
	Balance        sdkmath.Int // of every account
	// Commits are the pending weight commits by hotkey, Weights the stored
	// rows by UID.
	Commits map[string][]scoringtypes.WeightCommit
	Weights map[uint32]scoringtypes.WeightsRow
	// Down makes every query fail with ErrDown.
	Down bool

	// Payment is x/payment's state.
	Payment PaymentState
}

// Neuron is hotkey's row, nil when it is not registered.
func (s *State) Neuron(hotkey string) *subnettypes.MetagraphNeuron {
	for i := range s.Neurons {
		if s.Neurons[i].Neuron.Hotkey == hotkey {
			return &s.Neurons[i]
		}
	}
	return nil
}

// Chain is the fake. It is safe for concurrent use.
type Chain struct {
	mu     sync.Mutex
	st     State
	sent   []sdk.Msg
	hook   func(m sdk.Msg, height int64) error
	anyway bool
	blocks chan chain.Block
	// maxAccount is the highest x/payment account id ever listed as changed.
	maxAccount uint64
}

var _ chain.Chain = (*Chain)(nil)

var accAddr = address.NewBech32Codec(chain.AccountPrefix)

// New is a chain at height with one subnet and no neurons; registering
// burns 1000 umerit and every account holds 10^9 umerit.
func New(subnet subnettypes.Subnet, height int64) *Chain {
	return &Chain{
		st: State{
			Height: height, Subnet: subnet, Price: sdkmath.NewInt(1000), Balance: sdkmath.NewInt(1_000_000_000),
			Commits: map[string][]scoringtypes.WeightCommit{}, Weights: map[uint32]scoringtypes.WeightsRow{},
		},
		blocks: make(chan chain.Block, 16),
	}
}

// Update runs fn with the chain's state, under the chain's lock.
func (f *Chain) Update(fn func(s *State)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.st)
}

// AddNeuron registers hotkey (owned by itself) at the current height with
// stake and a validator permit or not, and returns its UID.
func (f *Chain) AddNeuron(hotkey string, stake int64, permit bool) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addNeuron(hotkey, hotkey, sdkmath.NewInt(stake), permit, f.st.Height)
}

func (f *Chain) addNeuron(hotkey, owner string, stake sdkmath.Int, permit bool, at int64) uint32 {
	uid := uint32(len(f.st.Neurons))
	f.st.Neurons = append(f.st.Neurons, subnettypes.MetagraphNeuron{
		Neuron: subnettypes.Neuron{Uid: uid, Hotkey: hotkey, Owner: owner, RegisteredAt: at, LastUpdate: at,
			ValidatorPermit: permit, LastEmission: sdkmath.ZeroInt()},
		Stake: stake,
	})
	f.st.Subnet.N = uint32(len(f.st.Neurons))
	return uid
}

// RemoveNeuron deregisters hotkey (as pruning would).
func (f *Chain) RemoveNeuron(hotkey string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.st.Neurons[:0]
	for _, n := range f.st.Neurons {
		if n.Neuron.Hotkey != hotkey {
			out = append(out, n)
		}
	}
	f.st.Neurons = out
	f.st.Subnet.N = uint32(len(out))
}

// Advance mines n blocks, running the subnet's epoch where due, and
// announces the last one on the block stream.
func (f *Chain) Advance(n int) {
	f.mu.Lock()
	for range n {
		f.endBlock()
	}
	h := f.st.Height
	f.mu.Unlock()
	select {
	case f.blocks <- chain.Block{Height: h}:
	default:
	}
}

// endBlock closes block Height+1; the epoch runs where the chain runs it.
func (f *Chain) endBlock() {
	f.st.Height++
	if tempo := f.st.Subnet.Hyperparams.Tempo; tempo > 0 && (uint64(f.st.Height)+uint64(f.st.Subnet.Netuid))%tempo == 0 {
		f.st.Epoch++
		f.st.LastEpochBlock = f.st.Height
	}
}

// Sent is every message a Broadcast was asked to send, in order, whether
// or not it was included.
func (f *Chain) Sent() []sdk.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sdk.Msg(nil), f.sent...)
}

// SetHook installs fn, called with each message of a Broadcast and the
// height of the block it would land in, before it is applied. fn runs
// under the chain's lock: it must not call the chain. When fn returns an
// error the broadcast returns it; with includeAnyway the transaction lands
// all the same (a lost answer), otherwise nothing is applied. nil removes
// the hook.
func (f *Chain) SetHook(fn func(m sdk.Msg, height int64) error, includeAnyway bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook, f.anyway = fn, includeAnyway
}

// FailNext makes the next Broadcast fail with err without applying it.
func (f *Chain) FailNext(err error) {
	f.SetHook(func(sdk.Msg, int64) error {
		f.hook = nil // runs under f.mu
		return err
	}, false)
}

func (f *Chain) query(netuid uint32) error {
	if f.st.Down {
		return ErrDown
	}
	if netuid != f.st.Subnet.Netuid {
		return fmt.Errorf("%w: subnet %d", chain.ErrNotFound, netuid)
	}
	return nil
}

// ChainID implements chain.StatusReader.
func (f *Chain) ChainID() string { return ChainID }

// Height implements chain.StatusReader.
func (f *Chain) Height(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Down {
		return 0, ErrDown
	}
	return f.st.Height, nil
}

// Metagraph implements chain.MetagraphReader.
func (f *Chain) Metagraph(_ context.Context, netuid uint32) (*subnettypes.QueryMetagraphResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.query(netuid); err != nil {
		return nil, err
	}
	return &subnettypes.QueryMetagraphResponse{Subnet: f.st.Subnet, Block: f.st.Height, RegistrationPrice: f.st.Price,
		Neurons: append([]subnettypes.MetagraphNeuron(nil), f.st.Neurons...)}, nil
}

// Subnet implements chain.SubnetReader.
func (f *Chain) Subnet(_ context.Context, netuid uint32) (subnettypes.Subnet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.query(netuid); err != nil {
		return subnettypes.Subnet{}, err
	}
	return f.st.Subnet, nil
}

// NeuronByHotkey implements chain.SubnetReader.
func (f *Chain) NeuronByHotkey(_ context.Context, netuid uint32, hotkey string) (subnettypes.Neuron, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.query(netuid); err != nil {
		return subnettypes.Neuron{}, err
	}
	if n := f.st.Neuron(hotkey); n != nil {
		return n.Neuron, nil
	}
	return subnettypes.Neuron{}, fmt.Errorf("%w: hotkey %s", chain.ErrNotFound, hotkey)
}

// RegistrationPrice implements chain.SubnetReader.
func (f *Chain) RegistrationPrice(_ context.Context, netuid uint32) (sdkmath.Int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.query(netuid); err != nil {
		return sdkmath.Int{}, err
	}
	return f.st.Price, nil
}

// nextEpochBlock is the first block after from whose EndBlock runs an epoch.
func (f *Chain) nextEpochBlock(from int64) int64 {
	tempo, netuid := f.st.Subnet.Hyperparams.Tempo, uint64(f.st.Subnet.Netuid)
	if tempo == 0 {
		return 0
	}
	next := from
	for (uint64(next)+netuid)%tempo != 0 {
		next++
	}
	return next
}

// EpochState implements chain.ScoringReader.
func (f *Chain) EpochState(_ context.Context, netuid uint32) (*scoringtypes.QueryEpochStateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.query(netuid); err != nil {
		return nil, err
	}
	return &scoringtypes.QueryEpochStateResponse{
		State:          scoringtypes.EpochState{Epoch: f.st.Epoch, LastEpochBlock: f.st.LastEpochBlock},
		NextEpochBlock: f.nextEpochBlock(f.st.Height + 1), Tempo: f.st.Subnet.Hyperparams.Tempo,
	}, nil
}

// Commits implements chain.ScoringReader: a commit is revealed in the
// epoch RevealPeriod epochs after the one it was made in.
func (f *Chain) Commits(_ context.Context, netuid uint32, hotkey string) ([]scoringtypes.CommitInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.query(netuid); err != nil {
		return nil, err
	}
	h := f.st.Subnet.Hyperparams
	var out []scoringtypes.CommitInfo
	for _, c := range f.st.Commits[hotkey] {
		ep := f.nextEpochBlock(c.CommitBlock) + int64((h.RevealPeriod-1)*h.Tempo)
		out = append(out, scoringtypes.CommitInfo{Commit: c, RevealFrom: ep + 1, RevealUntil: ep + int64(h.Tempo)})
	}
	return out, nil
}

// Weights implements chain.ScoringReader.
func (f *Chain) Weights(_ context.Context, netuid, uid uint32) (scoringtypes.WeightsRow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.query(netuid); err != nil {
		return scoringtypes.WeightsRow{}, err
	}
	return f.st.Weights[uid], nil
}

// NeuronHistory implements chain.EmissionReader: the fake pays nobody.
func (f *Chain) NeuronHistory(_ context.Context, netuid, _, _ uint32) ([]emissiontypes.NeuronEmission, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return nil, f.query(netuid)
}

// Balance implements chain.BankReader.
func (f *Chain) Balance(context.Context, string) (sdkmath.Int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.st.Down {
		return sdkmath.Int{}, ErrDown
	}
	return f.st.Balance, nil
}

// Blocks implements chain.BlockStreamer: the blocks Advance announces.
func (f *Chain) Blocks(ctx context.Context) (<-chan chain.Block, error) {
	out := make(chan chain.Block)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-f.blocks:
				select {
				case out <- b:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Close implements chain.Chain.
func (f *Chain) Close() error { return nil }

// Broadcast implements chain.Broadcaster. The messages run in the next
// block, which is mined at once. A message the chain's rules refuse fails
// the way a real node refuses it: a *chain.TxError at simulation, with the
// module's codespace and code, and nothing applied.
func (f *Chain) Broadcast(_ context.Context, _ *identity.Identity, msgs ...sdk.Msg) (*chain.TxResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, msgs...)
	var hookErr error
	if f.hook != nil {
		for _, m := range msgs {
			if err := f.hook(m, f.st.Height+1); err != nil {
				if !f.anyway {
					return nil, err
				}
				hookErr = err
			}
		}
	}
	// Rules are checked against a copy so that a refused tx changes nothing.
	saved := f.snapshot()
	h := f.st.Height + 1
	var responses []*codectypes.Any
	for _, m := range msgs {
		res, err := f.apply(m, h)
		if err != nil {
			f.st = saved
			space, code, log := errorsmod.ABCIInfo(err, false)
			return nil, &chain.TxError{Stage: chain.StageSimulate, Codespace: space, Code: code, Log: log}
		}
		if res != nil {
			a, err := codectypes.NewAnyWithValue(res)
			if err != nil {
				return nil, err
			}
			responses = append(responses, a)
		}
	}
	f.endBlock()
	if hookErr != nil {
		return nil, hookErr
	}
	data, err := proto.Marshal(&sdk.TxMsgData{MsgResponses: responses})
	if err != nil {
		return nil, err
	}
	return &chain.TxResult{Hash: fmt.Sprintf("TX%d", h), Height: h, Data: data}, nil
}

// Snapshot is a deep copy of the chain's state: safe to read while
// daemons use the chain (Update's state is shared with them).
func (f *Chain) Snapshot() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snapshot()
}

// snapshot deep-copies what apply changes.
func (f *Chain) snapshot() State {
	s := f.st
	s.Neurons = append([]subnettypes.MetagraphNeuron(nil), f.st.Neurons...)
	s.Commits = make(map[string][]scoringtypes.WeightCommit, len(f.st.Commits))
	for k, v := range f.st.Commits {
		s.Commits[k] = append([]scoringtypes.WeightCommit(nil), v...)
	}
	s.Weights = make(map[uint32]scoringtypes.WeightsRow, len(f.st.Weights))
	for k, v := range f.st.Weights {
		s.Weights[k] = v
	}
	s.Payment = f.st.Payment.clone()
	return s
}

func (f *Chain) neuronOf(hotkey string) (*subnettypes.MetagraphNeuron, error) {
	if n := f.st.Neuron(hotkey); n != nil {
		return n, nil
	}
	return nil, subnettypes.ErrNeuronNotFound.Wrapf("hotkey %s on subnet %d", hotkey, f.st.Subnet.Netuid)
}

// weightsRateLimited applies x/scoring's rate limit to a set or commit at h.
func (f *Chain) weightsRateLimited(n *subnettypes.Neuron, h int64) error {
	lim := int64(f.st.Subnet.Hyperparams.WeightsRateLimit)
	if n.LastUpdate > n.RegisteredAt && h < n.LastUpdate+lim {
		return scoringtypes.ErrRateLimited.Wrapf("next allowed at %d", n.LastUpdate+lim)
	}
	return nil
}

// apply runs one message at height h and returns its response, if any.
func (f *Chain) apply(m sdk.Msg, h int64) (proto.Message, error) {
	if res, ok, err := f.applyPayment(m, h); ok {
		return res, err
	}
	switch msg := m.(type) {
	case *subnettypes.MsgRegisterNeuron:
		if f.st.Neuron(msg.Hotkey) != nil {
			return nil, subnettypes.ErrAlreadyRegistered
		}
		if f.st.Price.GT(msg.MaxBurn) {
			return nil, subnettypes.ErrPriceTooHigh.Wrapf("price %s above max burn %s", f.st.Price, msg.MaxBurn)
		}
		uid := f.addNeuron(msg.Hotkey, msg.Owner, sdkmath.ZeroInt(), false, h)
		return &subnettypes.MsgRegisterNeuronResponse{Uid: uid, Burned: f.st.Price}, nil
	case *subnettypes.MsgServeEndpoint:
		n, err := f.neuronOf(msg.Hotkey)
		if err != nil {
			return nil, err
		}
		lim := int64(f.st.Subnet.Hyperparams.ServingRateLimit)
		if n.Neuron.Endpoint.UpdatedAt > 0 && h-n.Neuron.Endpoint.UpdatedAt < lim {
			return nil, subnettypes.ErrRateLimited.Wrapf("next update allowed at %d", n.Neuron.Endpoint.UpdatedAt+lim)
		}
		n.Neuron.Endpoint = subnettypes.Endpoint{Address: msg.Address, ProtocolVersion: msg.ProtocolVersion, ModelId: msg.ModelId, UpdatedAt: h}
	case *scoringtypes.MsgSetWeights:
		n, err := f.neuronOf(msg.Hotkey)
		if err != nil {
			return nil, err
		}
		if err := f.weightsRateLimited(&n.Neuron, h); err != nil {
			return nil, err
		}
		f.st.Weights[n.Neuron.Uid] = scoringtypes.WeightsRow{Uids: msg.Uids, Values: msg.Weights, SetAt: h}
		n.Neuron.LastUpdate = h
	case *scoringtypes.MsgCommitWeights:
		n, err := f.neuronOf(msg.Hotkey)
		if err != nil {
			return nil, err
		}
		if err := f.weightsRateLimited(&n.Neuron, h); err != nil {
			return nil, err
		}
		f.st.Commits[msg.Hotkey] = append(f.st.Commits[msg.Hotkey], scoringtypes.WeightCommit{CommitHash: msg.CommitHash, CommitBlock: h, CommitEpoch: f.st.Epoch})
		n.Neuron.LastUpdate = h
	case *scoringtypes.MsgRevealWeights:
		return nil, f.reveal(msg)
	default:
		return nil, fmt.Errorf("chaintest: %T is not supported", m)
	}
	return nil, nil
}

// reveal matches a reveal to a pending commit by hash; it must come in the
// epoch RevealPeriod after the commit's.
func (f *Chain) reveal(msg *scoringtypes.MsgRevealWeights) error {
	n, err := f.neuronOf(msg.Hotkey)
	if err != nil {
		return err
	}
	raw, err := accAddr.StringToBytes(msg.Hotkey)
	if err != nil {
		return err
	}
	want := scoringtypes.CommitHash(raw, msg.Netuid, msg.Uids, msg.Weights, msg.Salt, msg.VersionKey)
	cs := f.st.Commits[msg.Hotkey]
	for i, c := range cs {
		if !bytes.Equal(c.CommitHash, want) {
			continue
		}
		if due := c.CommitEpoch + f.st.Subnet.Hyperparams.RevealPeriod; f.st.Epoch != due {
			return scoringtypes.ErrRevealWindow.Wrapf("reveal during epoch %d, now %d", due, f.st.Epoch)
		}
		f.st.Weights[n.Neuron.Uid] = scoringtypes.WeightsRow{Uids: msg.Uids, Values: msg.Weights, SetAt: c.CommitBlock}
		f.st.Commits[msg.Hotkey] = append(cs[:i:i], cs[i+1:]...)
		return nil
	}
	return scoringtypes.ErrNoMatchingCommit
}

package validator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/client/identity"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// newIdentity makes a fresh secp256k1 hotkey in an in-memory keyring.
func newIdentity(t testing.TB, name string) *identity.Identity {
	t.Helper()
	kr, err := identity.Open(identity.BackendMemory, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := kr.NewMnemonic(name, keyring.English, sdk.FullFundraiserPath, "", hd.Secp256k1); err != nil {
		t.Fatal(err)
	}
	id, err := identity.Load(kr, name, identity.WithCachedKey())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var meritAddr = address.NewBech32Codec("merit")

// fakeChain is a small model of x/subnet and x/scoring for the weights
// logic: blocks, staggered epochs, the rate limit, commits with their
// reveal epoch, and weight rows. A broadcast is included in the next block.
type fakeChain struct {
	mu     sync.Mutex
	netuid uint32
	height int64
	epoch  uint64
	lastEp int64
	subnet subnettypes.Subnet
	neuron []subnettypes.MetagraphNeuron
	// commits by hotkey address
	commits map[string][]scoringtypes.WeightCommit
	weights map[uint32]scoringtypes.WeightsRow
	msgs    []sdk.Msg
	// hook runs before a broadcast is applied; an error is returned as is
	// (nothing applied), unless includeAnyway is set, in which case the tx
	// lands and the error is still returned (a lost result).
	hook          func(msg sdk.Msg) error
	includeAnyway bool
	idForTest     *identity.Identity
}

func newFakeChain(tempo uint64, commitReveal bool, self *identity.Identity, miners int) *fakeChain {
	h := subnettypes.DefaultHyperparams()
	h.Tempo, h.CommitRevealEnabled, h.RevealPeriod, h.WeightsRateLimit = tempo, commitReveal, 1, 2
	f := &fakeChain{netuid: 1, height: 1, commits: map[string][]scoringtypes.WeightCommit{}, weights: map[uint32]scoringtypes.WeightsRow{}}
	f.subnet = subnettypes.Subnet{Netuid: 1, Name: "test", Hyperparams: h,
		Task: subnettypes.Task{ModelName: "merit-tiny", ModelSha256: "2f27905e0378c0ede9f74e1d1f4ff843657e08571013367bcc5465e377523467", EngineFormat: "llama2c", MaxTokens: 16}}
	add := func(hotkey string, permit bool) {
		uid := uint32(len(f.neuron))
		f.neuron = append(f.neuron, subnettypes.MetagraphNeuron{
			Neuron: subnettypes.Neuron{Uid: uid, Hotkey: hotkey, RegisteredAt: 1, LastUpdate: 1, ValidatorPermit: permit,
				LastEmission: sdkmath.ZeroInt()},
			Stake: sdkmath.NewInt(1000),
		})
	}
	add(self.Address(), true)
	for i := range miners {
		add(fmt.Sprintf("miner%d", i), false)
	}
	f.subnet.N = uint32(len(f.neuron))
	return f
}

func (f *fakeChain) metagraph(t testing.TB, self string) *Metagraph {
	t.Helper()
	s := NewSyncer(f, f.netuid, self, 0, nil)
	mg, err := s.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return mg
}

// advance mines n empty blocks.
func (f *fakeChain) advance(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.endBlock()
	}
}

// endBlock closes block height+1, running the epoch when due.
func (f *fakeChain) endBlock() {
	f.height++
	if (uint64(f.height)+uint64(f.netuid))%f.subnet.Hyperparams.Tempo == 0 {
		f.epoch++
		f.lastEp = f.height
	}
}

func (f *fakeChain) ChainID() string { return "fake-1" }
func (f *fakeChain) Height(context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.height, nil
}
func (f *fakeChain) Metagraph(_ context.Context, netuid uint32) (*subnettypes.QueryMetagraphResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if netuid != f.netuid {
		return nil, chain.ErrNotFound
	}
	ns := make([]subnettypes.MetagraphNeuron, len(f.neuron))
	copy(ns, f.neuron)
	return &subnettypes.QueryMetagraphResponse{Subnet: f.subnet, Block: f.height, Neurons: ns}, nil
}
func (f *fakeChain) Subnet(context.Context, uint32) (subnettypes.Subnet, error) { return f.subnet, nil }
func (f *fakeChain) NeuronByHotkey(context.Context, uint32, string) (subnettypes.Neuron, error) {
	return subnettypes.Neuron{}, chain.ErrNotFound
}
func (f *fakeChain) RegistrationPrice(context.Context, uint32) (sdkmath.Int, error) {
	return sdkmath.ZeroInt(), nil
}
func (f *fakeChain) EpochState(_ context.Context, netuid uint32) (*scoringtypes.QueryEpochStateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.subnet.Hyperparams.Tempo
	next := f.height + 1
	for (uint64(next)+uint64(netuid))%t != 0 {
		next++
	}
	return &scoringtypes.QueryEpochStateResponse{State: scoringtypes.EpochState{Epoch: f.epoch, LastEpochBlock: f.lastEp},
		NextEpochBlock: next, Tempo: t}, nil
}
func (f *fakeChain) Commits(_ context.Context, netuid uint32, hotkey string) ([]scoringtypes.CommitInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []scoringtypes.CommitInfo
	h := f.subnet.Hyperparams
	for _, c := range f.commits[hotkey] {
		next := c.CommitBlock
		for (uint64(next)+uint64(netuid))%h.Tempo != 0 {
			next++
		}
		ep := next + int64((h.RevealPeriod-1)*h.Tempo)
		out = append(out, scoringtypes.CommitInfo{Commit: c, RevealFrom: ep + 1, RevealUntil: ep + int64(h.Tempo)})
	}
	return out, nil
}
func (f *fakeChain) NeuronHistory(context.Context, uint32, uint32, uint32) ([]emissiontypes.NeuronEmission, error) {
	return nil, nil
}
func (f *fakeChain) Balance(context.Context, string) (sdkmath.Int, error) {
	return sdkmath.ZeroInt(), nil
}
func (f *fakeChain) Blocks(ctx context.Context) (<-chan chain.Block, error) {
	return nil, errors.New("fake chain has no block stream")
}
func (f *fakeChain) Close() error { return nil }

func (f *fakeChain) Broadcast(_ context.Context, signer *identity.Identity, msgs ...sdk.Msg) (*chain.TxResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hookErr error
	for _, m := range msgs {
		if f.hook != nil {
			if err := f.hook(m); err != nil {
				if !f.includeAnyway {
					return nil, err
				}
				hookErr = err
			}
		}
	}
	// Included in the next block: the messages run at height+1.
	h := f.height + 1
	for _, m := range msgs {
		f.msgs = append(f.msgs, m)
		if err := f.apply(signer, m, h); err != nil {
			f.endBlock()
			return &chain.TxResult{Height: h, Code: 1, Log: err.Error()}, &chain.TxError{Stage: chain.StageDeliver, Height: h, Codespace: "scoring", Code: code(err), Log: err.Error()}
		}
	}
	f.endBlock()
	if hookErr != nil {
		return nil, hookErr
	}
	return &chain.TxResult{Hash: fmt.Sprintf("TX%d", h), Height: h}, nil
}

func code(err error) uint32 {
	for _, e := range []interface {
		error
		ABCICode() uint32
	}{scoringtypes.ErrRateLimited, scoringtypes.ErrNoMatchingCommit, scoringtypes.ErrRevealWindow, scoringtypes.ErrNoPermit, scoringtypes.ErrTooManyCommits} {
		if errors.Is(err, e) {
			return e.ABCICode()
		}
	}
	return 99
}

func (f *fakeChain) self(hotkey string) *subnettypes.Neuron {
	for i := range f.neuron {
		if f.neuron[i].Neuron.Hotkey == hotkey {
			return &f.neuron[i].Neuron
		}
	}
	return nil
}

func (f *fakeChain) rateLimited(n *subnettypes.Neuron, h int64) error {
	if n.LastUpdate > n.RegisteredAt && h < n.LastUpdate+int64(f.subnet.Hyperparams.WeightsRateLimit) {
		return scoringtypes.ErrRateLimited.Wrapf("next allowed at %d", n.LastUpdate+int64(f.subnet.Hyperparams.WeightsRateLimit))
	}
	return nil
}

func (f *fakeChain) apply(signer *identity.Identity, m sdk.Msg, h int64) error {
	switch msg := m.(type) {
	case *scoringtypes.MsgCommitWeights:
		n := f.self(msg.Hotkey)
		if err := f.rateLimited(n, h); err != nil {
			return err
		}
		f.commits[msg.Hotkey] = append(f.commits[msg.Hotkey], scoringtypes.WeightCommit{CommitHash: msg.CommitHash, CommitBlock: h, CommitEpoch: f.epoch})
		n.LastUpdate = h
	case *scoringtypes.MsgRevealWeights:
		n := f.self(msg.Hotkey)
		raw, _ := meritAddr.StringToBytes(msg.Hotkey)
		want := scoringtypes.CommitHash(raw, msg.Netuid, msg.Uids, msg.Weights, msg.Salt, msg.VersionKey)
		cs := f.commits[msg.Hotkey]
		for i, c := range cs {
			if !bytes.Equal(c.CommitHash, want) {
				continue
			}
			if due := c.CommitEpoch + f.subnet.Hyperparams.RevealPeriod; f.epoch != due {
				return scoringtypes.ErrRevealWindow.Wrapf("reveal during epoch %d, now %d", due, f.epoch)
			}
			f.weights[n.Uid] = scoringtypes.WeightsRow{Uids: msg.Uids, Values: msg.Weights, SetAt: c.CommitBlock}
			f.commits[msg.Hotkey] = append(cs[:i:i], cs[i+1:]...)
			return nil
		}
		return scoringtypes.ErrNoMatchingCommit
	case *scoringtypes.MsgSetWeights:
		n := f.self(msg.Hotkey)
		if err := f.rateLimited(n, h); err != nil {
			return err
		}
		f.weights[n.Uid] = scoringtypes.WeightsRow{Uids: msg.Uids, Values: msg.Weights, SetAt: h}
		n.LastUpdate = h
	default:
		return fmt.Errorf("unexpected %T", m)
	}
	return nil
}

func (f *fakeChain) sent() []sdk.Msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sdk.Msg(nil), f.msgs...)
}

var _ chain.Chain = (*fakeChain)(nil)

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// validator loads the sender's neuron and subnet and checks what every weight
// message needs: registration, a permit, the version key. It also returns the
// decoded hotkey, which commits are keyed by.
func (k Keeper) validator(ctx context.Context, hotkey string, netuid uint32, versionKey *uint64) (sdk.AccAddress, subnettypes.Subnet, subnettypes.Neuron, error) {
	hk, err := k.parseAddr("hotkey", hotkey)
	if err != nil {
		return nil, subnettypes.Subnet{}, subnettypes.Neuron{}, err
	}
	s, err := k.subnets.GetSubnet(ctx, netuid)
	if err != nil {
		return hk, s, subnettypes.Neuron{}, err
	}
	n, err := k.subnets.NeuronByHotkey(ctx, netuid, hk)
	if err != nil {
		return hk, s, n, err
	}
	if !n.ValidatorPermit {
		return hk, s, n, types.ErrNoPermit.Wrapf("uid %d on subnet %d; permits go to the top %d by stake at each epoch", n.Uid, netuid, s.Hyperparams.MaxValidators)
	}
	if versionKey != nil && *versionKey < s.Hyperparams.WeightsVersionKey {
		return hk, s, n, types.ErrVersionKey.Wrapf("got %d, subnet requires at least %d", *versionKey, s.Hyperparams.WeightsVersionKey)
	}
	return hk, s, n, nil
}

// checkRateLimit enforces weights_rate_limit blocks between submissions. A
// neuron's first submission after (re)registration is always allowed.
func checkRateLimit(s subnettypes.Subnet, n subnettypes.Neuron, height int64) error {
	if n.LastUpdate <= n.RegisteredAt {
		return nil
	}
	if next := n.LastUpdate + int64(s.Hyperparams.WeightsRateLimit); height < next {
		return types.ErrRateLimited.Wrapf("last submission at block %d; next allowed at block %d", n.LastUpdate, next)
	}
	return nil
}

func (k Keeper) touch(ctx context.Context, netuid uint32, n subnettypes.Neuron, height int64) error {
	n.LastUpdate = height
	return k.subnets.SetNeuron(ctx, netuid, n)
}

// SetWeights stores weights directly on subnets without commit-reveal.
func (k Keeper) SetWeights(ctx context.Context, msg *types.MsgSetWeights) error {
	_, s, n, err := k.validator(ctx, msg.Hotkey, msg.Netuid, &msg.VersionKey)
	if err != nil {
		return err
	}
	if s.Hyperparams.CommitRevealEnabled {
		return types.ErrCommitRevealOn
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := checkRateLimit(s, n, height); err != nil {
		return err
	}
	row, err := types.BuildWeightsRow(msg.Uids, msg.Weights, types.WeightRulesOf(s.N, s.Hyperparams))
	if err != nil {
		return err
	}
	row.SetAt = height
	if err := k.Weights.Set(ctx, collections.Join(msg.Netuid, n.Uid), row); err != nil {
		return err
	}
	if err := k.touch(ctx, msg.Netuid, n, height); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWeightsSet{
		Netuid: msg.Netuid, Uid: n.Uid, Hotkey: msg.Hotkey, Count: uint32(len(row.Uids)),
	})
}

// CommitWeights stores a commit hash; its reveal is due reveal_period epochs later.
func (k Keeper) CommitWeights(ctx context.Context, msg *types.MsgCommitWeights) (*types.MsgCommitWeightsResponse, error) {
	if len(msg.CommitHash) != 32 {
		return nil, types.ErrInvalidCommit.Wrapf("commit_hash must be 32 bytes (sha256), got %d", len(msg.CommitHash))
	}
	hk, s, n, err := k.validator(ctx, msg.Hotkey, msg.Netuid, nil)
	if err != nil {
		return nil, err
	}
	if !s.Hyperparams.CommitRevealEnabled {
		return nil, types.ErrCommitRevealOff
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := checkRateLimit(s, n, height); err != nil {
		return nil, err
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	state, err := k.epochState(ctx, msg.Netuid)
	if err != nil {
		return nil, err
	}
	live := uint32(0)
	rng := collections.NewSuperPrefixedTripleRange[uint32, sdk.AccAddress, int64](msg.Netuid, hk)
	if err := k.Commits.Walk(ctx, rng, func(_ collections.Triple[uint32, sdk.AccAddress, int64], c types.WeightCommit) (bool, error) {
		if c.CommitEpoch+s.Hyperparams.RevealPeriod >= state.Epoch {
			live++
		}
		return false, nil
	}); err != nil {
		return nil, err
	}
	if live >= p.MaxUnrevealedCommits {
		return nil, types.ErrTooManyCommits.Wrapf("%d unrevealed commits (max %d)", live, p.MaxUnrevealedCommits)
	}
	c := types.WeightCommit{CommitHash: msg.CommitHash, CommitBlock: height, CommitEpoch: state.Epoch}
	if err := k.Commits.Set(ctx, collections.Join3(msg.Netuid, hk, height), c); err != nil {
		return nil, err
	}
	if err := k.touch(ctx, msg.Netuid, n, height); err != nil {
		return nil, err
	}
	from, until := revealWindow(height, msg.Netuid, s.Hyperparams.Tempo, s.Hyperparams.RevealPeriod)
	return &types.MsgCommitWeightsResponse{CommitEpoch: state.Epoch, RevealFrom: from, RevealUntil: until},
		sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWeightsCommitted{
			Netuid: msg.Netuid, Uid: n.Uid, Hotkey: msg.Hotkey, CommitEpoch: state.Epoch,
		})
}

// RevealWeights opens the commit whose hash matches and stores its weights,
// dated to the commit's block so the epoch masks miners registered since.
func (k Keeper) RevealWeights(ctx context.Context, msg *types.MsgRevealWeights) error {
	hk, s, n, err := k.validator(ctx, msg.Hotkey, msg.Netuid, &msg.VersionKey)
	if err != nil {
		return err
	}
	if !s.Hyperparams.CommitRevealEnabled {
		return types.ErrCommitRevealOff
	}
	want := types.CommitHash(hk, msg.Netuid, msg.Uids, msg.Weights, msg.Salt, msg.VersionKey)
	state, err := k.epochState(ctx, msg.Netuid)
	if err != nil {
		return err
	}
	var found *types.WeightCommit
	rng := collections.NewSuperPrefixedTripleRange[uint32, sdk.AccAddress, int64](msg.Netuid, hk)
	if err := k.Commits.Walk(ctx, rng, func(_ collections.Triple[uint32, sdk.AccAddress, int64], c types.WeightCommit) (bool, error) {
		if string(c.CommitHash) == string(want) {
			found = &c
			return true, nil
		}
		return false, nil
	}); err != nil {
		return err
	}
	if found == nil {
		return types.ErrNoMatchingCommit.Wrap("the hash of (hotkey, netuid, uids, weights, salt, version_key) matches no live commit")
	}
	if due := found.CommitEpoch + s.Hyperparams.RevealPeriod; state.Epoch != due {
		return types.ErrRevealWindow.Wrapf("committed at epoch %d; reveal during epoch %d, now %d", found.CommitEpoch, due, state.Epoch)
	}
	row, err := types.BuildWeightsRow(msg.Uids, msg.Weights, types.WeightRulesOf(s.N, s.Hyperparams))
	if err != nil {
		return err
	}
	row.SetAt = found.CommitBlock
	if err := k.Weights.Set(ctx, collections.Join(msg.Netuid, n.Uid), row); err != nil {
		return err
	}
	if err := k.Commits.Remove(ctx, collections.Join3(msg.Netuid, hk, found.CommitBlock)); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWeightsSet{
		Netuid: msg.Netuid, Uid: n.Uid, Hotkey: msg.Hotkey, Count: uint32(len(row.Uids)), Revealed: true,
	})
}

// epochDueAt reports whether the subnet's epoch is due at height: epochs are
// staggered by netuid so subnets with the same tempo do not share a block.
func epochDueAt(height int64, netuid uint32, tempo uint64) bool {
	if tempo == 0 || height <= 0 {
		return false
	}
	return (uint64(height)+uint64(netuid))%tempo == 0
}

// nextEpochAtOrAfter is the first block >= height whose EndBlock runs the epoch.
func nextEpochAtOrAfter(height int64, netuid uint32, tempo uint64) int64 {
	if tempo == 0 {
		return height
	}
	r := (uint64(height) + uint64(netuid)) % tempo
	if r == 0 {
		return height
	}
	return height + int64(tempo-r)
}

// revealWindow is the block range in which a commit made at height is
// revealed, assuming the tempo stays as it is: after the epoch that completes
// reveal_period epochs, up to and including the next epoch block.
func revealWindow(height int64, netuid uint32, tempo, revealPeriod uint64) (int64, int64) {
	ep := nextEpochAtOrAfter(height, netuid, tempo) + int64((revealPeriod-1)*tempo)
	return ep + 1, ep + int64(tempo)
}

func (k Keeper) epochState(ctx context.Context, netuid uint32) (types.EpochState, error) {
	st, err := k.EpochState.Get(ctx, netuid)
	if err != nil && !isNotFound(err) {
		return st, err
	}
	return st, nil
}

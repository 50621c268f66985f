package keeper

import (
	"context"
	"errors"
	"strings"
	"unicode"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

// GetSubnet returns the subnet or ErrSubnetNotFound.
func (k Keeper) GetSubnet(ctx context.Context, netuid uint32) (types.Subnet, error) {
	s, err := k.Subnets.Get(ctx, netuid)
	if errors.Is(err, collections.ErrNotFound) {
		return s, types.ErrSubnetNotFound.Wrapf("netuid %d", netuid)
	}
	return s, err
}

// LockCost is what creating a subnet at the current height locks.
func (k Keeper) LockCost(ctx context.Context) (sdkmath.Int, error) {
	p, err := k.Params.Get(ctx)
	if err != nil {
		return sdkmath.Int{}, err
	}
	st, err := k.Lock.Get(ctx)
	if err != nil {
		return sdkmath.Int{}, err
	}
	return lockCost(st, sdk.UnwrapSDKContext(ctx).BlockHeight(), p), nil
}

func validateSubnetName(name string) error {
	if name == "" || len(name) > types.MaxSubnetNameLen {
		return types.ErrInvalidName.Wrapf("name must be 1-%d characters", types.MaxSubnetNameLen)
	}
	if strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) }) >= 0 {
		return types.ErrInvalidName.Wrap("name contains control characters")
	}
	return nil
}

// CreateSubnet locks the lock cost from the owner and opens a subnet with the
// default hyperparameters.
func (k Keeper) CreateSubnet(ctx context.Context, msg *types.MsgCreateSubnet) (*types.MsgCreateSubnetResponse, error) {
	owner, err := k.parseAddr("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	if err := validateSubnetName(msg.Name); err != nil {
		return nil, err
	}
	if err := msg.Task.Validate(); err != nil {
		return nil, types.ErrInvalidTask.Wrap(err.Error())
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	count := uint32(0)
	if err := k.Subnets.Walk(ctx, nil, func(uint32, types.Subnet) (bool, error) { count++; return false, nil }); err != nil {
		return nil, err
	}
	if count >= p.SubnetLimit {
		return nil, types.ErrSubnetLimit.Wrapf("%d of %d subnets exist", count, p.SubnetLimit)
	}
	lock, err := k.Lock.Get(ctx)
	if err != nil {
		return nil, err
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	cost := lockCost(lock, height, p)
	if !msg.MaxLock.IsNil() && msg.MaxLock.IsPositive() && cost.GT(msg.MaxLock) {
		return nil, types.ErrLockTooHigh.Wrapf("lock cost %s%s > max_lock %s", cost, k.denom, msg.MaxLock)
	}
	next, err := k.NextNetuid.Peek(ctx)
	if err != nil {
		return nil, err
	}
	if next > types.MaxNetuid {
		return nil, types.ErrSubnetLimit.Wrap("netuids exhausted")
	}
	if cost.IsPositive() {
		if err := k.bank.SendCoinsFromAccountToModule(ctx, owner, types.ModuleName, k.coins(cost)); err != nil {
			return nil, err
		}
	}
	netuid := uint32(next)
	if _, err := k.NextNetuid.Next(ctx); err != nil {
		return nil, err
	}
	h := p.DefaultHyperparams
	s := types.Subnet{
		Netuid:        netuid,
		Owner:         msg.Owner,
		Name:          msg.Name,
		Task:          msg.Task,
		Hyperparams:   h,
		Locked:        cost,
		CreatedAt:     height,
		Burn:          h.MinBurn,
		BurnUpdatedAt: height,
		TotalStake:    sdkmath.ZeroInt(),
	}
	if err := k.Subnets.Set(ctx, netuid, s); err != nil {
		return nil, err
	}
	if err := k.Lock.Set(ctx, types.LockState{LastLock: cost, LastLockBlock: height}); err != nil {
		return nil, err
	}
	return &types.MsgCreateSubnetResponse{Netuid: netuid, Locked: cost}, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSubnetCreated{
		Netuid: netuid, Owner: msg.Owner, Name: msg.Name, ModelId: msg.Task.ModelID(), Locked: cost,
	})
}

// DissolveSubnet removes a subnet: the lock goes back to the owner, every stake
// on it enters the unbonding queue, and its neurons are deleted. Governance only;
// the work is proportional to the subnet's neurons and stakes.
func (k Keeper) DissolveSubnet(ctx context.Context, netuid uint32) (*types.EventSubnetDissolved, error) {
	s, err := k.GetSubnet(ctx, netuid)
	if err != nil {
		return nil, err
	}
	owner, err := k.parseAddr("owner", s.Owner)
	if err != nil {
		return nil, err
	}
	if s.Locked.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, owner, k.coins(s.Locked)); err != nil {
			return nil, err
		}
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	// Collect first: collections must not be written while walked.
	type stakeKey = collections.Triple[uint32, sdk.AccAddress, sdk.AccAddress]
	var keys []stakeKey
	var amounts []sdkmath.Int
	rng := collections.NewPrefixedTripleRange[uint32, sdk.AccAddress, sdk.AccAddress](netuid)
	if err := k.Stakes.Walk(ctx, rng, func(key stakeKey, amt sdkmath.Int) (bool, error) {
		keys = append(keys, key)
		amounts = append(amounts, amt)
		return false, nil
	}); err != nil {
		return nil, err
	}
	for i, key := range keys {
		if _, _, err := k.removeStake(ctx, p, netuid, key.K2(), key.K3(), amounts[i], amounts[i], false); err != nil {
			return nil, err
		}
	}
	var neurons []types.Neuron
	if err := k.Neurons.Walk(ctx, collections.NewPrefixedPairRange[uint32, uint32](netuid), func(_ collections.Pair[uint32, uint32], n types.Neuron) (bool, error) {
		neurons = append(neurons, n)
		return false, nil
	}); err != nil {
		return nil, err
	}
	for _, n := range neurons {
		if err := k.deleteNeuron(ctx, netuid, n); err != nil {
			return nil, err
		}
	}
	if err := k.Subnets.Remove(ctx, netuid); err != nil {
		return nil, err
	}
	if k.hooks != nil {
		if err := k.hooks.AfterSubnetDissolved(ctx, netuid); err != nil {
			return nil, err
		}
	}
	ev := &types.EventSubnetDissolved{Netuid: netuid, Owner: s.Owner, Refunded: s.Locked, UnbondedStakes: uint64(len(keys))}
	return ev, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(ev)
}

// UpdateHyperparams replaces a subnet's hyperparameters. The owner and
// governance are both held to the governance bounds.
func (k Keeper) UpdateHyperparams(ctx context.Context, msg *types.MsgUpdateSubnetHyperparams) error {
	s, err := k.GetSubnet(ctx, msg.Netuid)
	if err != nil {
		return err
	}
	if msg.Sender != s.Owner && msg.Sender != k.authority {
		return types.ErrNotSubnetOwner.Wrapf("subnet %d is owned by %s", msg.Netuid, s.Owner)
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := msg.Hyperparams.Within(p.MinHyperparams, p.MaxHyperparams); err != nil {
		return types.ErrInvalidHyperparams.Wrap(err.Error())
	}
	if msg.Hyperparams.MaxUids < s.N {
		return types.ErrInvalidHyperparams.Wrapf("max_uids %d is below the %d neurons registered", msg.Hyperparams.MaxUids, s.N)
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	// Re-anchor the price under the old rules so a half-life change does not
	// jump it, then clamp to the new bounds.
	s.Burn = clampInt(registrationPrice(s, height), msg.Hyperparams.MinBurn, msg.Hyperparams.MaxBurn)
	s.BurnUpdatedAt = height
	s.Hyperparams = msg.Hyperparams
	if err := k.Subnets.Set(ctx, msg.Netuid, s); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventHyperparamsUpdated{Netuid: msg.Netuid, Sender: msg.Sender})
}

// IterateSubnets walks subnets in netuid order.
func (k Keeper) IterateSubnets(ctx context.Context, fn func(types.Subnet) (bool, error)) error {
	return k.Subnets.Walk(ctx, nil, func(_ uint32, s types.Subnet) (bool, error) { return fn(s) })
}

package keeper

import (
	"context"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/bech32"

	"github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

var _ scoringtypes.EmissionKeeper = Keeper{}

// TakeSubnetPending hands a subnet's accrued emission to its epoch. The
// tokens stay in the module account until PayEpoch sends them.
func (k Keeper) TakeSubnetPending(ctx context.Context, netuid uint32) (sdkmath.Int, error) {
	se, err := k.subnetEmission(ctx, netuid)
	if err != nil {
		return sdkmath.Int{}, err
	}
	pending := se.Pending
	se.Pending = sdkmath.ZeroInt()
	return pending, k.Subnets.Set(ctx, netuid, se)
}

func addr(s string) (sdk.AccAddress, error) {
	_, bz, err := bech32.DecodeAndConvert(s)
	if err != nil {
		return nil, types.ErrPayout.Wrapf("address %q: %v", s, err)
	}
	return bz, nil
}

// PayEpoch pays one epoch: the owner cut to the subnet owner, each miner's
// share to its neuron's owner, and each validator's share split between the
// hotkey owner's take and everyone staked to the hotkey, whose stake grows
// pro rata (so delegators compound). The remainder of the pro-rata split
// (less than one umerit per delegator) goes to the owner with the take.
func (k Keeper) PayEpoch(ctx context.Context, p scoringtypes.EpochPayout) error {
	if len(p.Miner) != len(p.Neurons) || len(p.Validator) != len(p.Neurons) {
		return types.ErrPayout.Wrapf("%d neurons, %d miner and %d validator amounts", len(p.Neurons), len(p.Miner), len(p.Validator))
	}
	totals := struct{ miners, take, delegators sdkmath.Int }{sdkmath.ZeroInt(), sdkmath.ZeroInt(), sdkmath.ZeroInt()}
	if p.OwnerCut.IsPositive() {
		owner, err := addr(p.Owner)
		if err != nil {
			return err
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, owner, k.coins(p.OwnerCut)); err != nil {
			return err
		}
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	for i, n := range p.Neurons {
		miner := sdkmath.NewIntFromUint64(p.Miner[i])
		validator := sdkmath.NewIntFromUint64(p.Validator[i])
		if miner.IsPositive() {
			owner, err := addr(n.Owner)
			if err != nil {
				return err
			}
			if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, owner, k.coins(miner)); err != nil {
				return err
			}
			totals.miners = totals.miners.Add(miner)
		}
		if validator.IsPositive() {
			take, delegated, err := k.payValidator(ctx, p.Netuid, n, validator)
			if err != nil {
				return err
			}
			totals.take, totals.delegators = totals.take.Add(take), totals.delegators.Add(delegated)
		}
		if miner.IsPositive() || validator.IsPositive() {
			rec := types.NeuronEmission{Epoch: p.Epoch, Block: p.Block, Hotkey: n.Hotkey, Miner: miner, Validator: validator}
			if err := k.History.Set(ctx, collections.Join3(p.Netuid, p.Epoch, n.Uid), rec); err != nil {
				return err
			}
		}
	}
	se, err := k.subnetEmission(ctx, p.Netuid)
	if err != nil {
		return err
	}
	returned := sdkmath.NewIntFromUint64(p.Unallocated)
	se.Pending = se.Pending.Add(returned)
	se.Paid = se.Paid.Add(p.OwnerCut).Add(totals.miners).Add(totals.take).Add(totals.delegators)
	if err := k.Subnets.Set(ctx, p.Netuid, se); err != nil {
		return err
	}
	if err := k.pruneHistory(ctx, p.Netuid, p.Epoch, params.HistoryEpochs); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventEpochPaid{
		Netuid: p.Netuid, OwnerCut: p.OwnerCut, Miners: totals.miners, ValidatorsTake: totals.take,
		Delegators: totals.delegators, Returned: returned,
	})
}

// payValidator splits a validator's dividends: take to the hotkey owner, the
// rest credited as stake to the hotkey's stakers in proportion to their stake.
func (k Keeper) payValidator(ctx context.Context, netuid uint32, n subnettypes.Neuron, amount sdkmath.Int) (sdkmath.Int, sdkmath.Int, error) {
	hotkey, err := addr(n.Hotkey)
	if err != nil {
		return sdkmath.Int{}, sdkmath.Int{}, err
	}
	info, err := k.subnets.HotkeyInfo(ctx, hotkey)
	if err != nil {
		return sdkmath.Int{}, sdkmath.Int{}, err
	}
	owner, err := addr(info.Owner)
	if err != nil {
		return sdkmath.Int{}, sdkmath.Int{}, err
	}
	take := amount.MulRaw(int64(info.TakeBps)).QuoRaw(types.BasisPoints)
	rest := amount.Sub(take)
	dels, stakes, err := k.subnets.StakesOn(ctx, netuid, hotkey)
	if err != nil {
		return sdkmath.Int{}, sdkmath.Int{}, err
	}
	shares, remainder := types.Split(rest, stakes)
	take = take.Add(remainder)
	delegated := rest.Sub(remainder)
	if delegated.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToModule(ctx, types.ModuleName, k.subnetModule, k.coins(delegated)); err != nil {
			return sdkmath.Int{}, sdkmath.Int{}, err
		}
		for i, d := range dels {
			if err := k.subnets.CreditStake(ctx, netuid, hotkey, d, shares[i]); err != nil {
				return sdkmath.Int{}, sdkmath.Int{}, err
			}
		}
	}
	if take.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, owner, k.coins(take)); err != nil {
			return sdkmath.Int{}, sdkmath.Int{}, err
		}
	}
	return take, delegated, nil
}

// pruneHistory drops the records of the epoch that just fell out of the window.
func (k Keeper) pruneHistory(ctx context.Context, netuid uint32, epoch uint64, keep uint32) error {
	if epoch < uint64(keep) || keep == 0 && epoch == 0 {
		return nil
	}
	old := epoch - uint64(keep)
	return k.History.Clear(ctx, collections.NewSuperPrefixedTripleRange[uint32, uint64, uint32](netuid, old))
}

// AccountedBalance is what the module account must hold: every subnet's
// pending emission plus the carry.
func (k Keeper) AccountedBalance(ctx context.Context) (sdkmath.Int, error) {
	total, err := k.intItem(ctx, k.Carry)
	if err != nil {
		return total, err
	}
	err = k.Subnets.Walk(ctx, nil, func(_ uint32, se types.SubnetEmission) (bool, error) {
		total = total.Add(se.Pending)
		return false, nil
	})
	return total, err
}

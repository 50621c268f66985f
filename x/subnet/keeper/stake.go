package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

// hotkeyStake is the total stake on a hotkey on a subnet (zero if none).
// It reads HotkeyStake as Map.Get does, minus Map.Get's miss path, which
// formats the key (bech32-encoding the hotkey) into an ErrNotFound only to
// have it dropped here: most of an epoch's neurons, the miners, hold no stake.
func (k Keeper) hotkeyStake(ctx context.Context, netuid uint32, hotkey sdk.AccAddress) (sdkmath.Int, error) {
	key, err := collections.EncodeKeyWithPrefix(k.HotkeyStake.GetPrefix(), k.HotkeyStake.KeyCodec(), collections.Join(netuid, hotkey))
	if err != nil {
		return sdkmath.Int{}, err
	}
	bz, err := k.storeService.OpenKVStore(ctx).Get(key)
	if err != nil {
		return sdkmath.Int{}, err
	}
	if bz == nil {
		return sdkmath.ZeroInt(), nil
	}
	v, err := k.HotkeyStake.ValueCodec().Decode(bz)
	if err != nil {
		return sdkmath.Int{}, fmt.Errorf("%w: value decode: %w", collections.ErrEncoding, err)
	}
	return v, nil
}

// GetStake is one delegator's stake on a hotkey on a subnet (zero if none).
func (k Keeper) GetStake(ctx context.Context, netuid uint32, hotkey, delegator sdk.AccAddress) (sdkmath.Int, error) {
	v, err := k.Stakes.Get(ctx, collections.Join3(netuid, hotkey, delegator))
	if errors.Is(err, collections.ErrNotFound) {
		return sdkmath.ZeroInt(), nil
	}
	return v, err
}

// creditStake adds amt to a delegator's stake, which the module account must
// already hold. Also used by x/emission to compound delegators' dividends.
func (k Keeper) CreditStake(ctx context.Context, netuid uint32, hotkey, delegator sdk.AccAddress, amt sdkmath.Int) error {
	if !amt.IsPositive() {
		return nil
	}
	cur, err := k.GetStake(ctx, netuid, hotkey, delegator)
	if err != nil {
		return err
	}
	if err := k.Stakes.Set(ctx, collections.Join3(netuid, hotkey, delegator), cur.Add(amt)); err != nil {
		return err
	}
	if err := k.DelegatorStakes.Set(ctx, collections.Join3(delegator, netuid, hotkey)); err != nil {
		return err
	}
	return k.shiftTotals(ctx, netuid, hotkey, amt)
}

// shiftTotals moves the derived totals by delta (negative when stake leaves):
// the hotkey's total on the subnet, dropped when it reaches zero, and the
// subnet's total, which counts registered hotkeys only.
func (k Keeper) shiftTotals(ctx context.Context, netuid uint32, hotkey sdk.AccAddress, delta sdkmath.Int) error {
	key := collections.Join(netuid, hotkey)
	total, err := k.hotkeyStake(ctx, netuid, hotkey)
	if err != nil {
		return err
	}
	if rest := total.Add(delta); rest.IsZero() {
		err = k.HotkeyStake.Remove(ctx, key)
	} else {
		err = k.HotkeyStake.Set(ctx, key, rest)
	}
	if err != nil {
		return err
	}
	if registered, err := k.HotkeyUID.Has(ctx, key); err != nil || !registered {
		return err
	}
	s, err := k.GetSubnet(ctx, netuid)
	if err != nil {
		return err
	}
	s.TotalStake = s.TotalStake.Add(delta)
	return k.Subnets.Set(ctx, netuid, s)
}

// AddStake moves tokens from the delegator into stake on a registered hotkey.
func (k Keeper) AddStake(ctx context.Context, msg *types.MsgAddStake) error {
	delegator, err := k.parseAddr("delegator", msg.Delegator)
	if err != nil {
		return err
	}
	hotkey, err := k.parseAddr("hotkey", msg.Hotkey)
	if err != nil {
		return err
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if msg.Amount.IsNil() || msg.Amount.LT(p.MinStakeAmount) {
		return types.ErrStakeTooSmall.Wrapf("amount must be at least %s%s", p.MinStakeAmount, k.denom)
	}
	if _, err := k.NeuronByHotkey(ctx, msg.Netuid, hotkey); err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, delegator, types.ModuleName, k.coins(msg.Amount)); err != nil {
		return err
	}
	if err := k.CreditStake(ctx, msg.Netuid, hotkey, delegator, msg.Amount); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventStakeAdded{
		Netuid: msg.Netuid, Hotkey: msg.Hotkey, Delegator: msg.Delegator, Amount: msg.Amount,
	})
}

// RemoveStake moves stake into the unbonding queue. Amounts below the minimum
// are accepted only when they withdraw everything that is left.
func (k Keeper) RemoveStake(ctx context.Context, msg *types.MsgRemoveStake) (*types.MsgRemoveStakeResponse, error) {
	delegator, err := k.parseAddr("delegator", msg.Delegator)
	if err != nil {
		return nil, err
	}
	hotkey, err := k.parseAddr("hotkey", msg.Hotkey)
	if err != nil {
		return nil, err
	}
	if msg.Amount.IsNil() || !msg.Amount.IsPositive() {
		return nil, types.ErrInvalidAmount.Wrap("amount must be positive")
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := k.GetStake(ctx, msg.Netuid, hotkey, delegator)
	if err != nil {
		return nil, err
	}
	if msg.Amount.GT(cur) {
		return nil, types.ErrInsufficientStake.Wrapf("staked %s%s, asked to remove %s", cur, k.denom, msg.Amount)
	}
	if msg.Amount.LT(p.MinStakeAmount) && !msg.Amount.Equal(cur) {
		return nil, types.ErrStakeTooSmall.Wrapf("amount must be at least %s%s, or all that is staked (%s)", p.MinStakeAmount, k.denom, cur)
	}
	id, completes, err := k.removeStake(ctx, p, msg.Netuid, hotkey, delegator, cur, msg.Amount, true)
	if err != nil {
		return nil, err
	}
	return &types.MsgRemoveStakeResponse{UnbondingId: id, CompletesAt: completes}, nil
}

// removeStake debits amt from cur, the delegator's stake the caller has read
// and checked covers it, and queues it for payout after the unbonding period.
func (k Keeper) removeStake(ctx context.Context, p types.Params, netuid uint32, hotkey, delegator sdk.AccAddress, cur, amt sdkmath.Int, emit bool) (uint64, int64, error) {
	left := cur.Sub(amt)
	key := collections.Join3(netuid, hotkey, delegator)
	if left.IsZero() {
		if err := k.Stakes.Remove(ctx, key); err != nil {
			return 0, 0, err
		}
		if err := k.DelegatorStakes.Remove(ctx, collections.Join3(delegator, netuid, hotkey)); err != nil {
			return 0, 0, err
		}
	} else if err := k.Stakes.Set(ctx, key, left); err != nil {
		return 0, 0, err
	}
	if err := k.shiftTotals(ctx, netuid, hotkey, amt.Neg()); err != nil {
		return 0, 0, err
	}
	id, err := k.NextUnbondingID.Next(ctx)
	if err != nil {
		return 0, 0, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	height := sdkCtx.BlockHeight()
	u := types.Unbonding{
		Id: id, Delegator: delegator.String(), Hotkey: hotkey.String(), Netuid: netuid, Amount: amt,
		CreatedAt: height, CompletesAt: height + int64(p.UnbondingPeriod),
	}
	if err := k.setUnbonding(ctx, u, delegator); err != nil {
		return 0, 0, err
	}
	if !emit {
		return id, u.CompletesAt, nil
	}
	return id, u.CompletesAt, sdkCtx.EventManager().EmitTypedEvent(&types.EventStakeRemoved{
		Netuid: netuid, Hotkey: u.Hotkey, Delegator: u.Delegator, Amount: amt, UnbondingId: id, CompletesAt: u.CompletesAt,
	})
}

func (k Keeper) setUnbonding(ctx context.Context, u types.Unbonding, delegator sdk.AccAddress) error {
	if err := k.Unbondings.Set(ctx, u.Id, u); err != nil {
		return err
	}
	if err := k.UnbondingQueue.Set(ctx, collections.Join(u.CompletesAt, u.Id)); err != nil {
		return err
	}
	return k.UnbondingByDelegator.Set(ctx, collections.Join(delegator, u.Id))
}

// SetTake sets the share of dividends a hotkey's owner keeps. Increases are
// rate-limited so delegators can leave before a higher take applies.
func (k Keeper) SetTake(ctx context.Context, msg *types.MsgSetTake) error {
	if _, err := k.parseAddr("owner", msg.Owner); err != nil {
		return err
	}
	hotkey, err := k.parseAddr("hotkey", msg.Hotkey)
	if err != nil {
		return err
	}
	info, err := k.HotkeyInfo(ctx, hotkey)
	if errors.Is(err, types.ErrHotkeyNotFound) {
		return types.ErrHotkeyNotFound.Wrapf("%s has never registered", msg.Hotkey)
	}
	if err != nil {
		return err
	}
	if info.Owner != msg.Owner {
		return types.ErrOwnerMismatch.Wrapf("%s is owned by %s", msg.Hotkey, info.Owner)
	}
	p, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if msg.TakeBps < p.MinTakeBps || msg.TakeBps > p.MaxTakeBps {
		return types.ErrInvalidTake.Wrapf("take_bps %d is outside [%d, %d]", msg.TakeBps, p.MinTakeBps, p.MaxTakeBps)
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	effective := height
	if msg.TakeBps > info.TakeBps {
		if info.TakeIncreasedAt > 0 && uint64(height-info.TakeIncreasedAt) < p.TakeIncreaseRateLimit {
			return types.ErrRateLimited.Wrapf("take was increased at block %d; next increase allowed at %d",
				info.TakeIncreasedAt, info.TakeIncreasedAt+int64(p.TakeIncreaseRateLimit))
		}
		// Announced now, applied after the notice, so delegators can leave first.
		effective = height + int64(p.TakeIncreaseNotice)
		info.TakeIncreasedAt = height
		info.PendingTakeBps, info.PendingTakeAt = msg.TakeBps, effective
	} else {
		// A decrease applies at once and cancels an announced increase.
		info.TakeBps, info.PendingTakeBps, info.PendingTakeAt = msg.TakeBps, 0, 0
	}
	info = info.EffectiveAt(height) // a zero notice applies at once
	if err := k.Hotkeys.Set(ctx, hotkey, info); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTakeSet{Hotkey: msg.Hotkey, Owner: msg.Owner, TakeBps: msg.TakeBps, EffectiveAt: effective})
}

// GetTotalBurned is every umerit registrations have burned (zero before the first).
func (k Keeper) GetTotalBurned(ctx context.Context) (sdkmath.Int, error) {
	v, err := k.TotalBurned.Get(ctx)
	if errors.Is(err, collections.ErrNotFound) {
		return sdkmath.ZeroInt(), nil
	}
	return v, err
}

// StakesOn lists the stakes on a hotkey on a subnet in delegator order.
func (k Keeper) StakesOn(ctx context.Context, netuid uint32, hotkey sdk.AccAddress) ([]sdk.AccAddress, []sdkmath.Int, error) {
	var dels []sdk.AccAddress
	var amts []sdkmath.Int
	rng := collections.NewSuperPrefixedTripleRange[uint32, sdk.AccAddress, sdk.AccAddress](netuid, hotkey)
	err := k.Stakes.Walk(ctx, rng, func(key collections.Triple[uint32, sdk.AccAddress, sdk.AccAddress], amt sdkmath.Int) (bool, error) {
		dels = append(dels, key.K3())
		amts = append(amts, amt)
		return false, nil
	})
	return dels, amts, err
}

// HotkeyInfo returns a hotkey's owner and take.
func (k Keeper) HotkeyInfo(ctx context.Context, hotkey sdk.AccAddress) (types.HotkeyInfo, error) {
	info, err := k.Hotkeys.Get(ctx, hotkey)
	if errors.Is(err, collections.ErrNotFound) {
		return info, types.ErrHotkeyNotFound.Wrap(hotkey.String())
	}
	// An increase applies once its notice has passed; no write is needed
	// for that, so queries and payouts see the same take.
	return info.EffectiveAt(sdk.UnwrapSDKContext(ctx).BlockHeight()), err
}

package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

// EndBlocker pays out matured unbondings, at most max_unbonding_payouts_per_block;
// the rest wait for the next block. A payout that fails is logged and left in
// the queue: EndBlock must not halt the chain.
func (k Keeper) EndBlocker(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	p, err := k.Params.Get(ctx)
	if err != nil {
		sdkCtx.Logger().Error("x/subnet: params unreadable; skipping unbonding payouts", "err", err)
		return nil
	}
	height := sdkCtx.BlockHeight()
	rng := new(collections.Range[collections.Pair[int64, uint64]]).
		EndExclusive(collections.Join(height+1, uint64(0)))
	var due []collections.Pair[int64, uint64]
	if err := k.UnbondingQueue.Walk(ctx, rng, func(key collections.Pair[int64, uint64]) (bool, error) {
		due = append(due, key)
		return uint32(len(due)) >= p.MaxUnbondingPayoutsPerBlock, nil
	}); err != nil {
		sdkCtx.Logger().Error("x/subnet: unbonding queue unreadable", "err", err)
		return nil
	}
	for _, key := range due {
		cacheCtx, write := sdkCtx.CacheContext()
		if err := k.payUnbonding(cacheCtx, key); err != nil {
			sdkCtx.Logger().Error("x/subnet: unbonding payout failed", "id", key.K2(), "err", err)
			continue
		}
		write()
	}
	return nil
}

func (k Keeper) payUnbonding(ctx sdk.Context, key collections.Pair[int64, uint64]) error {
	u, err := k.Unbondings.Get(ctx, key.K2())
	if err != nil {
		return err
	}
	delegator, err := k.parseAddr("delegator", u.Delegator)
	if err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, delegator, k.coins(u.Amount)); err != nil {
		return err
	}
	if err := k.Unbondings.Remove(ctx, u.Id); err != nil {
		return err
	}
	if err := k.UnbondingQueue.Remove(ctx, key); err != nil {
		return err
	}
	if err := k.UnbondingByDelegator.Remove(ctx, collections.Join(delegator, u.Id)); err != nil {
		return err
	}
	return ctx.EventManager().EmitTypedEvent(&types.EventUnbondingPaid{UnbondingId: u.Id, Delegator: u.Delegator, Amount: u.Amount})
}

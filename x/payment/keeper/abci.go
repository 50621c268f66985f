package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/payment/types"
)

// EndBlocker refunds closing accounts whose grace period has ended, at most
// max_refunds_per_block of them; the rest wait for the next block. Each
// refund removes at most max_gateways_per_account settlement records, so the
// work per block is bounded. Errors are logged, never halting the chain.
func (k Keeper) EndBlocker(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	p, err := k.Params.Get(ctx)
	if err != nil {
		sdkCtx.Logger().Error("x/payment: no refunds this block", "err", err)
		return nil
	}
	height := sdkCtx.BlockHeight()
	var due []collections.Pair[int64, uint64]
	rng := new(collections.Range[collections.Pair[int64, uint64]]).
		EndInclusive(collections.Join(height, ^uint64(0)))
	err = k.ClosingQueue.Walk(ctx, rng, func(key collections.Pair[int64, uint64]) (bool, error) {
		due = append(due, key)
		return uint32(len(due)) >= p.MaxRefundsPerBlock, nil
	})
	if err != nil {
		sdkCtx.Logger().Error("x/payment: reading the closing queue", "err", err)
		return nil
	}
	for _, key := range due {
		cacheCtx, write := sdkCtx.CacheContext()
		if err := k.refund(cacheCtx, key); err != nil {
			// Left in the queue: retried next block, never lost.
			sdkCtx.Logger().Error("x/payment: refund failed", "account", key.K2(), "err", err)
			continue
		}
		write()
	}
	return nil
}

// refund pays a closed account's balance back to its payer and removes it.
func (k Keeper) refund(ctx sdk.Context, key collections.Pair[int64, uint64]) error {
	a, err := k.GetAccount(ctx, key.K2())
	if err != nil {
		return err
	}
	payer, err := k.parseAddr("payer", a.Payer)
	if err != nil {
		return err
	}
	if a.Balance.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, payer, k.coins(a.Balance)); err != nil {
			return err
		}
	}
	if err := k.Settlements.Clear(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](a.Id)); err != nil {
		return err
	}
	if err := k.PayerIndex.Remove(ctx, collections.Join(payer, a.Id)); err != nil {
		return err
	}
	if err := k.SubnetIndex.Remove(ctx, collections.Join(a.Netuid, a.Id)); err != nil {
		return err
	}
	if err := k.Accounts.Remove(ctx, a.Id); err != nil {
		return err
	}
	if err := k.ClosingQueue.Remove(ctx, key); err != nil {
		return err
	}
	return ctx.EventManager().EmitTypedEvent(&types.EventAccountRefunded{AccountId: a.Id, Payer: a.Payer, Amount: a.Balance})
}

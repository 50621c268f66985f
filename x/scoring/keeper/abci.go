package keeper

import (
	"context"
	"sort"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// EndBlocker runs every due subnet epoch, at most max_epochs_per_block; due
// epochs beyond that are marked pending and run first in the following blocks.
// A subnet whose next epoch comes due while one is still pending runs one
// epoch, not two. An epoch that fails is logged and skipped: EndBlock never
// halts the chain.
func (k Keeper) EndBlocker(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	p, err := k.Params.Get(ctx)
	if err != nil {
		sdkCtx.Logger().Error("x/scoring: params unreadable; no epochs this block", "err", err)
		return nil
	}
	height := sdkCtx.BlockHeight()
	due, err := k.dueEpochs(ctx, height)
	if err != nil {
		sdkCtx.Logger().Error("x/scoring: subnets unreadable; no epochs this block", "err", err)
		return nil
	}
	ran := uint32(0)
	for _, d := range due {
		s, st := d.subnet, d.state
		if ran >= p.MaxEpochsPerBlock {
			if !st.Pending {
				st.Pending = true
				if err := k.EpochState.Set(ctx, s.Netuid, st); err != nil {
					sdkCtx.Logger().Error("x/scoring: cannot defer epoch", "netuid", s.Netuid, "err", err)
				}
			}
			continue
		}
		ran++
		cacheCtx, write := sdkCtx.CacheContext()
		if err := k.runEpoch(cacheCtx, p, s, st); err != nil {
			sdkCtx.Logger().Error("x/scoring: epoch failed; skipped", "netuid", s.Netuid, "err", err)
			// Clear the pending flag so a persistent failure does not retry every block.
			st.Pending, st.LastEpochBlock = false, height
			_ = k.EpochState.Set(ctx, s.Netuid, st)
			continue
		}
		write()
	}
	return nil
}

// dueEpoch is a subnet whose epoch should run now.
type dueEpoch struct {
	subnet subnettypes.Subnet
	state  types.EpochState
}

// dueEpochs lists the epochs to run at height, in the order they run:
// deferred ones first, so that a subnet due every block cannot starve them,
// the longest-waiting of those first (then lower netuid), so every subnet
// gets its turn; then the ones that fall due at this height, by netuid.
func (k Keeper) dueEpochs(ctx context.Context, height int64) ([]dueEpoch, error) {
	var deferred, fresh []dueEpoch
	if err := k.subnets.IterateSubnets(ctx, func(s subnettypes.Subnet) (bool, error) {
		st, err := k.epochState(ctx, s.Netuid)
		if err != nil {
			return true, err
		}
		switch {
		case st.Pending:
			deferred = append(deferred, dueEpoch{s, st})
		case epochDueAt(height, s.Netuid, s.Hyperparams.Tempo):
			fresh = append(fresh, dueEpoch{s, st})
		}
		return false, nil
	}); err != nil {
		return nil, err
	}
	sort.SliceStable(deferred, func(a, b int) bool {
		return deferred[a].state.LastEpochBlock < deferred[b].state.LastEpochBlock
	})
	return append(deferred, fresh...), nil
}

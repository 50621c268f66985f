package keeper

import (
	"context"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/emission/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// EndBlocker issues this block's reward: the chain-security share to the fee
// collector, the rest accrued to subnets by share. Work is one pass over the
// subnets (bounded by the subnet limit). Errors are logged, never halting.
func (k Keeper) EndBlocker(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	cacheCtx, write := sdkCtx.CacheContext()
	if err := k.issue(cacheCtx); err != nil {
		sdkCtx.Logger().Error("x/emission: no issuance this block", "err", err)
		return nil
	}
	write()
	return nil
}

// blockSplit is what one block issues and how it accrues.
type blockSplit struct {
	eligible          []types.SubnetEmission
	stake, revenue    []sdkmath.Int
	rest              sdkmath.Int
	issued            sdkmath.Int
	security, subnets sdkmath.Int
}

// split computes this block's issuance and its split across subnets; it
// updates the subnets' EMAs in ctx (a branch when previewing).
func (k Keeper) split(ctx sdk.Context, p types.Params) (blockSplit, error) {
	var b blockSplit
	var err error
	if b.issued, err = k.GetTotalIssued(ctx); err != nil {
		return b, err
	}
	eligible, weights, err := k.subnetWeights(ctx, p)
	if err != nil {
		return b, err
	}
	// Read after subnetWeights: it folds dissolved subnets' pending into
	// the carry, which the split below must include.
	carry, err := k.intItem(ctx, k.Carry)
	if err != nil {
		return b, err
	}
	reward, _ := types.BlockReward(p.InitialBlockReward, b.issued, p.SupplyCap)
	b.security = reward.MulRaw(int64(p.ChainSecurityShareBps)).QuoRaw(types.BasisPoints)
	b.subnets = reward.Sub(b.security)
	b.eligible = eligible
	if len(eligible) == 0 {
		// Nobody to accrue to: that part is simply not issued.
		b.subnets = sdkmath.ZeroInt()
		b.rest = carry
		return b, nil
	}
	maxShare := p.RevenueShareMaxBps
	if len(p.FixedShares) > 0 {
		// Governance-fixed shares are absolute: revenue does not move them.
		maxShare = 0
	}
	burns := make([]sdkmath.LegacyDec, len(eligible))
	for i, se := range eligible {
		burns[i] = se.BurnEma
	}
	b.stake, b.revenue, b.rest = types.SplitWithRevenue(b.subnets.Add(carry), weights, burns, maxShare, p.BurnEmissionBps, p.MinBurnEma)
	return b, nil
}

func (k Keeper) issue(ctx sdk.Context) error {
	p, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	b, err := k.split(ctx, p)
	if err != nil {
		return err
	}
	minted := b.security.Add(b.subnets)
	if minted.IsPositive() {
		if err := k.bank.MintCoins(ctx, types.ModuleName, k.coins(minted)); err != nil {
			return err
		}
		if err := k.TotalIssued.Set(ctx, b.issued.Add(minted)); err != nil {
			return err
		}
	}
	if b.security.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToModule(ctx, types.ModuleName, k.feeCollector, k.coins(b.security)); err != nil {
			return err
		}
	}
	if len(b.eligible) == 0 {
		return nil
	}
	for i, se := range b.eligible {
		se.Pending = se.Pending.Add(b.stake[i]).Add(b.revenue[i])
		if err := k.Subnets.Set(ctx, se.Netuid, se); err != nil {
			return err
		}
	}
	return k.Carry.Set(ctx, b.rest)
}

// subnetWeights updates each subnet's stake and revenue EMAs and returns the subnets that
// accrue this block (those with neurons) with their weights: governance-fixed
// shares when set, else the stake EMA, else equal. It also folds the pending
// emission of subnets that no longer exist into the carry.
func (k Keeper) subnetWeights(ctx sdk.Context, p types.Params) ([]types.SubnetEmission, []sdkmath.Int, error) {
	var eligible []types.SubnetEmission
	var live []uint32
	err := k.subnets.IterateSubnets(ctx, func(s subnettypes.Subnet) (bool, error) {
		live = append(live, s.Netuid)
		se, err := k.subnetEmission(ctx, s.Netuid)
		if err != nil {
			return true, err
		}
		stake := s.TotalStake
		if stake.IsNil() {
			stake = sdkmath.ZeroInt()
		}
		se.StakeEma = types.StakeEMAStep(se.StakeEma, stake, p.StakeEmaAlphaBps)
		foldRevenue(&se, p.RevenueEmaAlphaBps)
		if err := k.Subnets.Set(ctx, s.Netuid, se); err != nil {
			return true, err
		}
		if s.N > 0 {
			eligible = append(eligible, se)
		}
		return false, nil
	})
	if err != nil {
		return nil, nil, err
	}
	if err := k.foldDissolved(ctx, live); err != nil {
		return nil, nil, err
	}
	weights := make([]sdkmath.Int, len(eligible))
	total := sdkmath.ZeroInt()
	for i, se := range eligible {
		weights[i] = se.StakeEma
		if len(p.FixedShares) > 0 {
			weights[i] = sdkmath.ZeroInt()
			for _, fs := range p.FixedShares {
				if fs.Netuid == se.Netuid {
					weights[i] = sdkmath.NewInt(int64(fs.ShareBps))
				}
			}
		}
		total = total.Add(weights[i])
	}
	if !total.IsPositive() {
		for i := range weights {
			weights[i] = sdkmath.OneInt()
		}
	}
	return eligible, weights, nil
}

// foldDissolved moves the pending emission of subnets that were dissolved
// into the carry, so it is accrued to live subnets instead of sitting idle.
func (k Keeper) foldDissolved(ctx sdk.Context, live []uint32) error {
	var gone []types.SubnetEmission
	i := 0
	err := k.Subnets.Walk(ctx, nil, func(netuid uint32, se types.SubnetEmission) (bool, error) {
		for i < len(live) && live[i] < netuid {
			i++
		}
		if i >= len(live) || live[i] != netuid {
			gone = append(gone, se)
		}
		return false, nil
	})
	if err != nil || len(gone) == 0 {
		return err
	}
	carry, err := k.intItem(ctx, k.Carry)
	if err != nil {
		return err
	}
	for _, se := range gone {
		carry = carry.Add(se.Pending)
		if err := k.Subnets.Remove(ctx, se.Netuid); err != nil {
			return err
		}
	}
	return k.Carry.Set(ctx, carry)
}

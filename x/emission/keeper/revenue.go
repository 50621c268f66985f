package keeper

import (
	"context"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/emission/types"
)

// AddRevenue takes a charge's shares from x/payment, which has already sent
// both to this module's account: toSubnet joins the subnet's pending payout
// (so its next epoch pays it through Yuma like emission) and burn is burned
// and counted in the burned total.
func (k Keeper) AddRevenue(ctx context.Context, netuid uint32, toSubnet, burn sdkmath.Int) error {
	if toSubnet.IsNegative() || burn.IsNegative() {
		return types.ErrPayout.Wrapf("negative revenue %s / burn %s", toSubnet, burn)
	}
	if burn.IsPositive() {
		if err := k.bank.BurnCoins(ctx, types.ModuleName, k.coins(burn)); err != nil {
			return err
		}
		burned, err := k.intItem(ctx, k.RevenueBurned)
		if err != nil {
			return err
		}
		if err := k.RevenueBurned.Set(ctx, burned.Add(burn)); err != nil {
			return err
		}
	}
	if !toSubnet.IsPositive() && !burn.IsPositive() {
		return nil
	}
	se, err := k.subnetEmission(ctx, netuid)
	if err != nil {
		return err
	}
	se.BurnBlock = se.BurnBlock.Add(burn)
	se.Pending = se.Pending.Add(toSubnet)
	se.Revenue = se.Revenue.Add(toSubnet)
	se.RevenueBlock = se.RevenueBlock.Add(toSubnet)
	if err := k.Subnets.Set(ctx, netuid, se); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventRevenue{Netuid: netuid, Amount: toSubnet, Burned: burn})
}

// SubnetRevenue is the revenue a subnet has received so far and its smoothed per-block rate.
func (k Keeper) SubnetRevenue(ctx context.Context, netuid uint32) (sdkmath.Int, sdkmath.LegacyDec, error) {
	se, err := k.subnetEmission(ctx, netuid)
	if err != nil {
		return sdkmath.Int{}, sdkmath.LegacyDec{}, err
	}
	return se.Revenue, se.RevenueEma, nil
}

// GetTotalBurned is every umerit burned: registrations (x/subnet) and the
// burn share of users' payments.
func (k Keeper) GetTotalBurned(ctx context.Context) (sdkmath.Int, error) {
	reg, err := k.subnets.GetTotalBurned(ctx)
	if err != nil {
		return sdkmath.Int{}, err
	}
	rev, err := k.intItem(ctx, k.RevenueBurned)
	if err != nil {
		return sdkmath.Int{}, err
	}
	return reg.Add(rev), nil
}

// foldRevenue moves the block's revenue and burn into the subnet's per-block EMAs.
func foldRevenue(se *types.SubnetEmission, alphaBps uint32) {
	se.RevenueEma, se.RevenueBlock = types.DecEMAStep(se.RevenueEma, se.RevenueBlock, alphaBps), sdkmath.ZeroInt()
	se.BurnEma, se.BurnBlock = types.DecEMAStep(se.BurnEma, se.BurnBlock, alphaBps), sdkmath.ZeroInt()
}

package keeper

import (
	"math/big"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/subnet/types"
)

// decayedBurn is the registration price `elapsed` blocks after it was set to
// burn: it halves every halfLife blocks, and between two halvings falls
// linearly by the half of what is left (2^-x replaced by its chord on each
// whole half-life). This is exact at every multiple of the half-life, monotone,
// integer-only, and costs O(1) however long nobody registered.
func decayedBurn(burn sdkmath.Int, elapsed, halfLife uint64) sdkmath.Int {
	if halfLife == 0 || elapsed == 0 || !burn.IsPositive() {
		return burn
	}
	halvings := elapsed / halfLife
	if halvings >= 128 {
		return sdkmath.ZeroInt()
	}
	p := burn.Quo(sdkmath.NewIntFromBigInt(new(big.Int).Lsh(big.NewInt(1), uint(halvings))))
	rem := elapsed % halfLife
	cut := p.Mul(sdkmath.NewIntFromUint64(rem)).Quo(sdkmath.NewIntFromUint64(2 * halfLife))
	return p.Sub(cut)
}

// clampInt bounds v to [lo, hi].
func clampInt(v, lo, hi sdkmath.Int) sdkmath.Int {
	if v.LT(lo) {
		return lo
	}
	if v.GT(hi) {
		return hi
	}
	return v
}

// registrationPrice is what a registration at height pays.
func registrationPrice(s types.Subnet, height int64) sdkmath.Int {
	h := s.Hyperparams
	elapsed := uint64(0)
	if height > s.BurnUpdatedAt {
		elapsed = uint64(height - s.BurnUpdatedAt)
	}
	return clampInt(decayedBurn(s.Burn, elapsed, h.BurnHalfLife), h.MinBurn, h.MaxBurn)
}

// bumpedBurn is the price after a registration that paid `paid`.
func bumpedBurn(paid sdkmath.Int, h types.Hyperparams) sdkmath.Int {
	next := paid.Mul(sdkmath.NewIntFromUint64(uint64(h.BurnIncreaseBps))).Quo(sdkmath.NewInt(types.BasisPoints))
	return clampInt(next, h.MinBurn, h.MaxBurn)
}

// lockCost is Bittensor's network lock rule: twice the last lock, minus the
// last lock scaled by the blocks since then over the reduction interval,
// never below the floor.
func lockCost(st types.LockState, height int64, p types.Params) sdkmath.Int {
	last := st.LastLock
	if last.IsNil() {
		last = sdkmath.ZeroInt()
	}
	elapsed := int64(0)
	if height > st.LastLockBlock {
		elapsed = height - st.LastLockBlock
	}
	cost := last.MulRaw(2)
	if p.LockReductionInterval > 0 {
		reduction := last.Mul(sdkmath.NewInt(elapsed)).Quo(sdkmath.NewIntFromUint64(p.LockReductionInterval))
		cost = cost.Sub(reduction)
	}
	if cost.LT(p.MinLockCost) {
		return p.MinLockCost
	}
	return cost
}

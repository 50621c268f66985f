package types

import (
	"math/big"

	sdkmath "cosmossdk.io/math"
)

// burnWeightScale turns burn EMAs (18-decimal fixed point) into integer
// weights with micro-umerit resolution.
const burnWeightScale = 1_000_000

var microPerAtto = big.NewInt(1_000_000_000_000) // 10^(18−6)

// SplitWithRevenue divides total among subnets. A revenue part goes by each
// subnet's burn EMA (what its users' payments burned per block, smoothed); it
// is at most maxShareBps of total and at most burnEmissionBps of the summed
// burn EMA. The rest goes by stakeWeights. It returns each subnet's stake and
// revenue part and the undivided remainder, which the caller carries.
//
// Because every subnet's revenue part is at most burnEmissionBps/10^4 of its
// own burn EMA (weights and cap use the same truncated integers), paying
// yourself X burns at least burn_bps·X and returns at most
// burnEmissionBps/10^4 of that burn as emission: docs/emission.md proves the
// loss at every network size.
func SplitWithRevenue(total sdkmath.Int, stakeWeights []sdkmath.Int, burnEMA []sdkmath.LegacyDec, maxShareBps, burnEmissionBps uint32, minBurnEMA uint64) (stake, revenue []sdkmath.Int, rest sdkmath.Int) {
	burnW := make([]sdkmath.Int, len(burnEMA))
	sumW := sdkmath.ZeroInt()
	floor := sdkmath.LegacyNewDecFromInt(sdkmath.NewIntFromUint64(minBurnEMA))
	for i, e := range burnEMA {
		burnW[i] = sdkmath.ZeroInt()
		if !e.IsNil() && e.IsPositive() && e.GTE(floor) {
			// floor(e·10^6), straight from the 18-decimal integer.
			burnW[i] = sdkmath.NewIntFromBigInt(new(big.Int).Quo(e.BigIntMut(), microPerAtto))
		}
		sumW = sumW.Add(burnW[i])
	}
	revTotal := total.MulRaw(int64(maxShareBps)).QuoRaw(BasisPoints)
	if limit := sumW.MulRaw(int64(burnEmissionBps)).QuoRaw(BasisPoints * burnWeightScale); limit.LT(revTotal) {
		revTotal = limit
	}
	if revTotal.IsNegative() {
		revTotal = sdkmath.ZeroInt()
	}
	revenue, revRest := Split(revTotal, burnW)
	stake, stakeRest := Split(total.Sub(revTotal), stakeWeights)
	return stake, revenue, revRest.Add(stakeRest)
}

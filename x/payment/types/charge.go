package types

import (
	sdkmath "cosmossdk.io/math"
)

// TokensPerPrice is the unit prices are quoted in: umerit per million tokens.
const TokensPerPrice = 1_000_000

// PriceUsage prices a usage increase of tokens at price umerit per million
// tokens, with remainder (umerit/10^6 units, < 10^6) carried from earlier
// increases. The charge rounds down to the umerit and the fraction is carried,
// so a counter settled in many small steps costs exactly what it would cost in
// one: floor(Σ tokens_i·price_i / 10^6).
func PriceUsage(tokens, price, remainder uint64) (sdkmath.Int, uint64) {
	cost := sdkmath.NewIntFromUint64(tokens).Mul(sdkmath.NewIntFromUint64(price)).Add(sdkmath.NewIntFromUint64(remainder))
	million := sdkmath.NewInt(TokensPerPrice)
	return cost.Quo(million), cost.Mod(million).Uint64()
}

// SplitCharge divides a charge into the gateway fee (rounded down), the burn
// (rounded up, so paying yourself always burns at least burn_bps of it, which
// the emission rule relies on) and what goes to the subnet: the rest, so
// nothing is lost. fee + burn ≤ charge while fee_bps + burn_bps ≤ 10000.
func SplitCharge(charge sdkmath.Int, feeBps, burnBps uint32) (fee, burn, toSubnet sdkmath.Int) {
	fee = charge.MulRaw(int64(feeBps)).QuoRaw(BasisPoints)
	burn = charge.MulRaw(int64(burnBps)).AddRaw(BasisPoints - 1).QuoRaw(BasisPoints)
	return fee, burn, charge.Sub(fee).Sub(burn)
}

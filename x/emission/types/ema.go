package types

import (
	"math/big"

	sdkmath "cosmossdk.io/math"
)

// StakeEMAStep is one block of a subnet's stake EMA: ema += alpha·(stake −
// ema), rounded toward the old value.
func StakeEMAStep(ema, stake sdkmath.Int, alphaBps uint32) sdkmath.Int {
	alpha := sdkmath.NewInt(int64(alphaBps))
	if stake.GTE(ema) {
		return ema.Add(stake.Sub(ema).Mul(alpha).QuoRaw(BasisPoints))
	}
	return ema.Sub(ema.Sub(stake).Mul(alpha).QuoRaw(BasisPoints))
}

var decScale = new(big.Int).Exp(big.NewInt(10), big.NewInt(sdkmath.LegacyPrecision), nil)

// DecEMAStep is one block of a revenue or burn EMA: ema += alpha·(block −
// ema), on LegacyDec's 18-decimal integer with one truncating division
// (toward the old value). It runs for every subnet every block, so it avoids
// LegacyDec.Mul's rounding division.
func DecEMAStep(ema sdkmath.LegacyDec, block sdkmath.Int, alphaBps uint32) sdkmath.LegacyDec {
	if ema.IsZero() && block.IsZero() {
		return ema
	}
	x := new(big.Int).Mul(block.BigIntMut(), decScale)
	x.Sub(x, ema.BigIntMut())
	x.Mul(x, big.NewInt(int64(alphaBps)))
	x.Quo(x, big.NewInt(BasisPoints))
	x.Add(x, ema.BigIntMut())
	return sdkmath.LegacyNewDecFromBigIntWithPrec(x, sdkmath.LegacyPrecision)
}

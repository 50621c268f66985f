package types

import sdkmath "cosmossdk.io/math"

// FillZero sets amounts that are absent (records written before revenue
// existed, or fresh ones) to zero, so arithmetic on them never meets a nil.
func (se *SubnetEmission) FillZero() {
	for _, v := range []*sdkmath.Int{&se.Pending, &se.StakeEma, &se.Paid, &se.Revenue, &se.RevenueBlock, &se.BurnBlock} {
		if v.IsNil() {
			*v = sdkmath.ZeroInt()
		}
	}
	for _, d := range []*sdkmath.LegacyDec{&se.RevenueEma, &se.BurnEma} {
		if d.IsNil() {
			*d = sdkmath.LegacyZeroDec()
		}
	}
}

package types

import sdkmath "cosmossdk.io/math"

// FillZero sets amounts that are absent (records written before revenue
// existed, or fresh ones) to zero, so arithmetic on them never meets a nil.
func (se *SubnetEmission) FillZero() {
	for _, v := range []*sdkmath.Int{&se.Pending, &se.StakeEma, &se.Paid, &se.Revenue, &se.RevenueBlock} {
		if v.IsNil() {
			*v = sdkmath.ZeroInt()
		}
	}
	if se.RevenueEma.IsNil() {
		se.RevenueEma = sdkmath.LegacyZeroDec()
	}
}

package keeper

import (
	"testing"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/emission/types"
)

// BenchmarkFoldRevenue128 is the per-block EMA update of 128 subnets'
// revenue and burn, the other cost revenue weighting adds to EndBlock.
func BenchmarkFoldRevenue128(b *testing.B) {
	ses := make([]types.SubnetEmission, 128)
	for i := range ses {
		ses[i].FillZero()
		ses[i].RevenueEma = sdkmath.LegacyNewDecWithPrec(int64(i)*1_234_567, 4)
		ses[i].BurnEma = sdkmath.LegacyNewDecWithPrec(int64(i)*123_456, 4)
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := range ses {
			ses[i].RevenueBlock = sdkmath.NewInt(int64(i) * 1_000)
			ses[i].BurnBlock = sdkmath.NewInt(int64(i) * 100)
			foldRevenue(&ses[i], 100)
		}
	}
}

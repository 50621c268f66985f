package types_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/emission/types"
)

// BenchmarkSplit128 compares the stake-only split with the revenue-weighted
// one for 128 subnets: the difference is what revenue weighting adds to a block.
func BenchmarkSplit128(b *testing.B) {
	stake := make([]sdkmath.Int, 128)
	burn := make([]sdkmath.LegacyDec, 128)
	for i := range stake {
		stake[i] = sdkmath.NewInt(int64(1_000_000_000 + i*7_919))
		burn[i] = sdkmath.LegacyNewDecWithPrec(int64(1_000_000+i*104_729), 3)
	}
	total := sdkmath.NewInt(900_000)
	b.Run("stake-only", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			types.Split(total, stake)
		}
	})
	b.Run("with-revenue", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			types.SplitWithRevenue(total, stake, burn, 2_000, 5_000, 10)
		}
	})
}

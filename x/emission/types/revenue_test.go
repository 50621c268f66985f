package types_test

import (
	"math/rand"
	"testing"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/emission/types"
)

// TestSplitWithRevenueBounds: over random inputs the parts add up to total,
// the revenue part never exceeds its share of total, and no subnet's revenue
// part exceeds burnEmissionBps of its own burn EMA.
func TestSplitWithRevenueBounds(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for it := 0; it < 5000; it++ {
		n := 1 + r.Intn(8)
		total := sdkmath.NewInt(r.Int63n(10_000_000))
		stakeW := make([]sdkmath.Int, n)
		burn := make([]sdkmath.LegacyDec, n)
		for i := range stakeW {
			stakeW[i] = sdkmath.NewInt(r.Int63n(1_000_000))
			burn[i] = sdkmath.LegacyNewDecWithPrec(r.Int63n(1_000_000_000_000), int64(r.Intn(12)))
			if r.Intn(3) == 0 {
				burn[i] = sdkmath.LegacyZeroDec()
			}
		}
		maxShare, rate := uint32(r.Intn(10_001)), uint32(r.Intn(10_000))
		minBurn := uint64(r.Intn(20))
		stake, rev, rest := types.SplitWithRevenue(total, stakeW, burn, maxShare, rate, minBurn)
		sum, revSum := rest, sdkmath.ZeroInt()
		for i := range stake {
			if stake[i].IsNegative() || rev[i].IsNegative() {
				t.Fatal("negative part")
			}
			sum = sum.Add(stake[i]).Add(rev[i])
			revSum = revSum.Add(rev[i])
			bound := burn[i].MulInt64(int64(rate)).QuoInt64(types.BasisPoints)
			if burn[i].LT(sdkmath.LegacyNewDec(int64(minBurn))) && !rev[i].IsZero() {
				t.Fatalf("subnet %d below min_burn_ema got %s", i, rev[i])
			}
			if sdkmath.LegacyNewDecFromInt(rev[i]).GT(bound) {
				t.Fatalf("subnet %d gained %s from revenue, above %d bps of its burn EMA %s", i, rev[i], rate, burn[i])
			}
		}
		if !sum.Equal(total) {
			t.Fatalf("parts add to %s, total %s", sum, total)
		}
		if revSum.GT(total.MulRaw(int64(maxShare)).QuoRaw(types.BasisPoints)) {
			t.Fatalf("revenue part %s above %d bps of %s", revSum, maxShare, total)
		}
	}
}

func TestSplitWithRevenueOff(t *testing.T) {
	stakeW := []sdkmath.Int{sdkmath.NewInt(1), sdkmath.NewInt(3)}
	burn := []sdkmath.LegacyDec{sdkmath.LegacyNewDec(1_000_000), sdkmath.LegacyZeroDec()}
	stake, rev, rest := types.SplitWithRevenue(sdkmath.NewInt(1000), stakeW, burn, 0, 5000, 10)
	if !stake[0].Equal(sdkmath.NewInt(250)) || !stake[1].Equal(sdkmath.NewInt(750)) || !rev[0].IsZero() || !rest.IsZero() {
		t.Fatalf("with revenue weighting off: stake %v revenue %v rest %s", stake, rev, rest)
	}
}

func TestRevenueParamsValidate(t *testing.T) {
	for name, edit := range map[string]func(*types.Params){
		"burn_emission_bps at 100%":      func(p *types.Params) { p.BurnEmissionBps = types.BasisPoints },
		"revenue share above 100%":       func(p *types.Params) { p.RevenueShareMaxBps = types.BasisPoints + 1 },
		"min_burn_ema too small for φ":   func(p *types.Params) { p.BurnEmissionBps, p.MinBurnEma = 9_000, 10 },
		"zero revenue EMA weight":        func(p *types.Params) { p.RevenueEmaAlphaBps = 0 },
		"min_burn_ema zero while weight": func(p *types.Params) { p.MinBurnEma = 0 },
	} {
		p := types.DefaultParams()
		edit(&p)
		if p.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p := types.DefaultParams()
	p.RevenueShareMaxBps, p.MinBurnEma = 0, 0 // off: the rounding floor does not matter
	if err := p.Validate(); err != nil {
		t.Errorf("revenue weighting off: %v", err)
	}
	if err := types.DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
}

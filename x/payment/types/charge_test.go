package types_test

import (
	"math/rand"
	"testing"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/payment/types"
)

func TestSplitChargeExactAndBurnRoundsUp(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 10_000; i++ {
		fee := uint32(r.Intn(types.BasisPoints + 1))
		burnBps := uint32(r.Intn(types.BasisPoints - int(fee) + 1))
		charge := sdkmath.NewInt(r.Int63n(1 << uint(r.Intn(40))))
		f, b, s := types.SplitCharge(charge, fee, burnBps)
		if f.IsNegative() || b.IsNegative() || s.IsNegative() || !f.Add(b).Add(s).Equal(charge) {
			t.Fatalf("charge %s fee %d burn %d bps: %s + %s + %s", charge, fee, burnBps, f, b, s)
		}
		// burn ≥ charge·burn_bps/10^4, and less than one umerit above it.
		exact := charge.MulRaw(int64(burnBps))
		if b.MulRaw(types.BasisPoints).LT(exact) || b.SubRaw(1).MulRaw(types.BasisPoints).GTE(exact) && b.IsPositive() {
			t.Fatalf("burn %s of %s at %d bps is not the rounded-up share", b, charge, burnBps)
		}
	}
}

func TestPriceUsageCarries(t *testing.T) {
	c, rem := types.PriceUsage(3, 333_333, 0) // 0.999999 umerit
	if !c.IsZero() || rem != 999_999 {
		t.Fatalf("%s %d", c, rem)
	}
	c, rem = types.PriceUsage(1, 1, rem) // + 0.000001 = exactly 1
	if !c.Equal(sdkmath.OneInt()) || rem != 0 {
		t.Fatalf("%s %d", c, rem)
	}
	// Huge counters do not overflow.
	c, _ = types.PriceUsage(^uint64(0), 1_000_000_000_000, 0)
	if !c.Equal(sdkmath.NewIntFromUint64(^uint64(0)).MulRaw(1_000_000)) {
		t.Fatalf("%s", c)
	}
}

func FuzzValidateGatewayURL(f *testing.F) {
	for _, s := range []string{"https://gw.example/v1", "http://[::1]:80", "ftp://x", "https://u:p@x", "", "https://x/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if types.ValidateGatewayURL(s, 256) == nil {
			for _, r := range s {
				if r < 0x21 || r > 0x7e {
					t.Fatalf("accepted %q with a control or non-ASCII character", s)
				}
			}
		}
	})
}

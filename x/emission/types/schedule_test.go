package types_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/emission/types"
)

func TestBlockRewardHalvings(t *testing.T) {
	initial := sdkmath.NewInt(1_000_000)
	cap := sdkmath.NewInt(1_000_000_000)
	cases := []struct {
		issued int64
		want   int64
		k      uint32
	}{
		{0, 1_000_000, 0},
		{499_999_999, 1_000_000, 0}, // just below 1/2
		{500_000_000, 500_000, 1},   // at 1/2
		{749_999_999, 500_000, 1},
		{750_000_000, 250_000, 2}, // at 3/4
		{875_000_000, 125_000, 3}, // at 7/8
		{999_000_000, 1953, 9},    // 1/1000 of the cap left: floor(log2(1000)) = 9 halvings
		{999_999_999, 0, 29},      // integer halving reaches zero before the last unit
		{1_000_000_000, 0, 0},     // at the cap
		{1_000_000_001, 0, 0},     // past it (never happens; still zero)
	}
	for _, c := range cases {
		got, k := types.BlockReward(initial, sdkmath.NewInt(c.issued), cap)
		if !got.Equal(sdkmath.NewInt(c.want)) || (c.want > 0 && k != c.k) {
			t.Errorf("issued %d: reward %s (k=%d), want %d (k=%d)", c.issued, got, k, c.want, c.k)
		}
	}
}

func TestIssuanceNeverExceedsCap(t *testing.T) {
	initial, cap := sdkmath.NewInt(1_000), sdkmath.NewInt(100_000)
	issued := sdkmath.ZeroInt()
	blocks := 0
	for ; blocks < 1_000_000; blocks++ {
		r, _ := types.BlockReward(initial, issued, cap)
		if r.IsZero() {
			break
		}
		issued = issued.Add(r)
	}
	if issued.GT(cap) {
		t.Fatalf("issued %s above cap %s", issued, cap)
	}
	if r, _ := types.BlockReward(initial, issued, cap); !r.IsZero() {
		t.Fatalf("reward %s after %d blocks at issued %s", r, blocks, issued)
	}
	// Each halving era issues half the cap that was left: 50000 in the first.
	if first := 50_000 / 1_000; blocks < first {
		t.Fatalf("only %d blocks", blocks)
	}
}

func TestSplitCarriesRemainder(t *testing.T) {
	parts, rest := types.Split(sdkmath.NewInt(100), []sdkmath.Int{sdkmath.NewInt(1), sdkmath.NewInt(1), sdkmath.NewInt(1)})
	sum := rest
	for _, p := range parts {
		sum = sum.Add(p)
		if !p.Equal(sdkmath.NewInt(33)) {
			t.Fatalf("part %s, want 33", p)
		}
	}
	if !rest.Equal(sdkmath.NewInt(1)) || !sum.Equal(sdkmath.NewInt(100)) {
		t.Fatalf("rest %s sum %s", rest, sum)
	}
	parts, rest = types.Split(sdkmath.NewInt(7), []sdkmath.Int{sdkmath.ZeroInt()})
	if !parts[0].IsZero() || !rest.Equal(sdkmath.NewInt(7)) {
		t.Fatal("zero weights must return everything as remainder")
	}
}

func TestParamsValidate(t *testing.T) {
	p := types.DefaultParams()
	p.FixedShares = []types.SubnetShare{{Netuid: 1, ShareBps: 6000}, {Netuid: 2, ShareBps: 3000}}
	if err := p.Validate(); err == nil {
		t.Fatal("fixed shares not summing to 10000 accepted")
	}
	p.FixedShares[1].ShareBps = 4000
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.ChainSecurityShareBps = 10_001
	if err := p.Validate(); err == nil {
		t.Fatal("share above 100% accepted")
	}
}

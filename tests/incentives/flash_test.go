package incentives_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"

	emissiontypes "github.com/meritnet/merit/x/emission/types"
)

func subnetAccrual(w *washNet, netuid uint32) (stake, revenue sdkmath.Int) {
	res, err := w.EmissionQuery.Subnets(w.Ctx, &emissiontypes.QuerySubnetsRequest{})
	if err != nil {
		panic(err)
	}
	for i, se := range res.Subnets {
		if se.Netuid == netuid {
			return res.StakePart[i], res.RevenuePart[i]
		}
	}
	return sdkmath.ZeroInt(), sdkmath.ZeroInt()
}

// TestFlashStakeAndFlashRevenue: stake added for one block, or one block's
// large self-payment, barely moves a subnet's share of the next block; the
// EMAs (1% a block) damp both. Undamped, a 10x stake would lift this subnet
// (a quarter of the stake) from 25% to 79% of the emission: +214%.
func TestFlashStakeAndFlashRevenue(t *testing.T) {
	w := newWashNet(t, 4, true)
	w.run(200, 0, 0)
	s0, r0 := subnetAccrual(w, 1)
	before := s0.Add(r0)
	// 10x the subnet's stake for one block.
	whale := addr("whale")
	w.Fund(whale, 100_000_000_000)
	if err := w.AddStake(1, addr("att-val"), whale, 100_000_000_000); err != nil {
		t.Fatal(err)
	}
	w.Advance(1)
	s1, r1 := subnetAccrual(w, 1)
	stakeMove := s1.Add(r1).Sub(before)
	// One block's payment of 10x what all honest users pay per block.
	w.tokens += 1_500_000
	settle(t, w.Fixture, addr("att-val"), 1, w.account, w.tokens)
	w.Advance(1)
	s2, r2 := subnetAccrual(w, 1)
	revMove := s2.Add(r2).Sub(s1.Add(r1))
	t.Logf("per-block accrual %s; after a one-block 10x stake: %+d (%.2f%%); after a one-block 10x payment: %+d (%.2f%%)",
		before, stakeMove.Int64(), 100*float64(stakeMove.Int64())/float64(before.Int64()),
		revMove.Int64(), 100*float64(revMove.Int64())/float64(before.Int64()))
	for name, move := range map[string]sdkmath.Int{"stake": stakeMove, "revenue": revMove} {
		if move.Abs().MulRaw(5).GT(before) {
			t.Errorf("a one-block flash of %s moved the subnet's accrual by more than 20%%: %s of %s", name, move, before)
		}
	}
}

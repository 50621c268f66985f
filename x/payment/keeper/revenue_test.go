package keeper_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// TestRevenuePaidThroughYuma: with issuance off, the only money a subnet's
// epoch pays is its users' payments; it reaches the owner, the miner and the
// validator (take and delegators) by the same rules as emission, exact to
// the umerit.
func TestRevenuePaidThroughYuma(t *testing.T) {
	m := newMarket(t, 1_000_000, keepertest.WithEmission())
	ep := emissiontypes.DefaultParams()
	ep.InitialBlockReward = sdkmath.ZeroInt()
	if _, err := m.EmissionMsg.UpdateParams(m.Ctx, &emissiontypes.MsgUpdateParams{Authority: m.Gov, Params: ep}); err != nil {
		t.Fatal(err)
	}
	// Run until the next epoch has paid out what was issued before; from
	// then on nothing is pending but revenue.
	m.Advance(tempo + 1)
	minerUID := uint32(1)
	if err := m.Run(func(ctx sdk.Context) error {
		_, err := m.ScoringMsg.SetWeights(ctx, &scoringtypes.MsgSetWeights{Hotkey: m.gw.String(), Netuid: m.netuid, Uids: []uint32{minerUID}, Weights: []uint32{65535}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m.Advance(tempo + 1) // pays the leftover pending
	if !pending(m).IsZero() {
		t.Fatalf("pending %s before the payment", pending(m))
	}
	id := m.mustOpen("k", 50_000_000)
	m.mustSettle(item(id, 10_000_000, 100)) // 10,000,000 umerit
	revenue := pending(m)
	if !revenue.Equal(sdkmath.NewInt(8_000_000)) {
		t.Fatalf("pending %s, want 8,000,000 (80%% of the charge)", revenue)
	}
	owner0, miner0, gw0 := m.Balance(m.owner), m.Balance(m.minerOwner), m.Balance(m.gwOwner)
	stake0, _ := m.Subnet.GetStake(m.Ctx, m.netuid, m.gw, m.gwOwner)
	epoch, _ := m.Scoring.EpochNumber(m.Ctx, m.netuid)
	for e := epoch; e == epoch; e, _ = m.Scoring.EpochNumber(m.Ctx, m.netuid) {
		m.Advance(1)
	}
	stake1, _ := m.Subnet.GetStake(m.Ctx, m.netuid, m.gw, m.gwOwner)
	ownerGot := m.Balance(m.owner).Sub(owner0)
	minerGot := m.Balance(m.minerOwner).Sub(miner0)
	takeGot := m.Balance(m.gwOwner).Sub(gw0)
	compounded := stake1.Sub(stake0)
	s, _ := m.Subnet.GetSubnet(m.Ctx, m.netuid)
	cut := revenue.MulRaw(int64(s.Hyperparams.OwnerCutBps)).QuoRaw(subnettypes.BasisPoints)
	if !ownerGot.Equal(cut) {
		t.Fatalf("owner got %s, want the owner cut %s", ownerGot, cut)
	}
	rest := revenue.Sub(cut)
	if !minerGot.Equal(rest.QuoRaw(2)) {
		t.Fatalf("miner got %s, want half of %s", minerGot, rest)
	}
	validator := rest.Sub(minerGot)
	info, _ := m.Subnet.HotkeyInfo(m.Ctx, m.gw)
	if take := validator.MulRaw(int64(info.TakeBps)).QuoRaw(subnettypes.BasisPoints); !takeGot.Equal(take) || !compounded.Equal(validator.Sub(take)) {
		t.Fatalf("validator: take %s (want %s), compounded %s (want %s)", takeGot, take, compounded, validator.Sub(take))
	}
	if total := ownerGot.Add(minerGot).Add(takeGot).Add(compounded); !total.Equal(revenue) || !pending(m).IsZero() {
		t.Fatalf("paid %s of %s revenue, %s still pending", total, revenue, pending(m))
	}
	res, _ := m.EmissionQuery.Subnets(m.Ctx, &emissiontypes.QuerySubnetsRequest{})
	for _, se := range res.Subnets {
		if se.Netuid == m.netuid && (!se.Revenue.Equal(revenue) || !se.RevenueEma.IsPositive()) {
			t.Fatalf("emission revenue figures %+v", se)
		}
	}
	m.checkBooks()
	m.CheckSubnetBalance()
}

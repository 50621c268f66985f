package keeper_test

import (
	"strings"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	emissiontypes "github.com/meritnet/merit/x/emission/types"
	"github.com/meritnet/merit/x/payment/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func pending(m *market) sdkmath.Int {
	res, err := m.EmissionQuery.Subnets(m.Ctx, &emissiontypes.QuerySubnetsRequest{})
	if err != nil {
		m.t.Fatal(err)
	}
	for _, se := range res.Subnets {
		if se.Netuid == m.netuid {
			return se.Pending
		}
	}
	return sdkmath.ZeroInt()
}

// TestSettleChargesExactly: the balance falls by tokens × price, the gateway
// owner gets the fee, the burn leaves the supply and the rest is pending in
// x/emission, exact to the umerit.
func TestSettleChargesExactly(t *testing.T) {
	m := newMarket(t, 2_500) // 2,500 umerit per million tokens
	id := m.mustOpen("k", 10_000_000)
	feeBefore, pendBefore := m.Balance(m.gwOwner), pending(m)
	burnedBefore, _ := m.Emission.GetTotalBurned(m.Ctx)

	resp := m.mustSettle(item(id, 1_000_000, 10)) // 2,500 umerit
	if !resp.Charged.Equal(sdkmath.NewInt(2_500)) || resp.Results[0].Refused != "" {
		t.Fatalf("response %+v", resp)
	}
	a := m.account(id)
	if !a.Balance.Equal(sdkmath.NewInt(10_000_000 - 2_500)) {
		t.Fatalf("balance %s", a.Balance)
	}
	if got := m.Balance(m.gwOwner).Sub(feeBefore); !got.Equal(sdkmath.NewInt(250)) {
		t.Fatalf("gateway fee %s, want 250 (10%%)", got)
	}
	burned, _ := m.Emission.GetTotalBurned(m.Ctx)
	if got := burned.Sub(burnedBefore); !got.Equal(sdkmath.NewInt(250)) {
		t.Fatalf("burned %s, want 250 (10%%)", got)
	}
	if got := pending(m).Sub(pendBefore); !got.Equal(sdkmath.NewInt(2_000)) {
		t.Fatalf("pending grew by %s, want 2000", got)
	}
	rev, err := m.PaymentQuery.Revenue(m.Ctx, &types.QueryRevenueRequest{Netuid: m.netuid})
	if err != nil || !rev.Revenue.Charged.Equal(sdkmath.NewInt(2_500)) || !rev.EmissionRevenue.Equal(sdkmath.NewInt(2_000)) || rev.Revenue.Tokens != 1_000_000 {
		t.Fatalf("revenue %v %+v", err, rev)
	}
	st, err := m.PaymentQuery.Settlement(m.Ctx, &types.QuerySettlementRequest{Gateway: m.gw.String(), AccountId: id})
	if err != nil || st.Settlement.Tokens != 1_000_000 || st.Settlement.Requests != 10 {
		t.Fatalf("settlement %v %+v", err, st)
	}
	m.checkBooks()
}

// TestSettleIsIdempotent: the same settlement twice charges once, a stale
// (reordered) one is refused, and two gateways each pay for their own counters.
func TestSettleIsIdempotent(t *testing.T) {
	m := newMarket(t, 1_000_000) // 1 umerit per token
	id := m.mustOpen("k", 5_000_000)
	m.mustSettle(item(id, 100, 1))
	again := m.mustSettle(item(id, 100, 1))
	if !again.Charged.IsZero() || again.Results[0].Refused != "" {
		t.Fatalf("replay charged %s (%q)", again.Charged, again.Results[0].Refused)
	}
	m.mustSettle(item(id, 250, 3))
	stale := m.mustSettle(item(id, 200, 2))
	if !strings.Contains(stale.Results[0].Refused, "backwards") || !stale.Charged.IsZero() {
		t.Fatalf("a reordered settlement was not refused: %+v", stale.Results[0])
	}
	// requests going backwards alone is refused too
	if r := m.mustSettle(item(id, 300, 1)); !strings.Contains(r.Results[0].Refused, "backwards") {
		t.Fatalf("requests going backwards accepted: %+v", r.Results[0])
	}
	if got := m.account(id).Balance; !got.Equal(sdkmath.NewInt(5_000_000 - 250)) {
		t.Fatalf("balance %s, want 250 charged in all", got)
	}
	// A second gateway with a permit settles its own counters from zero.
	gw2 := addr("gateway2")
	m.MustRegister(m.netuid, gw2, m.gwOwner)
	if err := m.AddStake(m.netuid, gw2, m.gwOwner, 0); err == nil {
		t.Log("zero stake accepted")
	}
	m.Fund(m.gwOwner, 500_000)
	if err := m.AddStake(m.netuid, gw2, m.gwOwner, 500_000); err != nil {
		t.Fatal(err)
	}
	m.Advance(tempo + 1)
	if _, err := m.settle(gw2, item(id, 40, 1)); err != nil {
		t.Fatal(err)
	}
	if got := m.account(id).Balance; !got.Equal(sdkmath.NewInt(5_000_000 - 290)) {
		t.Fatalf("balance %s, want 290 charged (250 + 40)", got)
	}
	list, _ := m.PaymentQuery.Settlements(m.Ctx, &types.QuerySettlementsRequest{AccountId: id})
	if len(list.Settlements) != 2 || m.account(id).GatewayCount != 2 {
		t.Fatalf("settlements %+v", list)
	}
	m.checkBooks()
}

// TestSettleRefusals: message-level errors change nothing; item-level
// refusals charge nothing for that item and let the rest through.
func TestSettleRefusals(t *testing.T) {
	m := newMarket(t, 1_000_000)
	id := m.mustOpen("k", 5_000_000)
	other := addr("stranger")
	m.MustRegister(m.netuid, other, other) // registered, no stake: no permit
	bal := m.account(id).Balance
	_, err := m.settle(other, item(id, 10, 1))
	keepertest.ExpectErr(t, err, types.ErrNoPermit)
	_, err = m.settle(addr("nobody"), item(id, 10, 1))
	keepertest.ExpectErr(t, err, types.ErrNoPermit)
	_, err = m.settle(m.gw)
	keepertest.ExpectErr(t, err, types.ErrInvalidSettlement)
	_, err = m.settle(m.gw, item(id, 10, 1), item(id, 20, 2))
	keepertest.ExpectErr(t, err, types.ErrInvalidSettlement)
	over := make([]types.UsageItem, types.DefaultParams().MaxSettleItems+1)
	for i := range over {
		over[i] = item(uint64(i+1), 1, 1)
	}
	_, err = m.settle(m.gw, over...)
	keepertest.ExpectErr(t, err, types.ErrTooManyItems)
	keepertest.ExpectErr(t, m.Run(func(ctx sdk.Context) error {
		_, err := m.PaymentMsg.SettleUsage(ctx, &types.MsgSettleUsage{Gateway: m.gw.String(), Netuid: 77, Items: []types.UsageItem{item(id, 1, 1)}})
		return err
	}), subnettypes.ErrSubnetNotFound)
	if !m.account(id).Balance.Equal(bal) {
		t.Fatal("a refused settlement charged the account")
	}

	// Item-level: an account restricted to other gateways, an account of
	// another subnet, an unknown account — beside one good item.
	restricted, err := m.open(m.payer, "r", 2_000_000, func(msg *types.MsgOpenAccount) { msg.AllowedGateways = []string{addr("elsewhere").String()} })
	if err != nil {
		t.Fatal(err)
	}
	net2 := m.CreateSubnet(m.owner, nil)
	foreign, err := m.open(m.payer, "f", 2_000_000, func(msg *types.MsgOpenAccount) { msg.Netuid = net2 })
	if err != nil {
		t.Fatal(err)
	}
	resp := m.mustSettle(item(restricted, 5, 1), item(foreign, 5, 1), item(404, 5, 1), item(id, 7, 1))
	for i, want := range []string{"allowed list", "subnet", "unknown account", ""} {
		if got := resp.Results[i].Refused; (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("item %d refused %q, want %q", i, got, want)
		}
	}
	if !resp.Charged.Equal(sdkmath.NewInt(7)) {
		t.Fatalf("charged %s, want only the good item's 7", resp.Charged)
	}
	// The allowed list admits the named gateway.
	m.allow(restricted, m.gw)
	if r := m.mustSettle(item(restricted, 5, 1)); r.Results[0].Refused != "" || !r.Charged.Equal(sdkmath.NewInt(5)) {
		t.Fatalf("allowed gateway refused: %+v", r)
	}
	m.checkBooks()
}

// TestChargeCaps: a charge never exceeds the balance or the epoch's remaining
// spend limit; the shortfall is recorded, the counters still advance (the
// gateway's loss), and the limit resets with the subnet's next epoch.
func TestChargeCaps(t *testing.T) {
	m := newMarket(t, 1_000_000) // 1 umerit per token
	id := m.mustOpen("k", 1_000_000)
	r := m.mustSettle(item(id, 1_500_000, 1))
	if !r.Charged.Equal(sdkmath.NewInt(1_000_000)) || !r.Results[0].Shortfall.Equal(sdkmath.NewInt(500_000)) {
		t.Fatalf("over-balance charge %+v", r.Results[0])
	}
	if !m.account(id).Balance.IsZero() {
		t.Fatal("balance not exhausted")
	}
	if r := m.mustSettle(item(id, 1_600_000, 2)); !r.Charged.IsZero() || !r.Results[0].Shortfall.Equal(sdkmath.NewInt(100_000)) {
		t.Fatalf("empty account charged %+v", r.Results[0])
	}
	st, _ := m.PaymentQuery.Settlement(m.Ctx, &types.QuerySettlementRequest{Gateway: m.gw.String(), AccountId: id})
	if !st.Settlement.Shortfall.Equal(sdkmath.NewInt(600_000)) || st.Settlement.Tokens != 1_600_000 {
		t.Fatalf("settlement record %+v", st.Settlement)
	}

	lim, err := m.open(m.payer, "lim", 5_000_000, func(msg *types.MsgOpenAccount) { msg.SpendLimitPerEpoch = sdkmath.NewInt(300) })
	if err != nil {
		t.Fatal(err)
	}
	if r := m.mustSettle(item(lim, 200, 1)); !r.Charged.Equal(sdkmath.NewInt(200)) {
		t.Fatalf("under the limit: %+v", r.Results[0])
	}
	if r := m.mustSettle(item(lim, 500, 2)); !r.Charged.Equal(sdkmath.NewInt(100)) || !r.Results[0].Shortfall.Equal(sdkmath.NewInt(200)) {
		t.Fatalf("at the limit: %+v", r.Results[0])
	}
	epoch, _ := m.Scoring.EpochNumber(m.Ctx, m.netuid)
	for e, _ := m.Scoring.EpochNumber(m.Ctx, m.netuid); e == epoch; e, _ = m.Scoring.EpochNumber(m.Ctx, m.netuid) {
		m.Advance(1)
	}
	if r := m.mustSettle(item(lim, 700, 3)); !r.Charged.Equal(sdkmath.NewInt(200)) {
		t.Fatalf("next epoch: %+v", r.Results[0])
	}
	if a := m.account(lim); !a.Balance.Equal(sdkmath.NewInt(5_000_000-500)) || !a.EpochSpent.Equal(sdkmath.NewInt(200)) {
		t.Fatalf("account %+v", a)
	}
	m.checkBooks()
}

// TestRoundingCarries: many small settlements cost exactly what one big one
// would: floor(Σ tokens × price / 10^6), the fraction carried between them.
func TestRoundingCarries(t *testing.T) {
	m := newMarket(t, 333) // 0.000333 umerit per token
	a := m.mustOpen("a", 1_000_000)
	b := m.mustOpen("b", 1_000_000)
	for i := uint64(1); i <= 300; i++ {
		m.mustSettle(item(a, i*1_001, i))
	}
	m.mustSettle(item(b, 300*1_001, 300))
	spentA := sdkmath.NewInt(1_000_000).Sub(m.account(a).Balance)
	spentB := sdkmath.NewInt(1_000_000).Sub(m.account(b).Balance)
	if want := sdkmath.NewInt(300 * 1_001 * 333 / 1_000_000); !spentA.Equal(want) || !spentB.Equal(want) {
		t.Fatalf("300 small settlements cost %s, one big %s, want %s", spentA, spentB, want)
	}
}

// TestPriceChange: each increase is charged at the price when it is settled.
func TestPriceChange(t *testing.T) {
	m := newMarket(t, 1_000_000)
	id := m.mustOpen("k", 5_000_000)
	m.mustSettle(item(id, 1_000, 1))
	m.EditHyperparams(m.netuid, m.owner, func(h *subnettypes.Hyperparams) { h.PricePerMillionTokens = 3_000_000 })
	m.mustSettle(item(id, 1_500, 2))
	if got := sdkmath.NewInt(5_000_000).Sub(m.account(id).Balance); !got.Equal(sdkmath.NewInt(1_000 + 500*3)) {
		t.Fatalf("charged %s, want 1000 at the old price + 1500 at the new", got)
	}
	// Free subnet: usage is recorded, nothing charged.
	m.EditHyperparams(m.netuid, m.owner, func(h *subnettypes.Hyperparams) { h.PricePerMillionTokens = 0 })
	if r := m.mustSettle(item(id, 9_000, 3)); !r.Charged.IsZero() || r.Results[0].Refused != "" {
		t.Fatalf("free subnet charged %+v", r)
	}
	// The owner cannot set a price above the governance bound.
	s, _ := m.Subnet.GetSubnet(m.Ctx, m.netuid)
	h := s.Hyperparams
	h.PricePerMillionTokens = subnettypes.DefaultMaxHyperparams().PricePerMillionTokens + 1
	keepertest.ExpectErr(t, m.Run(func(ctx sdk.Context) error {
		_, err := m.SubnetMsg.UpdateSubnetHyperparams(ctx, &subnettypes.MsgUpdateSubnetHyperparams{Sender: m.owner.String(), Netuid: m.netuid, Hyperparams: h})
		return err
	}), subnettypes.ErrInvalidHyperparams)
	m.checkBooks()
}

// TestCappedChargeDropsFraction: the fraction of a capped charge is part of
// the shortfall; it is not carried into the next settlement.
func TestCappedChargeDropsFraction(t *testing.T) {
	m := newMarket(t, 1_500_000) // 1.5 umerit per token
	id := m.mustOpen("k", 1_000_000)
	m.mustSettle(item(id, 1, 1)) // 1.5: charges 1, carries 0.5
	st, _ := m.PaymentQuery.Settlement(m.Ctx, &types.QuerySettlementRequest{Gateway: m.gw.String(), AccountId: id})
	if st.Settlement.Remainder != 500_000 {
		t.Fatalf("remainder %d, want 500000", st.Settlement.Remainder)
	}
	m.mustSettle(item(id, 1_000_001, 2)) // capped by the balance; its cost has a fraction
	st, _ = m.PaymentQuery.Settlement(m.Ctx, &types.QuerySettlementRequest{Gateway: m.gw.String(), AccountId: id})
	if st.Settlement.Remainder != 0 || !m.account(id).Balance.IsZero() {
		t.Fatalf("after a capped charge: remainder %d, balance %s", st.Settlement.Remainder, m.account(id).Balance)
	}
}

// TestRemovedGatewaySettlesWithinGrace: a payer who drops a gateway from
// the allowed list right after being served still pays for what it served,
// for close_grace_blocks; after that the gateway is refused with the
// deadline it missed.
func TestRemovedGatewaySettlesWithinGrace(t *testing.T) {
	m := newMarket(t, 1_000_000)
	id := m.mustOpen("k", 5_000_000)
	ev := m.allow(id, addr("elsewhere"))
	until := m.account(id).RevokedUntil
	if want := m.Ctx.BlockHeight() + int64(types.DefaultParams().CloseGraceBlocks); until != want {
		t.Fatalf("revoked_until %d, want %d", until, want)
	}
	// Indexers follow the grace from the event alone.
	if !ev.RevokedAny || ev.RevokedUntil != until || len(ev.RevokedGateways) != 0 || len(ev.AllowedGateways) != 1 {
		t.Fatalf("event: %+v", ev)
	}
	m.AdvanceTo(until)
	if r := m.mustSettle(item(id, 700, 1)); r.Results[0].Refused != "" || !r.Charged.Equal(sdkmath.NewInt(700)) {
		t.Fatalf("settlement within the grace: %+v", r.Results[0])
	}
	m.Advance(1)
	r := m.mustSettle(item(id, 900, 2))
	if !strings.Contains(r.Results[0].Refused, "allowed list") || !r.Charged.IsZero() {
		t.Fatalf("settlement after the grace: %+v", r.Results[0])
	}
	// A second change after the grace does not revive the first.
	m.allow(id, addr("elsewhere"))
	if r := m.mustSettle(item(id, 900, 2)); r.Results[0].Refused == "" {
		t.Fatalf("an expired removal came back: %+v", r.Results[0])
	}
	m.checkBooks()
}

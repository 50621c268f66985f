package incentives_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// TestOverReportingGatewayIsBounded: a gateway with a permit reports far more
// tokens than it served. The most it takes from one account in an epoch is
// the account's spend limit, and every umerit it reports is on chain: its
// counters, the charge and the shortfall per item.
func TestOverReportingGatewayIsBounded(t *testing.T) {
	w := newWashNet(t, 2, false)
	user := addr("victim")
	w.Fund(user, 100_000_000)
	id := openAccount(t, w.Fixture, user, 2, 50_000_000)
	const limit = 1_000_000
	if err := w.Run(func(ctx sdk.Context) error {
		_, err := w.PaymentMsg.UpdateAccount(ctx, &paymenttypes.MsgUpdateAccount{Payer: user.String(), AccountId: id,
			SetSpendLimit: true, SpendLimitPerEpoch: sdkmath.NewInt(limit)})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	gw := addr("val1") // the honest-looking validator of subnet 2 turns greedy
	epoch, _ := w.Scoring.EpochNumber(w.Ctx, 2)
	reported := uint64(0)
	for i := 0; i < 5; i++ {
		reported += 40_000_000 // 40 MERIT of tokens at 1 umerit each, every block
		settle(t, w.Fixture, gw, 2, id, reported)
	}
	a, _ := w.Payment.GetAccount(w.Ctx, id)
	taken := sdkmath.NewInt(50_000_000).Sub(a.Balance)
	st, _ := w.PaymentQuery.Settlement(w.Ctx, &paymenttypes.QuerySettlementRequest{Gateway: gw.String(), AccountId: id})
	t.Logf("gateway reported %d tokens (%d umerit) within epoch %d: took %s, recorded shortfall %s, counters on chain %d",
		reported, reported, epoch, taken, st.Settlement.Shortfall, st.Settlement.Tokens)
	if !taken.Equal(sdkmath.NewInt(limit)) {
		t.Fatalf("took %s from an account limited to %d per epoch", taken, limit)
	}
	if st.Settlement.Tokens != reported || !st.Settlement.Charged.Add(st.Settlement.Shortfall).Equal(sdkmath.NewIntFromUint64(reported)) {
		t.Fatalf("the over-report is not fully visible: %+v", st.Settlement)
	}
}

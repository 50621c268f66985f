package keeper_test

import (
	"slices"
	"strings"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/payment/types"
)

func (m *market) close(id uint64) int64 {
	m.t.Helper()
	var at int64
	if err := m.Run(func(ctx sdk.Context) error {
		res, err := m.PaymentMsg.CloseAccount(ctx, &types.MsgCloseAccount{Payer: m.payer.String(), AccountId: id})
		if err == nil {
			at = res.CloseAt
		}
		return err
	}); err != nil {
		m.t.Fatal(err)
	}
	return at
}

// TestCloseGraceAndRefund: a closing account is settled within the grace
// period, refused after it, and refunded exactly what is left.
func TestCloseGraceAndRefund(t *testing.T) {
	m := newMarket(t, 1_000_000)
	id := m.mustOpen("k", 3_000_000)
	m.mustSettle(item(id, 1_000, 1))
	closeAt := m.close(id)
	if want := m.Ctx.BlockHeight() + int64(types.DefaultParams().CloseGraceBlocks); closeAt != want {
		t.Fatalf("close_at %d, want %d", closeAt, want)
	}
	m.AdvanceTo(closeAt - 1)
	if r := m.mustSettle(item(id, 1_500, 2)); r.Results[0].Refused != "" || !r.Charged.Equal(sdkmath.NewInt(500)) {
		t.Fatalf("settlement within the grace period: %+v", r.Results[0])
	}
	before := m.Balance(m.payer)
	m.AdvanceTo(closeAt) // EndBlock at close_at refunds
	if _, err := m.Payment.GetAccount(m.Ctx, id); err == nil {
		t.Fatal("account still exists after its grace period")
	}
	if got := m.Balance(m.payer).Sub(before); !got.Equal(sdkmath.NewInt(3_000_000 - 1_500)) {
		t.Fatalf("refund %s, want %d", got, 3_000_000-1_500)
	}
	if r := m.mustSettle(item(id, 2_000, 3)); !strings.Contains(r.Results[0].Refused, "unknown") || !r.Charged.IsZero() {
		t.Fatalf("settlement after the refund: %+v", r.Results[0])
	}
	if list, _ := m.PaymentQuery.Settlements(m.Ctx, &types.QuerySettlementsRequest{AccountId: id}); len(list.Settlements) != 0 {
		t.Fatal("settlement records outlived the account")
	}
	m.checkBooks()
}

// TestSettleAfterGraceRefused: between close_at and the refund (refunds
// deferred by the per-block bound), settlement is refused.
func TestSettleAfterGraceRefused(t *testing.T) {
	m := newMarket(t, 1_000_000)
	p := types.DefaultParams()
	p.MaxRefundsPerBlock, p.CloseGraceBlocks = 1, 2
	if _, err := m.PaymentMsg.UpdateParams(m.Ctx, &types.MsgUpdateParams{Authority: m.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	a, b, c := m.mustOpen("a", 1_000_000), m.mustOpen("b", 1_000_000), m.mustOpen("c", 1_000_000)
	m.close(a)
	m.close(b)
	closeAt := m.close(c)
	m.AdvanceTo(closeAt + 1) // refunds a, then b: one per block
	if _, err := m.Payment.GetAccount(m.Ctx, c); err != nil {
		t.Fatal("c was refunded early despite max_refunds_per_block = 1")
	}
	if r := m.mustSettle(item(c, 10, 1)); !strings.Contains(r.Results[0].Refused, "closed") {
		t.Fatalf("settlement after close_at: %+v", r.Results[0])
	}
	m.Advance(1)
	if _, err := m.Payment.GetAccount(m.Ctx, c); err == nil {
		t.Fatal("c not refunded in the next block")
	}
	m.checkBooks()
}

// TestRefundsBoundedPerBlock: with many accounts due at once, each block
// refunds at most max_refunds_per_block, and every account is refunded.
func TestRefundsBoundedPerBlock(t *testing.T) {
	m := newMarket(t, 1_000_000)
	p := types.DefaultParams()
	p.MaxRefundsPerBlock, p.CloseGraceBlocks = 3, 1
	if _, err := m.PaymentMsg.UpdateParams(m.Ctx, &types.MsgUpdateParams{Authority: m.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, 10)
	for i := range ids {
		ids[i] = m.mustOpen(string(rune('a'+i)), 1_000_000)
		m.close(ids[i])
	}
	m.Advance(1)
	left := func() int {
		n := 0
		for _, id := range ids {
			if _, err := m.Payment.GetAccount(m.Ctx, id); err == nil {
				n++
			}
		}
		return n
	}
	for want := 7; want >= 0; want -= 3 {
		if got := left(); got != want {
			t.Fatalf("%d accounts left, want %d", got, want)
		}
		m.Advance(1)
	}
	if left() != 0 {
		t.Fatal("not every account was refunded")
	}
	m.checkBooks()
}

// TestSubnetAccounts: a gateway's query lists its own subnet's accounts,
// open and closing, and no longer a refunded one.
func TestSubnetAccounts(t *testing.T) {
	m := newMarket(t, 1_000_000)
	a, b := m.mustOpen("a", 1_000_000), m.mustOpen("b", 1_000_000)
	net2 := m.CreateSubnet(m.owner, nil)
	c, err := m.open(m.payer, "c", 1_000_000, func(msg *types.MsgOpenAccount) { msg.Netuid = net2 })
	if err != nil {
		t.Fatal(err)
	}
	ids := func(netuid uint32) []uint64 {
		t.Helper()
		res, err := m.PaymentQuery.SubnetAccounts(m.Ctx, &types.QuerySubnetAccountsRequest{Netuid: netuid})
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, acc := range res.Accounts {
			out = append(out, acc.Id)
		}
		return out
	}
	if got := ids(m.netuid); !slices.Equal(got, []uint64{a, b}) {
		t.Fatalf("subnet %d lists %v, want [%d %d]", m.netuid, got, a, b)
	}
	if got := ids(net2); !slices.Equal(got, []uint64{c}) {
		t.Fatalf("subnet %d lists %v, want [%d]", net2, got, c)
	}
	closeAt := m.close(a)
	if got := ids(m.netuid); !slices.Equal(got, []uint64{a, b}) {
		t.Fatalf("a closing account left the list: %v", got)
	}
	m.AdvanceTo(closeAt)
	if got := ids(m.netuid); !slices.Equal(got, []uint64{b}) {
		t.Fatalf("after the refund: %v, want [%d]", got, b)
	}
	m.checkBooks()
}

package keeper_test

import (
	"strings"
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/payment/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func (m *market) serve(hk sdk.AccAddress, url string) error {
	return m.Run(func(ctx sdk.Context) error {
		_, err := m.PaymentMsg.ServeGateway(ctx, &types.MsgServeGateway{Hotkey: hk.String(), Netuid: m.netuid, Url: url})
		return err
	})
}

// TestGateways: registered hotkeys announce a URL; only those with a permit
// are listed, with the subnet's price and the fees; updates are rate limited;
// bad URLs and strangers are refused.
func TestGateways(t *testing.T) {
	m := newMarket(t, 4_200)
	if err := m.serve(m.gw, "https://gw.example.com/v1"); err != nil {
		t.Fatal(err)
	}
	noPermit := addr("nopermit")
	m.MustRegister(m.netuid, noPermit, noPermit)
	if err := m.serve(noPermit, "http://10.0.0.1:8080"); err != nil {
		t.Fatal(err)
	}
	res, err := m.PaymentQuery.Gateways(m.Ctx, &types.QueryGatewaysRequest{Netuid: m.netuid})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Gateways) != 1 || res.Gateways[0].Hotkey != m.gw.String() || res.Gateways[0].Url != "https://gw.example.com/v1" ||
		res.PricePerMillionTokens != 4_200 || res.GatewayFeeBps != types.DefaultParams().GatewayFeeBps || !res.Gateways[0].Stake.IsPositive() {
		t.Fatalf("gateways %+v", res)
	}
	keepertest.ExpectErr(t, m.serve(m.gw, "https://gw2.example.com/v1"), types.ErrRateLimited)
	keepertest.ExpectErr(t, m.serve(addr("stranger"), "https://x.example"), subnettypes.ErrNeuronNotFound)
	for _, bad := range []string{"ftp://x", "https://", "https://user:pw@x.example", "https://x.example/?q=1", "https://x.example/" + strings.Repeat("a", 300), "https://x.example/\n"} {
		keepertest.ExpectErr(t, m.serve(noPermit, bad), types.ErrInvalidURL)
	}
	m.Advance(3)
	if err := m.serve(m.gw, ""); err != nil {
		t.Fatal(err)
	}
	res, _ = m.PaymentQuery.Gateways(m.Ctx, &types.QueryGatewaysRequest{Netuid: m.netuid})
	if len(res.Gateways) != 0 {
		t.Fatalf("withdrawn gateway still listed: %+v", res.Gateways)
	}
	fresh := addr("fresh")
	m.MustRegister(m.netuid, fresh, fresh)
	keepertest.ExpectErr(t, m.serve(fresh, ""), types.ErrInvalidURL) // nothing announced to withdraw
}

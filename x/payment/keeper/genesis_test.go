package keeper_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/payment/types"
)

// TestGenesisRoundTrip exports every kind of state, imports it into a fresh
// store and exports again: the same bytes, and the indexes work.
func TestGenesisRoundTrip(t *testing.T) {
	m := newMarket(t, 1_000_000)
	a := m.mustOpen("a", 2_000_000)
	b, err := m.open(m.payer, "b", 3_000_000, func(msg *types.MsgOpenAccount) {
		msg.SpendLimitPerEpoch = sdkmath.NewInt(500)
		msg.AllowedGateways = []string{m.gw.String()}
	})
	if err != nil {
		t.Fatal(err)
	}
	m.mustSettle(item(a, 700, 2), item(b, 900, 3))
	m.allow(b, addr("elsewhere")) // m.gw keeps a grace to settle b
	m.close(a)
	if err := m.Run(func(ctx sdk.Context) error {
		_, err := m.PaymentMsg.ServeGateway(ctx, &types.MsgServeGateway{Hotkey: m.gw.String(), Netuid: m.netuid, Url: "https://gw.example/v1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	gs, err := m.Payment.ExportGenesis(m.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs.Accounts) != 2 || len(gs.Settlements) != 2 || len(gs.Gateways) != 1 || len(gs.Revenue) != 1 || gs.NextAccountId != 3 {
		t.Fatalf("export is missing state: %+v", gs)
	}
	fresh := keepertest.New(t)
	if err := fresh.Payment.InitGenesis(fresh.Ctx, gs); err != nil {
		t.Fatal(err)
	}
	again, err := fresh.Payment.ExportGenesis(fresh.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := gs.Marshal()
	y, _ := again.Marshal()
	if string(x) != string(y) {
		t.Fatalf("genesis changed on the round trip:\n%+v\n%+v", gs, again)
	}
	if res, err := fresh.PaymentQuery.AccountByKey(fresh.Ctx, &types.QueryAccountByKeyRequest{KeyHash: keyHash("b")}); err != nil || res.Account.Id != b {
		t.Fatalf("key index not rebuilt: %v", err)
	}
	if res, err := fresh.PaymentQuery.SubnetAccounts(fresh.Ctx, &types.QuerySubnetAccountsRequest{Netuid: m.netuid}); err != nil || len(res.Accounts) != 2 {
		t.Fatalf("subnet index not rebuilt: %v", err)
	}
	if _, err := fresh.PaymentQuery.AccountByKey(fresh.Ctx, &types.QueryAccountByKeyRequest{KeyHash: keyHash("a")}); err == nil {
		t.Fatal("a closing account's key was indexed on import")
	}
	if n, _ := fresh.Payment.ClosingQueue.Has(fresh.Ctx, collectionsJoin(m.account(a).CloseAt, a)); !n {
		t.Fatal("closing queue not rebuilt")
	}
	// Invalid genesis is refused.
	bad := *gs
	bad.Accounts = append(append([]types.Account{}, gs.Accounts...), gs.Accounts[0])
	if err := bad.Validate(); err == nil {
		t.Fatal("a genesis with a duplicate account validated")
	}
	for name, edit := range map[string]func(*types.Account){
		"revoked list without a deadline": func(a *types.Account) { a.RevokedGateways = []string{m.gw.String()} },
		"revoked any with a list": func(a *types.Account) {
			a.RevokedAny, a.RevokedGateways, a.RevokedUntil = true, []string{m.gw.String()}, 9
		},
		"negative deadline": func(a *types.Account) { a.RevokedUntil = -1 },
	} {
		bad := *gs
		bad.Accounts = append([]types.Account{}, gs.Accounts...)
		edit(&bad.Accounts[0])
		if err := bad.Validate(); err == nil {
			t.Errorf("a genesis with a %s validated", name)
		}
	}
}

// TestParamsByGovernance: only the gov authority changes params, every
// param is taken as given, and invalid sets are refused.
func TestParamsByGovernance(t *testing.T) {
	f := keepertest.New(t)
	p := types.Params{
		MinDeposit: sdkmath.NewInt(7), CloseGraceBlocks: 9, GatewayFeeBps: 300, BurnBps: 2_000,
		MaxSettleItems: 11, MaxRefundsPerBlock: 12, MaxGatewaysPerAccount: 13, MaxUrlLength: 140,
	}
	if _, err := f.PaymentMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: addr("x").String(), Params: p}); err == nil {
		t.Fatal("a non-gov account changed params")
	}
	if _, err := f.PaymentMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: f.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	res, _ := f.PaymentQuery.Params(f.Ctx, &types.QueryParamsRequest{})
	got, _ := res.Params.Marshal()
	want, _ := p.Marshal()
	if string(got) != string(want) {
		t.Fatalf("params %+v, want %+v", res.Params, p)
	}
	for name, edit := range map[string]func(*types.Params){
		"fee+burn above 100%": func(p *types.Params) { p.GatewayFeeBps, p.BurnBps = 6_000, 5_000 },
		"zero min deposit":    func(p *types.Params) { p.MinDeposit = sdkmath.ZeroInt() },
		"zero items":          func(p *types.Params) { p.MaxSettleItems = 0 },
		"huge items":          func(p *types.Params) { p.MaxSettleItems = 1 << 30 },
		"zero refunds":        func(p *types.Params) { p.MaxRefundsPerBlock = 0 },
		"zero gateways":       func(p *types.Params) { p.MaxGatewaysPerAccount = 0 },
		"zero url length":     func(p *types.Params) { p.MaxUrlLength = 0 },
		"zero grace":          func(p *types.Params) { p.CloseGraceBlocks = 0 },
	} {
		q := p
		edit(&q)
		if _, err := f.PaymentMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: f.Gov, Params: q}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

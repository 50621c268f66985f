package keeper_test

import (
	"strings"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/payment/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func TestOpenAccount(t *testing.T) {
	m := newMarket(t, 1000)
	before := m.Balance(m.payer)
	id := m.mustOpen("key-1", 5_000_000)
	a := m.account(id)
	if a.Payer != m.payer.String() || a.Netuid != m.netuid || a.KeyHash != keyHash("key-1") || !a.Balance.Equal(sdkmath.NewInt(5_000_000)) {
		t.Fatalf("account %+v", a)
	}
	if got := before.Sub(m.Balance(m.payer)); !got.Equal(sdkmath.NewInt(5_000_000)) {
		t.Fatalf("payer paid %s, want the deposit", got)
	}
	res, err := m.PaymentQuery.AccountByKey(m.Ctx, &types.QueryAccountByKeyRequest{KeyHash: keyHash("key-1")})
	if err != nil || res.Account.Id != id {
		t.Fatalf("account-by-key: %v %+v", err, res)
	}
	list, err := m.PaymentQuery.Accounts(m.Ctx, &types.QueryAccountsRequest{Payer: m.payer.String()})
	if err != nil || len(list.Accounts) != 1 || list.Accounts[0].Id != id {
		t.Fatalf("accounts --payer: %v %+v", err, list)
	}
	m.checkBooks()
}

func TestOpenAccountRefusals(t *testing.T) {
	m := newMarket(t, 1000)
	m.mustOpen("taken", 1_000_000)
	min := types.DefaultParams().MinDeposit.Int64()
	hk := func(i int) string { return addr("g" + strings.Repeat("x", i)).String() }
	many := make([]string, types.DefaultParams().MaxGatewaysPerAccount+1)
	for i := range many {
		many[i] = hk(i)
	}
	for _, tc := range []struct {
		name string
		edit func(*types.MsgOpenAccount)
		want error
	}{
		{"below minimum", func(msg *types.MsgOpenAccount) { msg.Deposit = sdkmath.NewInt(min - 1) }, types.ErrDepositTooSmall},
		{"duplicate key hash", func(msg *types.MsgOpenAccount) { msg.KeyHash = keyHash("taken") }, types.ErrKeyHashInUse},
		{"key hash not hex", func(msg *types.MsgOpenAccount) { msg.KeyHash = strings.Repeat("z", 64) }, types.ErrInvalidKeyHash},
		{"key hash uppercase", func(msg *types.MsgOpenAccount) { msg.KeyHash = strings.ToUpper(keyHash("u")) }, types.ErrInvalidKeyHash},
		{"key hash short", func(msg *types.MsgOpenAccount) { msg.KeyHash = "abcd" }, types.ErrInvalidKeyHash},
		{"unknown subnet", func(msg *types.MsgOpenAccount) { msg.Netuid = 99 }, subnettypes.ErrSubnetNotFound},
		{"negative limit", func(msg *types.MsgOpenAccount) { msg.SpendLimitPerEpoch = sdkmath.NewInt(-1) }, types.ErrInvalidAmount},
		{"gateway twice", func(msg *types.MsgOpenAccount) { msg.AllowedGateways = []string{hk(1), hk(1)} }, types.ErrInvalidGateways},
		{"too many gateways", func(msg *types.MsgOpenAccount) { msg.AllowedGateways = many }, types.ErrInvalidGateways},
		{"bad gateway address", func(msg *types.MsgOpenAccount) { msg.AllowedGateways = []string{"merit1nope"} }, types.ErrInvalidAddress},
		{"bad payer", func(msg *types.MsgOpenAccount) { msg.Payer = "nope" }, types.ErrInvalidAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bal := m.Balance(m.payer)
			_, err := m.open(m.payer, "fresh", 2_000_000, tc.edit)
			keepertest.ExpectErr(t, err, tc.want)
			if !m.Balance(m.payer).Equal(bal) {
				t.Fatal("a refused open moved the payer's funds")
			}
		})
	}
	// More than the payer holds fails in the bank and changes nothing.
	poor := addr("poor")
	m.Fund(poor, 1_500_000)
	if _, err := m.open(poor, "poor", 2_000_000, nil); err == nil {
		t.Fatal("opened an account with a deposit above the payer's balance")
	}
	m.checkBooks()
}

func TestPayerOnlyAndClosed(t *testing.T) {
	m := newMarket(t, 1000)
	id := m.mustOpen("k", 2_000_000)
	other := addr("other")
	m.Fund(other, 10_000_000)
	run := func(signer sdk.AccAddress, fn func(ctx sdk.Context, s string) error) error {
		return m.Run(func(ctx sdk.Context) error { return fn(ctx, signer.String()) })
	}
	deposit := func(ctx sdk.Context, s string) error {
		_, err := m.PaymentMsg.Deposit(ctx, &types.MsgDeposit{Payer: s, AccountId: id, Amount: sdkmath.NewInt(1_000)})
		return err
	}
	update := func(ctx sdk.Context, s string) error {
		_, err := m.PaymentMsg.UpdateAccount(ctx, &types.MsgUpdateAccount{Payer: s, AccountId: id, KeyHash: keyHash("k2"), SpendLimitPerEpoch: sdkmath.ZeroInt()})
		return err
	}
	closeAcc := func(ctx sdk.Context, s string) error {
		_, err := m.PaymentMsg.CloseAccount(ctx, &types.MsgCloseAccount{Payer: s, AccountId: id})
		return err
	}
	for _, fn := range []func(sdk.Context, string) error{deposit, update, closeAcc} {
		keepertest.ExpectErr(t, run(other, fn), types.ErrNotPayer)
	}
	if err := run(m.payer, deposit); err != nil {
		t.Fatal(err)
	}
	if got := m.account(id).Balance; !got.Equal(sdkmath.NewInt(2_001_000)) {
		t.Fatalf("balance after deposit %s", got)
	}
	if err := run(m.payer, update); err != nil {
		t.Fatal(err)
	}
	if _, err := m.PaymentQuery.AccountByKey(m.Ctx, &types.QueryAccountByKeyRequest{KeyHash: keyHash("k")}); err == nil {
		t.Fatal("the rotated-out key still finds the account")
	}
	if err := run(m.payer, closeAcc); err != nil {
		t.Fatal(err)
	}
	for _, fn := range []func(sdk.Context, string) error{deposit, update, closeAcc} {
		keepertest.ExpectErr(t, run(m.payer, fn), types.ErrAccountClosing)
	}
	if _, err := m.PaymentQuery.AccountByKey(m.Ctx, &types.QueryAccountByKeyRequest{KeyHash: keyHash("k2")}); err == nil {
		t.Fatal("a closing account is still found by its key")
	}
	// The key of a closing account is free for a new account.
	if _, err := m.open(m.payer, "k2", 1_000_000, nil); err != nil {
		t.Fatalf("reusing a closed account's key: %v", err)
	}
	keepertest.ExpectErr(t, m.Run(func(ctx sdk.Context) error {
		_, err := m.PaymentMsg.Deposit(ctx, &types.MsgDeposit{Payer: m.payer.String(), AccountId: 999, Amount: sdkmath.NewInt(1)})
		return err
	}), types.ErrAccountNotFound)
	m.checkBooks()
}

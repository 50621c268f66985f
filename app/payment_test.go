package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/app"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// TestSettleThousandAccountsInOneTx drives x/payment through real signed
// transactions and blocks: a subnet with a price, a validator that earns a
// permit, 1,000 accounts opened by a payer, and one MsgSettleUsage of 1,000
// items that fits one transaction and one block's gas (the SDK test default
// of 100M), charging every account exactly; the same counters again charge
// nothing.
func TestSettleThousandAccountsInOneTx(t *testing.T) {
	const price, items = 3_000_000, 1000 // 3 umerit per token
	c := newTestChain(t, func(gen app.GenesisState) {
		cdc := newApp(t).AppCodec()
		sg := subnettypes.DefaultGenesis()
		h := &sg.Params.DefaultHyperparams
		h.Tempo, h.CommitRevealEnabled, h.PricePerMillionTokens = 3, false, price
		gen[subnettypes.ModuleName] = cdc.MustMarshalJSON(sg)
	})
	owner, gw := c.addr(1), c.addr(2)
	task := subnettypes.Task{ModelName: "merit-tiny", ModelSha256: "2f27905e0378c0ede9f74e1d1f4ff843657e08571013367bcc5465e377523467", EngineFormat: "llama2c", MaxTokens: 64}
	mustOK := func(res []*abci.ExecTxResult, what string) {
		t.Helper()
		for _, r := range res {
			if r.Code != 0 {
				t.Fatalf("%s: code %d: %s", what, r.Code, r.Log)
			}
		}
	}
	mustOK(c.nextBlock(c.signedTx(1, &subnettypes.MsgCreateSubnet{Owner: owner.String(), Name: "paid", Task: task, MaxLock: sdkmath.ZeroInt()})), "create subnet")
	mustOK(c.nextBlock(c.signedTx(2, &subnettypes.MsgRegisterNeuron{Hotkey: gw.String(), Owner: gw.String(), Netuid: 1, MaxBurn: sdkmath.NewInt(1_000_000_000)})), "register")
	mustOK(c.nextBlock(c.signedTx(2, &subnettypes.MsgAddStake{Delegator: gw.String(), Hotkey: gw.String(), Netuid: 1, Amount: sdkmath.NewInt(1_000_000)})), "stake")
	for i := 0; i < 4; i++ {
		c.nextBlock() // an epoch hands out the permit
	}
	hash := func(i int) string { s := sha256.Sum256([]byte(fmt.Sprint("key", i))); return hex.EncodeToString(s[:]) }
	for batch := 0; batch < items/250; batch++ {
		var msgs []sdk.Msg
		for i := batch * 250; i < (batch+1)*250; i++ {
			msgs = append(msgs, &paymenttypes.MsgOpenAccount{Payer: owner.String(), Netuid: 1, KeyHash: hash(i),
				Deposit: sdkmath.NewInt(1_000_000), SpendLimitPerEpoch: sdkmath.ZeroInt()})
		}
		mustOK(c.nextBlock(c.signedTxGas(1, 40_000_000, msgs...)), "open accounts")
	}
	settle := &paymenttypes.MsgSettleUsage{Gateway: gw.String(), Netuid: 1}
	for i := 1; i <= items; i++ {
		settle.Items = append(settle.Items, paymenttypes.UsageItem{AccountId: uint64(i), CumulativeTokens: uint64(1_000 + i), CumulativeRequests: 1})
	}
	res := c.nextBlock(c.signedTxGas(2, 50_000_000, settle))
	mustOK(res, "settle")
	t.Logf("MsgSettleUsage with %d items: %d gas used (%d per item, signature included)", items, res[0].GasUsed, res[0].GasUsed/items)
	ctx := c.ctx()
	for _, i := range []int{1, 500, items} {
		a, err := c.app.PaymentKeeper.GetAccount(ctx, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if want := sdkmath.NewInt(1_000_000 - 3*int64(1_000+i)); !a.Balance.Equal(want) {
			t.Fatalf("account %d balance %s, want %s", i, a.Balance, want)
		}
	}
	again := c.nextBlock(c.signedTxGas(2, 50_000_000, settle))
	mustOK(again, "settle again")
	a, _ := c.app.PaymentKeeper.GetAccount(c.ctx(), 1)
	if want := sdkmath.NewInt(1_000_000 - 3*1_001); !a.Balance.Equal(want) {
		t.Fatalf("the same counters charged again: balance %s, want %s", a.Balance, want)
	}
}

package keeper_test

import (
	"fmt"
	"math/rand"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/keeper"
	"github.com/meritnet/merit/x/subnet/types"
)

func TestStakeUnstakeUnbonding(t *testing.T) {
	f := newFixture(t)
	owner, hk, del := addr("owner"), addr("hk"), addr("del")
	netuid := f.createSubnet(owner, nil)
	f.mustRegister(netuid, hk, owner)
	f.fund(del, 100_000)

	expectErr(t, f.addStake(netuid, hk, del, 10), types.ErrStakeTooSmall)
	expectErr(t, f.addStake(netuid, addr("nobody"), del, 5_000), types.ErrNeuronNotFound)
	expectErr(t, f.addStake(netuid, hk, del, 200_000), nil) // insufficient funds
	if err := f.addStake(netuid, hk, del, 60_000); err != nil {
		t.Fatal(err)
	}
	s, _ := f.k.GetSubnet(f.ctx, netuid)
	if !s.TotalStake.Equal(sdkmath.NewInt(60_000)) {
		t.Fatalf("subnet total %s", s.TotalStake)
	}
	expectErr(t, f.removeStake(netuid, hk, del, 60_001), types.ErrInsufficientStake)
	expectErr(t, f.removeStake(netuid, hk, del, 10), types.ErrStakeTooSmall)
	if err := f.removeStake(netuid, hk, del, 20_000); err != nil {
		t.Fatal(err)
	}
	if got := f.balance(del); !got.Equal(sdkmath.NewInt(40_000)) {
		t.Fatalf("paid before unbonding: %s", got)
	}
	f.checkModuleBalance()
	ub, err := f.q.Unbondings(f.ctx, &types.QueryUnbondingsRequest{Delegator: del.String()})
	if err != nil || len(ub.Unbondings) != 1 {
		t.Fatalf("unbondings = %v, %v", ub, err)
	}
	f.advance(int64(types.DefaultParams().UnbondingPeriod) - 1)
	if got := f.balance(del); !got.Equal(sdkmath.NewInt(40_000)) {
		t.Fatalf("paid one block early: %s", got)
	}
	f.advance(1)
	if got := f.balance(del); !got.Equal(sdkmath.NewInt(60_000)) {
		t.Fatalf("after unbonding balance %s, want 60000", got)
	}
	// A small remainder may be withdrawn in full.
	if err := f.removeStake(netuid, hk, del, 39_500); err != nil {
		t.Fatal(err)
	}
	if err := f.removeStake(netuid, hk, del, 500); err != nil {
		t.Fatalf("withdrawing the last 500 (below minimum) failed: %v", err)
	}
	f.checkModuleBalance()
	if err := f.k.CheckTotals(f.ctx); err != nil {
		t.Fatal(err)
	}
}

func TestUnbondingPayoutsAreCappedPerBlock(t *testing.T) {
	f := newFixture(t)
	p := types.DefaultParams()
	p.MaxUnbondingPayoutsPerBlock = 2
	p.UnbondingPeriod = 1
	if _, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	owner, hk := addr("owner"), addr("hk")
	netuid := f.createSubnet(owner, nil)
	f.mustRegister(netuid, hk, owner)
	for i := 0; i < 5; i++ {
		d := addr(fmt.Sprintf("d%d", i))
		f.fund(d, 1_000)
		if err := f.addStake(netuid, hk, d, 1_000); err != nil {
			t.Fatal(err)
		}
		if err := f.removeStake(netuid, hk, d, 1_000); err != nil {
			t.Fatal(err)
		}
	}
	paid := func() int {
		n := 0
		for i := 0; i < 5; i++ {
			if f.balance(addr(fmt.Sprintf("d%d", i))).IsPositive() {
				n++
			}
		}
		return n
	}
	for block, want := range []int{2, 4, 5} {
		f.advance(1)
		if got := paid(); got != want {
			t.Fatalf("after block %d: %d paid, want %d", block+1, got, want)
		}
	}
}

func TestSetTake(t *testing.T) {
	f := newFixture(t)
	owner, hk := addr("owner"), addr("hk")
	netuid := f.createSubnet(owner, nil)
	f.mustRegister(netuid, hk, owner)
	set := func(o sdk.AccAddress, take uint32) error {
		return f.run(func(ctx sdk.Context) error {
			_, err := f.msg.SetTake(ctx, &types.MsgSetTake{Owner: o.String(), Hotkey: hk.String(), TakeBps: take})
			return err
		})
	}
	expectErr(t, set(addr("mallory"), 100), types.ErrOwnerMismatch)
	expectErr(t, set(owner, 1_801), types.ErrInvalidTake)
	if err := set(owner, 500); err != nil { // decrease: free
		t.Fatal(err)
	}
	if err := set(owner, 900); err != nil { // first increase
		t.Fatal(err)
	}
	expectErr(t, set(owner, 1_000), types.ErrRateLimited)
	if err := set(owner, 100); err != nil { // decreases are never limited
		t.Fatal(err)
	}
	f.advance(int64(types.DefaultParams().TakeIncreaseRateLimit))
	if err := set(owner, 1_800); err != nil {
		t.Fatal(err)
	}
	err := f.run(func(ctx sdk.Context) error {
		_, err := f.msg.SetTake(ctx, &types.MsgSetTake{Owner: owner.String(), Hotkey: addr("never").String(), TakeBps: 1})
		return err
	})
	expectErr(t, err, types.ErrHotkeyNotFound)
}

func TestValidatorPermitsTopByStake(t *testing.T) {
	stakes := []sdkmath.Int{sdkmath.NewInt(5), sdkmath.NewInt(9), sdkmath.NewInt(5), sdkmath.ZeroInt(), sdkmath.NewInt(7)}
	got := keeper.TopByStake(stakes, 3)
	want := []bool{true, true, false, false, true} // 9, 7, then the lower UID of the 5s
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("permits = %v, want %v", got, want)
		}
	}
	if got := keeper.TopByStake(stakes, 10); got[3] {
		t.Fatal("zero stake got a permit")
	}

	f := newFixture(t)
	owner := addr("owner")
	netuid := f.createSubnet(owner, func(h *types.Hyperparams) { h.MaxValidators = 1 })
	f.mustRegister(netuid, addr("a"), owner)
	f.mustRegister(netuid, addr("b"), owner)
	f.fund(owner, 10_000)
	if err := f.addStake(netuid, addr("b"), owner, 10_000); err != nil {
		t.Fatal(err)
	}
	if err := f.k.UpdateValidatorPermits(f.ctx, netuid); err != nil {
		t.Fatal(err)
	}
	a, _ := f.k.GetNeuron(f.ctx, netuid, 0)
	b, _ := f.k.GetNeuron(f.ctx, netuid, 1)
	if a.ValidatorPermit || !b.ValidatorPermit {
		t.Fatalf("permits a=%v b=%v, want only b", a.ValidatorPermit, b.ValidatorPermit)
	}
}

// TestModuleBalanceInvariant runs a random sequence of registrations, stake
// moves, pruning, unbonding payouts, creations and a dissolution, and checks
// after every step that the module account holds exactly stakes + unbonding
// + locks, and that derived totals match the records.
func TestModuleBalanceInvariant(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewSource(7))
	p := types.DefaultParams()
	p.UnbondingPeriod = 5
	p.MaxUnbondingPayoutsPerBlock = 3
	if _, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	owner := addr("owner")
	nets := []uint32{
		f.createSubnet(owner, func(h *types.Hyperparams) { h.MaxUids, h.MaxValidators, h.ImmunityPeriod = 5, 5, 3 }),
		f.createSubnet(owner, func(h *types.Hyperparams) { h.MaxUids, h.MaxValidators, h.ImmunityPeriod = 3, 3, 0 }),
	}
	hotkeys := make([]sdk.AccAddress, 12)
	dels := make([]sdk.AccAddress, 6)
	for i := range hotkeys {
		hotkeys[i] = addr(fmt.Sprintf("hot%d", i))
	}
	for i := range dels {
		dels[i] = addr(fmt.Sprintf("del%d", i))
		f.fund(dels[i], 10_000_000)
	}
	for step := 0; step < 400; step++ {
		netuid := nets[r.Intn(len(nets))]
		hk := hotkeys[r.Intn(len(hotkeys))]
		d := dels[r.Intn(len(dels))]
		switch r.Intn(6) {
		case 0:
			_, _ = f.register(netuid, hk, owner)
		case 1, 2:
			_ = f.addStake(netuid, hk, d, int64(1_000+r.Intn(50_000)))
		case 3:
			cur, _ := f.k.GetStake(f.ctx, netuid, hk, d)
			if cur.IsPositive() {
				_ = f.removeStake(netuid, hk, d, 1+r.Int63n(cur.Int64()))
			}
		case 4:
			f.advance(1)
		case 5:
			n := uint32(r.Intn(5))
			if nr, err := f.k.GetNeuron(f.ctx, netuid, n); err == nil {
				nr.LastEmission = sdkmath.NewInt(int64(r.Intn(1000)))
				_ = f.k.SetNeuron(f.ctx, netuid, nr)
			}
		}
		if step == 300 {
			if _, err := f.msg.DissolveSubnet(f.ctx, &types.MsgDissolveSubnet{Authority: f.gov, Netuid: nets[1]}); err != nil {
				t.Fatal(err)
			}
			nets = nets[:1]
		}
		f.checkModuleBalance()
		if err := f.k.CheckTotals(f.ctx); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	// Everything that left accounts is in the module or was burned; nothing else.
	total := f.moduleBalance()
	for _, a := range append(append([]sdk.AccAddress{owner}, hotkeys...), dels...) {
		total = total.Add(f.balance(a))
	}
	if !f.bank.GetSupply(f.ctx, denom).Amount.Equal(total) {
		t.Fatalf("supply %s != accounts + module %s", f.bank.GetSupply(f.ctx, denom).Amount, total)
	}
}

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
	netuid := f.CreateSubnet(owner, nil)
	f.MustRegister(netuid, hk, owner)
	f.Fund(del, 100_000)

	expectErr(t, f.AddStake(netuid, hk, del, 10), types.ErrStakeTooSmall)
	expectErr(t, f.AddStake(netuid, addr("nobody"), del, 5_000), types.ErrNeuronNotFound)
	expectErr(t, f.AddStake(netuid, hk, del, 200_000), nil) // insufficient funds
	if err := f.AddStake(netuid, hk, del, 60_000); err != nil {
		t.Fatal(err)
	}
	s, _ := f.Subnet.GetSubnet(f.Ctx, netuid)
	if !s.TotalStake.Equal(sdkmath.NewInt(60_000)) {
		t.Fatalf("subnet total %s", s.TotalStake)
	}
	expectErr(t, f.RemoveStake(netuid, hk, del, 60_001), types.ErrInsufficientStake)
	expectErr(t, f.RemoveStake(netuid, hk, del, 10), types.ErrStakeTooSmall)
	if err := f.RemoveStake(netuid, hk, del, 20_000); err != nil {
		t.Fatal(err)
	}
	if got := f.Balance(del); !got.Equal(sdkmath.NewInt(40_000)) {
		t.Fatalf("paid before unbonding: %s", got)
	}
	f.CheckSubnetBalance()
	ub, err := f.SubnetQuery.Unbondings(f.Ctx, &types.QueryUnbondingsRequest{Delegator: del.String()})
	if err != nil || len(ub.Unbondings) != 1 {
		t.Fatalf("unbondings = %v, %v", ub, err)
	}
	f.Advance(int64(types.DefaultParams().UnbondingPeriod) - 1)
	if got := f.Balance(del); !got.Equal(sdkmath.NewInt(40_000)) {
		t.Fatalf("paid one block early: %s", got)
	}
	f.Advance(1)
	if got := f.Balance(del); !got.Equal(sdkmath.NewInt(60_000)) {
		t.Fatalf("after unbonding balance %s, want 60000", got)
	}
	// A small remainder may be withdrawn in full.
	if err := f.RemoveStake(netuid, hk, del, 39_500); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveStake(netuid, hk, del, 500); err != nil {
		t.Fatalf("withdrawing the last 500 (below minimum) failed: %v", err)
	}
	f.CheckSubnetBalance()
	if err := f.Subnet.CheckTotals(f.Ctx); err != nil {
		t.Fatal(err)
	}
}

func TestUnbondingPayoutsAreCappedPerBlock(t *testing.T) {
	f := newFixture(t)
	p := types.DefaultParams()
	p.MaxUnbondingPayoutsPerBlock = 2
	p.UnbondingPeriod = 1
	if _, err := f.SubnetMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: f.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	owner, hk := addr("owner"), addr("hk")
	netuid := f.CreateSubnet(owner, nil)
	f.MustRegister(netuid, hk, owner)
	for i := 0; i < 5; i++ {
		d := addr(fmt.Sprintf("d%d", i))
		f.Fund(d, 1_000)
		if err := f.AddStake(netuid, hk, d, 1_000); err != nil {
			t.Fatal(err)
		}
		if err := f.RemoveStake(netuid, hk, d, 1_000); err != nil {
			t.Fatal(err)
		}
	}
	paid := func() int {
		n := 0
		for i := 0; i < 5; i++ {
			if f.Balance(addr(fmt.Sprintf("d%d", i))).IsPositive() {
				n++
			}
		}
		return n
	}
	for block, want := range []int{2, 4, 5} {
		f.Advance(1)
		if got := paid(); got != want {
			t.Fatalf("after block %d: %d paid, want %d", block+1, got, want)
		}
	}
}

func TestSetTake(t *testing.T) {
	f := newFixture(t)
	owner, hk := addr("owner"), addr("hk")
	netuid := f.CreateSubnet(owner, nil)
	f.MustRegister(netuid, hk, owner)
	set := func(o sdk.AccAddress, take uint32) error {
		return f.Run(func(ctx sdk.Context) error {
			_, err := f.SubnetMsg.SetTake(ctx, &types.MsgSetTake{Owner: o.String(), Hotkey: hk.String(), TakeBps: take})
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
	f.Advance(int64(types.DefaultParams().TakeIncreaseRateLimit))
	if err := set(owner, 1_800); err != nil {
		t.Fatal(err)
	}
	err := f.Run(func(ctx sdk.Context) error {
		_, err := f.SubnetMsg.SetTake(ctx, &types.MsgSetTake{Owner: owner.String(), Hotkey: addr("never").String(), TakeBps: 1})
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
	netuid := f.CreateSubnet(owner, func(h *types.Hyperparams) { h.MaxValidators = 1 })
	f.MustRegister(netuid, addr("a"), owner)
	f.MustRegister(netuid, addr("b"), owner)
	f.Fund(owner, 10_000)
	if err := f.AddStake(netuid, addr("b"), owner, 10_000); err != nil {
		t.Fatal(err)
	}
	if err := f.Subnet.UpdateValidatorPermits(f.Ctx, netuid); err != nil {
		t.Fatal(err)
	}
	a, _ := f.Subnet.GetNeuron(f.Ctx, netuid, 0)
	b, _ := f.Subnet.GetNeuron(f.Ctx, netuid, 1)
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
	if _, err := f.SubnetMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: f.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	owner := addr("owner")
	nets := []uint32{
		f.CreateSubnet(owner, func(h *types.Hyperparams) { h.MaxUids, h.MaxValidators, h.ImmunityPeriod = 5, 5, 3 }),
		f.CreateSubnet(owner, func(h *types.Hyperparams) { h.MaxUids, h.MaxValidators, h.ImmunityPeriod = 3, 3, 0 }),
	}
	hotkeys := make([]sdk.AccAddress, 12)
	dels := make([]sdk.AccAddress, 6)
	for i := range hotkeys {
		hotkeys[i] = addr(fmt.Sprintf("hot%d", i))
	}
	for i := range dels {
		dels[i] = addr(fmt.Sprintf("del%d", i))
		f.Fund(dels[i], 10_000_000)
	}
	for step := 0; step < 400; step++ {
		netuid := nets[r.Intn(len(nets))]
		hk := hotkeys[r.Intn(len(hotkeys))]
		d := dels[r.Intn(len(dels))]
		switch r.Intn(6) {
		case 0:
			_, _ = f.Register(netuid, hk, owner)
		case 1, 2:
			_ = f.AddStake(netuid, hk, d, int64(1_000+r.Intn(50_000)))
		case 3:
			cur, _ := f.Subnet.GetStake(f.Ctx, netuid, hk, d)
			if cur.IsPositive() {
				_ = f.RemoveStake(netuid, hk, d, 1+r.Int63n(cur.Int64()))
			}
		case 4:
			f.Advance(1)
		case 5:
			n := uint32(r.Intn(5))
			if nr, err := f.Subnet.GetNeuron(f.Ctx, netuid, n); err == nil {
				nr.LastEmission = sdkmath.NewInt(int64(r.Intn(1000)))
				_ = f.Subnet.SetNeuron(f.Ctx, netuid, nr)
			}
		}
		if step == 300 {
			if _, err := f.SubnetMsg.DissolveSubnet(f.Ctx, &types.MsgDissolveSubnet{Authority: f.Gov, Netuid: nets[1]}); err != nil {
				t.Fatal(err)
			}
			nets = nets[:1]
		}
		f.CheckSubnetBalance()
		if err := f.Subnet.CheckTotals(f.Ctx); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	// Everything that left accounts is in the module or was burned; nothing else.
	total := f.ModuleBalance(types.ModuleName)
	for _, a := range append(append([]sdk.AccAddress{owner}, hotkeys...), dels...) {
		total = total.Add(f.Balance(a))
	}
	if !f.Bank.GetSupply(f.Ctx, denom).Amount.Equal(total) {
		t.Fatalf("supply %s != accounts + module %s", f.Bank.GetSupply(f.Ctx, denom).Amount, total)
	}
}

// TestTakeIncreaseWaitsForNotice: an increase is announced and applies only
// after take_increase_notice blocks, so delegators can leave first; a
// decrease applies at once and cancels an announced increase.
func TestTakeIncreaseWaitsForNotice(t *testing.T) {
	f := newFixture(t)
	owner, hk := addr("owner"), addr("hk")
	netuid := f.CreateSubnet(owner, nil)
	f.MustRegister(netuid, hk, owner)
	set := func(take uint32) {
		t.Helper()
		if err := f.Run(func(ctx sdk.Context) error {
			_, err := f.SubnetMsg.SetTake(ctx, &types.MsgSetTake{Owner: owner.String(), Hotkey: hk.String(), TakeBps: take})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	take := func() uint32 {
		t.Helper()
		info, err := f.Subnet.HotkeyInfo(f.Ctx, hk)
		if err != nil {
			t.Fatal(err)
		}
		return info.TakeBps
	}
	notice := int64(types.DefaultParams().TakeIncreaseNotice)
	set(500)
	if take() != 500 {
		t.Fatalf("decrease not applied at once: %d", take())
	}
	set(900)
	announced := f.Ctx.BlockHeight()
	if take() != 500 {
		t.Fatalf("increase applied before its notice: %d", take())
	}
	mg, _ := f.Subnet.Metagraph(f.Ctx, netuid)
	if mg.Neurons[0].TakeBps != 500 {
		t.Fatalf("metagraph shows %d before the notice", mg.Neurons[0].TakeBps)
	}
	f.AdvanceTo(announced + notice - 1)
	if take() != 500 {
		t.Fatalf("increase applied one block early: %d", take())
	}
	f.Advance(1)
	if take() != 900 {
		t.Fatalf("increase not applied after the notice: %d", take())
	}
	// A decrease cancels a pending increase.
	f.Advance(int64(types.DefaultParams().TakeIncreaseRateLimit))
	set(1_500)
	set(200)
	f.Advance(notice + 1)
	if take() != 200 {
		t.Fatalf("a cancelled increase applied: %d", take())
	}
}

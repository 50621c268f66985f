package keeper_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

func TestCreateSubnetLockDoublesAndDecays(t *testing.T) {
	f := newFixture(t)
	p := types.DefaultParams()
	alice := addr("alice")

	first := f.CreateSubnet(alice, nil)
	if first != 1 {
		t.Fatalf("first netuid = %d, want 1", first)
	}
	s, _ := f.Subnet.GetSubnet(f.Ctx, first)
	if !s.Locked.Equal(p.MinLockCost) {
		t.Fatalf("first lock %s, want the floor %s", s.Locked, p.MinLockCost)
	}
	if !f.ModuleBalance(types.ModuleName).Equal(p.MinLockCost) {
		t.Fatalf("module holds %s, want the lock", f.ModuleBalance(types.ModuleName))
	}
	cost, _ := f.Subnet.LockCost(f.Ctx)
	if !cost.Equal(p.MinLockCost.MulRaw(2)) {
		t.Fatalf("lock right after a creation = %s, want double the last", cost)
	}
	// Half the reduction interval later: 2L - L/2.
	f.Advance(int64(p.LockReductionInterval / 2))
	cost, _ = f.Subnet.LockCost(f.Ctx)
	if want := p.MinLockCost.MulRaw(3).QuoRaw(2); !cost.Equal(want) {
		t.Fatalf("lock after half the interval = %s, want %s", cost, want)
	}
	// Far later it is back at the floor.
	f.Advance(int64(p.LockReductionInterval) * 2)
	if cost, _ = f.Subnet.LockCost(f.Ctx); !cost.Equal(p.MinLockCost) {
		t.Fatalf("lock long after = %s, want floor", cost)
	}
}

func TestCreateSubnetFailures(t *testing.T) {
	f := newFixture(t)
	bob := addr("bob")
	create := func(owner string, tk types.Task, maxLock sdkmath.Int) error {
		return f.Run(func(ctx sdk.Context) error {
			_, err := f.SubnetMsg.CreateSubnet(ctx, &types.MsgCreateSubnet{Owner: owner, Name: "x", Task: tk, MaxLock: maxLock})
			return err
		})
	}
	expectErr(t, create(bob.String(), task(), sdkmath.ZeroInt()), nil) // unfunded: bank refuses
	bad := task()
	bad.ModelSha256 = "xyz"
	f.Fund(bob, 1_000_000_000)
	expectErr(t, create(bob.String(), bad, sdkmath.ZeroInt()), types.ErrInvalidTask)
	bad = task()
	bad.EngineFormat = "gguf"
	expectErr(t, create(bob.String(), bad, sdkmath.ZeroInt()), types.ErrInvalidTask)
	expectErr(t, create("notanaddress", task(), sdkmath.ZeroInt()), types.ErrInvalidAddress)
	expectErr(t, create(bob.String(), task(), sdkmath.NewInt(1)), types.ErrLockTooHigh)
	if got := f.Balance(bob); !got.Equal(sdkmath.NewInt(1_000_000_000)) {
		t.Fatalf("failed creations moved funds: %s", got)
	}

	// Subnet limit.
	p := types.DefaultParams()
	p.SubnetLimit = 1
	if _, err := f.SubnetMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: f.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	f.CreateSubnet(addr("carol"), nil)
	expectErr(t, create(bob.String(), task(), sdkmath.ZeroInt()), types.ErrSubnetLimit)
}

func TestHyperparamsOwnerWithinBounds(t *testing.T) {
	f := newFixture(t)
	owner := addr("owner")
	netuid := f.CreateSubnet(owner, nil)
	update := func(sender string, h types.Hyperparams) error {
		return f.Run(func(ctx sdk.Context) error {
			_, err := f.SubnetMsg.UpdateSubnetHyperparams(ctx, &types.MsgUpdateSubnetHyperparams{Sender: sender, Netuid: netuid, Hyperparams: h})
			return err
		})
	}
	h := types.DefaultHyperparams()
	h.Tempo = 10
	if err := update(owner.String(), h); err != nil {
		t.Fatal(err)
	}
	h.MaxUids = types.MaxUIDsBound + 1
	expectErr(t, update(owner.String(), h), types.ErrInvalidHyperparams)
	h = types.DefaultHyperparams()
	h.Kappa = 70000
	expectErr(t, update(owner.String(), h), types.ErrInvalidHyperparams)
	expectErr(t, update(addr("mallory").String(), types.DefaultHyperparams()), types.ErrNotSubnetOwner)
	// Governance may update too, also within bounds.
	h = types.DefaultHyperparams()
	h.Tempo = 42
	if err := update(f.Gov, h); err != nil {
		t.Fatal(err)
	}
	s, _ := f.Subnet.GetSubnet(f.Ctx, netuid)
	if s.Hyperparams.Tempo != 42 {
		t.Fatalf("tempo = %d", s.Hyperparams.Tempo)
	}
}

func TestDissolveReturnsLockAndUnbondsStake(t *testing.T) {
	f := newFixture(t)
	owner, hk, del := addr("owner"), addr("hk"), addr("del")
	netuid := f.CreateSubnet(owner, nil)
	f.MustRegister(netuid, hk, owner)
	f.Fund(del, 50_000)
	if err := f.AddStake(netuid, hk, del, 50_000); err != nil {
		t.Fatal(err)
	}
	s, _ := f.Subnet.GetSubnet(f.Ctx, netuid)
	if _, err := f.SubnetMsg.DissolveSubnet(f.Ctx, &types.MsgDissolveSubnet{Authority: owner.String(), Netuid: netuid}); err == nil {
		t.Fatal("owner dissolved without governance")
	}
	if _, err := f.SubnetMsg.DissolveSubnet(f.Ctx, &types.MsgDissolveSubnet{Authority: f.Gov, Netuid: netuid}); err != nil {
		t.Fatal(err)
	}
	if !f.Balance(owner).Equal(s.Locked) {
		t.Fatalf("owner got %s back, want lock %s", f.Balance(owner), s.Locked)
	}
	if _, err := f.Subnet.GetSubnet(f.Ctx, netuid); err == nil {
		t.Fatal("subnet still exists")
	}
	f.CheckSubnetBalance()
	f.Advance(int64(types.DefaultParams().UnbondingPeriod))
	if !f.Balance(del).Equal(sdkmath.NewInt(50_000)) {
		t.Fatalf("delegator got %s after unbonding, want 50000", f.Balance(del))
	}
	if !f.ModuleBalance(types.ModuleName).IsZero() {
		t.Fatalf("module still holds %s", f.ModuleBalance(types.ModuleName))
	}
}

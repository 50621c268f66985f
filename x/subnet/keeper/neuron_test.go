package keeper_test

import (
	"fmt"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/subnet/types"
)

func TestRegisterBurnsAndBumpsPrice(t *testing.T) {
	f := newFixture(t)
	owner := addr("owner")
	netuid := f.CreateSubnet(owner, nil)
	h := types.DefaultHyperparams()
	supplyBefore := f.Bank.GetSupply(f.Ctx, denom).Amount

	price, _ := f.Subnet.RegistrationPrice(f.Ctx, netuid)
	if !price.Equal(h.MinBurn) {
		t.Fatalf("first price %s, want min %s", price, h.MinBurn)
	}
	res, err := f.Register(netuid, addr("hk0"), owner)
	if err != nil {
		t.Fatal(err)
	}
	if res.Uid != 0 || !res.Burned.Equal(price) {
		t.Fatalf("register = %+v", res)
	}
	if !f.Balance(addr("hk0")).IsZero() {
		t.Fatal("hotkey kept the burn")
	}
	// Supply shrank by the burn (fund minted exactly the price).
	if got := f.Bank.GetSupply(f.Ctx, denom).Amount; !got.Equal(supplyBefore) {
		t.Fatalf("supply %s, want %s (minted price, burned price)", got, supplyBefore)
	}
	next, _ := f.Subnet.RegistrationPrice(f.Ctx, netuid)
	if !next.Equal(price.MulRaw(2)) {
		t.Fatalf("price after registration = %s, want x2 = %s", next, price.MulRaw(2))
	}
	// One half-life later it has halved back; half of that again is 3/4.
	f.Advance(int64(h.BurnHalfLife / 2))
	mid, _ := f.Subnet.RegistrationPrice(f.Ctx, netuid)
	if want := next.MulRaw(3).QuoRaw(4); !mid.Equal(want) {
		t.Fatalf("price at half a half-life = %s, want %s", mid, want)
	}
	f.Advance(int64(h.BurnHalfLife / 2))
	half, _ := f.Subnet.RegistrationPrice(f.Ctx, netuid)
	if !half.Equal(price) {
		t.Fatalf("price after one half-life = %s, want %s", half, price)
	}
	// It never falls below the floor.
	f.Advance(int64(h.BurnHalfLife) * 10)
	if floor, _ := f.Subnet.RegistrationPrice(f.Ctx, netuid); !floor.Equal(h.MinBurn) {
		t.Fatalf("price long after = %s, want min %s", floor, h.MinBurn)
	}
}

func TestRegisterFailuresChangeNothing(t *testing.T) {
	f := newFixture(t)
	owner := addr("owner")
	netuid := f.CreateSubnet(owner, nil)
	hk := addr("hk")
	f.MustRegister(netuid, hk, owner)

	reg := func(hotkey, ownr string, net uint32, maxBurn sdkmath.Int) error {
		return f.Run(func(ctx sdk.Context) error {
			_, err := f.SubnetMsg.RegisterNeuron(ctx, &types.MsgRegisterNeuron{Hotkey: hotkey, Owner: ownr, Netuid: net, MaxBurn: maxBurn})
			return err
		})
	}
	big := sdkmath.NewInt(1_000_000_000_000)
	expectErr(t, reg(hk.String(), owner.String(), netuid, big), types.ErrAlreadyRegistered)
	expectErr(t, reg(addr("x").String(), owner.String(), 99, big), types.ErrSubnetNotFound)
	expectErr(t, reg("merit1bad", owner.String(), netuid, big), types.ErrInvalidAddress)
	expectErr(t, reg(addr("x").String(), "", netuid, big), types.ErrInvalidAddress)
	expectErr(t, reg(addr("poor").String(), owner.String(), netuid, big), nil) // insufficient funds
	price, _ := f.Subnet.RegistrationPrice(f.Ctx, netuid)
	f.Fund(addr("rich"), price.Int64())
	expectErr(t, reg(addr("rich").String(), owner.String(), netuid, price.SubRaw(1)), types.ErrPriceTooHigh)
	// The same hotkey on another subnet must name the same owner.
	other := f.CreateSubnet(owner, nil)
	f.Fund(hk, 1_000_000_000)
	expectErr(t, reg(hk.String(), addr("thief").String(), other, big), types.ErrOwnerMismatch)

	s, _ := f.Subnet.GetSubnet(f.Ctx, netuid)
	if s.N != 1 || s.Registrations != 1 {
		t.Fatalf("failed registrations changed the subnet: n=%d registrations=%d", s.N, s.Registrations)
	}
	if !f.Balance(addr("rich")).Equal(price) {
		t.Fatal("refused registration burned funds")
	}
}

// fullSubnet makes a subnet of max UIDs registered one per block.
func fullSubnet(t *testing.T, f *keepertest.Fixture, maxUIDs uint32, immunity uint64) uint32 {
	owner := addr("owner")
	netuid := f.CreateSubnet(owner, func(h *types.Hyperparams) {
		h.MaxUids, h.MaxValidators, h.ImmunityPeriod = maxUIDs, maxUIDs, immunity
		h.BurnIncreaseBps = types.BasisPoints // keep the price flat
	})
	for i := uint32(0); i < maxUIDs; i++ {
		f.MustRegister(netuid, addr(fmt.Sprintf("hk%d", i)), owner)
		f.Advance(1)
	}
	return netuid
}

func setEmission(t *testing.T, f *keepertest.Fixture, netuid, uid uint32, em int64) {
	n, err := f.Subnet.GetNeuron(f.Ctx, netuid, uid)
	if err != nil {
		t.Fatal(err)
	}
	n.LastEmission = sdkmath.NewInt(em)
	if err := f.Subnet.SetNeuron(f.Ctx, netuid, n); err != nil {
		t.Fatal(err)
	}
}

func TestPruningOrder(t *testing.T) {
	f := newFixture(t)
	netuid := fullSubnet(t, f, 4, 3)
	f.Advance(10) // everyone is past immunity
	for uid, em := range []int64{50, 20, 20, 90} {
		setEmission(t, f, netuid, uint32(uid), em)
	}
	// Lowest emission 20 is shared by UIDs 1 and 2; UID 1 registered earlier.
	res, err := f.Register(netuid, addr("new1"), addr("owner"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Uid != 1 || res.PrunedHotkey != addr("hk1").String() {
		t.Fatalf("pruned uid %d (%s), want uid 1 (hk1)", res.Uid, res.PrunedHotkey)
	}
	if _, err := f.Subnet.NeuronByHotkey(f.Ctx, netuid, addr("hk1")); err == nil {
		t.Fatal("pruned hotkey still registered")
	}
	n, _ := f.Subnet.GetNeuron(f.Ctx, netuid, 1)
	if n.Hotkey != addr("new1").String() || !n.LastEmission.IsZero() || n.Endpoint.Address != "" {
		t.Fatalf("reused uid holds %+v", n)
	}
	// new1 is immune now, so despite emission 0 the next victim is UID 2 (20).
	res, err = f.Register(netuid, addr("new2"), addr("owner"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Uid != 2 {
		t.Fatalf("pruned uid %d, want 2 (the immune newcomer is skipped)", res.Uid)
	}
	if err := f.Subnet.CheckTotals(f.Ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPruningWhenAllImmune(t *testing.T) {
	f := newFixture(t)
	netuid := fullSubnet(t, f, 3, 1000)
	setEmission(t, f, netuid, 0, 5)
	setEmission(t, f, netuid, 1, 5)
	setEmission(t, f, netuid, 2, 1)
	res, err := f.Register(netuid, addr("late"), addr("owner"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Uid != 2 {
		t.Fatalf("all immune: pruned uid %d, want 2 (lowest emission)", res.Uid)
	}
}

func TestServeEndpoint(t *testing.T) {
	f := newFixture(t)
	owner, hk := addr("owner"), addr("hk")
	netuid := f.CreateSubnet(owner, nil)
	f.MustRegister(netuid, hk, owner)
	serve := func(address, model string) error {
		return f.Run(func(ctx sdk.Context) error {
			_, err := f.SubnetMsg.ServeEndpoint(ctx, &types.MsgServeEndpoint{Hotkey: hk.String(), Netuid: netuid, Address: address, ProtocolVersion: 1, ModelId: model})
			return err
		})
	}
	for _, bad := range []string{"", "nohost", ":8080", "host:0", "host:65536", "host:port", "ho st:80", string(make([]byte, 200)) + ":1"} {
		expectErr(t, serve(bad, "m"), types.ErrInvalidEndpoint)
	}
	expectErr(t, serve("127.0.0.1:8080", ""), types.ErrInvalidEndpoint)
	if err := serve("127.0.0.1:8080", task().ModelID()); err != nil {
		t.Fatal(err)
	}
	expectErr(t, serve("127.0.0.1:9090", "m"), types.ErrRateLimited)
	f.Advance(int64(types.DefaultHyperparams().ServingRateLimit))
	if err := serve("[::1]:9090", "m2"); err != nil {
		t.Fatal(err)
	}
	n, _ := f.Subnet.NeuronByHotkey(f.Ctx, netuid, hk)
	if n.Endpoint.Address != "[::1]:9090" || n.Endpoint.ModelId != "m2" || n.Endpoint.ProtocolVersion != 1 {
		t.Fatalf("endpoint = %+v", n.Endpoint)
	}
	// An unregistered hotkey cannot serve.
	err := f.Run(func(ctx sdk.Context) error {
		_, err := f.SubnetMsg.ServeEndpoint(ctx, &types.MsgServeEndpoint{Hotkey: addr("stranger").String(), Netuid: netuid, Address: "1.2.3.4:5", ModelId: "m"})
		return err
	})
	expectErr(t, err, types.ErrNeuronNotFound)
}

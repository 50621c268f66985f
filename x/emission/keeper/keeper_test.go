package keeper_test

import (
	"fmt"
	"math/rand"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/emission/types"
	scoringtypes "github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

var addr = keepertest.Addr

func TestIssuanceAccruesToSubnetsWithNeurons(t *testing.T) {
	f := keepertest.New(t, keepertest.WithEmission())
	p := types.DefaultParams()
	owner := addr("owner")
	empty := f.CreateSubnet(owner, nil)
	used := f.CreateSubnet(owner, nil)
	f.MustRegister(used, addr("hk"), owner)
	f.Advance(10)

	issued, _ := f.Emission.GetTotalIssued(f.Ctx)
	if want := p.InitialBlockReward.MulRaw(10); !issued.Equal(want) {
		t.Fatalf("issued %s after 10 blocks, want %s", issued, want)
	}
	fees := f.ModuleBalance(authtypes.FeeCollectorName)
	if want := p.InitialBlockReward.MulRaw(10).MulRaw(int64(p.ChainSecurityShareBps)).QuoRaw(types.BasisPoints); !fees.Equal(want) {
		t.Fatalf("fee collector got %s, want %s", fees, want)
	}
	res, _ := f.EmissionQuery.Subnets(f.Ctx, &types.QuerySubnetsRequest{})
	if len(res.Subnets) != 1 || res.Subnets[0].Netuid != used {
		t.Fatalf("accruing subnets %+v, want only %d (subnet %d has no neurons)", res.Subnets, used, empty)
	}
	if !res.Subnets[0].Pending.Equal(issued.Sub(fees)) {
		t.Fatalf("pending %s, want %s", res.Subnets[0].Pending, issued.Sub(fees))
	}
	checkEmissionBalance(t, f)
}

func TestStakeEMASharesResistFlashStake(t *testing.T) {
	f := keepertest.New(t, keepertest.WithEmission())
	owner := addr("owner")
	a := f.CreateSubnet(owner, nil)
	b := f.CreateSubnet(owner, nil)
	f.MustRegister(a, addr("ha"), owner)
	f.MustRegister(b, addr("hb"), owner)
	f.Fund(owner, 2_000_000_000)
	if err := f.AddStake(a, addr("ha"), owner, 1_000_000_000); err != nil {
		t.Fatal(err)
	}
	f.Advance(300) // a's EMA has caught up with its stake; b has none
	// A whale stakes 10x on b for one block.
	f.Fund(addr("whale"), 10_000_000_000)
	if err := f.AddStake(b, addr("hb"), addr("whale"), 10_000_000_000); err != nil {
		t.Fatal(err)
	}
	before, _ := f.EmissionQuery.Subnets(f.Ctx, &types.QuerySubnetsRequest{})
	f.Advance(1)
	after, _ := f.EmissionQuery.Subnets(f.Ctx, &types.QuerySubnetsRequest{})
	gotB := after.Subnets[1].Pending.Sub(before.Subnets[1].Pending)
	gotA := after.Subnets[0].Pending.Sub(before.Subnets[0].Pending)
	if !gotB.LT(gotA) {
		t.Fatalf("a one-block 10x stake took %s vs %s: the EMA should damp it", gotB, gotA)
	}
}

func TestFixedSharesByGovernance(t *testing.T) {
	f := keepertest.New(t, keepertest.WithEmission())
	owner := addr("owner")
	a := f.CreateSubnet(owner, nil)
	b := f.CreateSubnet(owner, nil)
	f.MustRegister(a, addr("ha"), owner)
	f.MustRegister(b, addr("hb"), owner)
	p := types.DefaultParams()
	p.FixedShares = []types.SubnetShare{{Netuid: a, ShareBps: 7_500}, {Netuid: b, ShareBps: 2_500}}
	if _, err := f.EmissionMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: f.Gov, Params: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.EmissionMsg.UpdateParams(f.Ctx, &types.MsgUpdateParams{Authority: owner.String(), Params: p}); err == nil {
		t.Fatal("a non-gov account changed emission params")
	}
	f.Advance(4)
	res, _ := f.EmissionQuery.Subnets(f.Ctx, &types.QuerySubnetsRequest{})
	if !res.Subnets[0].Pending.Equal(res.Subnets[1].Pending.MulRaw(3)) {
		t.Fatalf("pending %s vs %s, want 3:1", res.Subnets[0].Pending, res.Subnets[1].Pending)
	}
}

// TestEpochPayout checks the money of one epoch against a given Yuma result:
// owner cut, miner shares to owners, validator take and the delegators' pro-rata compounding.
func TestEpochPayout(t *testing.T) {
	f := keepertest.New(t, keepertest.WithEmission())
	owner, vOwner, mOwner := addr("subnetowner"), addr("valowner"), addr("minerowner")
	netuid := f.CreateSubnet(owner, nil)
	val, miner := addr("val"), addr("miner")
	f.MustRegister(netuid, val, vOwner)
	f.MustRegister(netuid, miner, mOwner)
	d1, d2 := addr("d1"), addr("d2")
	f.Fund(d1, 300_000)
	f.Fund(d2, 100_000)
	if err := f.AddStake(netuid, val, d1, 300_000); err != nil {
		t.Fatal(err)
	}
	if err := f.AddStake(netuid, val, d2, 100_000); err != nil {
		t.Fatal(err)
	}
	// Fund the module as if 1,000,000 had accrued, and pay a fixed result.
	f.Fund(addr("x"), 1_000_000)
	if err := f.Bank.SendCoinsFromAccountToModule(f.Ctx, addr("x"), types.ModuleName, sdk.NewCoins(sdk.NewInt64Coin(keepertest.Denom, 1_000_000))); err != nil {
		t.Fatal(err)
	}
	neurons, _, _ := f.Subnet.NeuronsOf(f.Ctx, netuid)
	subnetBefore := f.ModuleBalance(subnettypes.ModuleName)
	err := f.Emission.PayEpoch(f.Ctx, scoringtypes.EpochPayout{
		Netuid: netuid, Epoch: 1, Block: f.Ctx.BlockHeight(), Owner: owner.String(), OwnerCut: sdkmath.NewInt(180_000),
		Neurons: neurons, Miner: []uint64{0, 410_000}, Validator: []uint64{410_000, 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Owner cut.
	if got := f.Balance(owner); !got.Equal(sdkmath.NewInt(180_000)) {
		t.Fatalf("subnet owner got %s", got)
	}
	// Miner share to the miner's owner, not the hotkey.
	if got := f.Balance(mOwner); !got.Equal(sdkmath.NewInt(410_000)) {
		t.Fatalf("miner owner got %s", got)
	}
	// Validator: take 18% of 410000 = 73800 to its owner; 336200 to delegators 3:1.
	if got := f.Balance(vOwner); !got.Equal(sdkmath.NewInt(73_800)) {
		t.Fatalf("validator owner got %s, want take 73800", got)
	}
	s1, _ := f.Subnet.GetStake(f.Ctx, netuid, val, d1)
	s2, _ := f.Subnet.GetStake(f.Ctx, netuid, val, d2)
	if !s1.Equal(sdkmath.NewInt(300_000+252_150)) || !s2.Equal(sdkmath.NewInt(100_000+84_050)) {
		t.Fatalf("delegator stakes %s, %s; want 552150 and 184050", s1, s2)
	}
	if got := f.ModuleBalance(subnettypes.ModuleName).Sub(subnetBefore); !got.Equal(sdkmath.NewInt(336_200)) {
		t.Fatalf("x/subnet received %s for compounding, want 336200", got)
	}
	f.CheckSubnetBalance()
	hist, _ := f.EmissionQuery.NeuronHistory(f.Ctx, &types.QueryNeuronHistoryRequest{Netuid: netuid, Uid: 1})
	if len(hist.Records) != 1 || !hist.Records[0].Miner.Equal(sdkmath.NewInt(410_000)) {
		t.Fatalf("history %+v", hist.Records)
	}
}

func TestDelegatorSplitRemainderGoesToOwner(t *testing.T) {
	f := keepertest.New(t, keepertest.WithEmission())
	owner := addr("owner")
	netuid := f.CreateSubnet(owner, nil)
	val := addr("val")
	f.MustRegister(netuid, val, owner)
	for _, d := range []string{"a", "b", "c"} {
		f.Fund(addr(d), 1_000)
		if err := f.AddStake(netuid, val, addr(d), 1_000); err != nil {
			t.Fatal(err)
		}
	}
	f.Fund(addr("x"), 1_000)
	_ = f.Bank.SendCoinsFromAccountToModule(f.Ctx, addr("x"), types.ModuleName, sdk.NewCoins(sdk.NewInt64Coin(keepertest.Denom, 1_000)))
	neurons, _, _ := f.Subnet.NeuronsOf(f.Ctx, netuid)
	before := f.Balance(owner)
	if err := f.Emission.PayEpoch(f.Ctx, scoringtypes.EpochPayout{Netuid: netuid, Epoch: 1, Owner: owner.String(), OwnerCut: sdkmath.ZeroInt(),
		Neurons: neurons, Miner: []uint64{0}, Validator: []uint64{1_000}}); err != nil {
		t.Fatal(err)
	}
	// take 180, rest 820 split three ways: 273 each, remainder 1 to the owner.
	if got := f.Balance(owner).Sub(before); !got.Equal(sdkmath.NewInt(181)) {
		t.Fatalf("owner got %s, want 180 take + 1 remainder", got)
	}
	if !f.ModuleBalance(types.ModuleName).IsZero() {
		t.Fatalf("module kept %s", f.ModuleBalance(types.ModuleName))
	}
}

func checkEmissionBalance(t *testing.T, f *keepertest.Fixture) {
	t.Helper()
	want, err := f.Emission.AccountedBalance(f.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.ModuleBalance(types.ModuleName); !got.Equal(want) {
		t.Fatalf("x/emission holds %s, pending + carry = %s", got, want)
	}
}

// TestSupplyInvariantRandomRun runs many blocks of random registrations,
// stake moves, weights and epochs, and checks after every block that
//
//	bank supply = genesis supply + issued − burned
//	x/emission balance = pending + carry
//	x/subnet balance = stakes + unbonding + locks
func TestSupplyInvariantRandomRun(t *testing.T) {
	f := keepertest.New(t, keepertest.WithEmission())
	r := rand.New(rand.NewSource(11))
	owner := addr("owner")
	nets := []uint32{
		f.CreateSubnet(owner, func(h *subnettypes.Hyperparams) {
			h.Tempo, h.MaxUids, h.MaxValidators, h.ImmunityPeriod, h.CommitRevealEnabled, h.WeightsRateLimit = 7, 6, 3, 4, false, 1
		}),
		f.CreateSubnet(owner, func(h *subnettypes.Hyperparams) {
			h.Tempo, h.MaxUids, h.MaxValidators, h.CommitRevealEnabled, h.WeightsRateLimit = 5, 4, 2, false, 1
		}),
	}
	genesisSupply := f.Bank.GetSupply(f.Ctx, keepertest.Denom).Amount
	externallyMinted := sdkmath.ZeroInt() // minted by the test faucet after the snapshot
	fund := func(a sdk.AccAddress, amt int64) {
		f.Fund(a, amt)
		externallyMinted = externallyMinted.AddRaw(amt)
	}
	hot := make([]sdk.AccAddress, 10)
	for i := range hot {
		hot[i] = addr(fmt.Sprintf("h%d", i))
	}
	for block := 0; block < 250; block++ {
		for op := 0; op < 3; op++ {
			netuid := nets[r.Intn(len(nets))]
			hk := hot[r.Intn(len(hot))]
			switch r.Intn(5) {
			case 0:
				price, _ := f.Subnet.RegistrationPrice(f.Ctx, netuid)
				fund(hk, price.Int64())
				_ = f.Run(func(ctx sdk.Context) error {
					_, err := f.SubnetMsg.RegisterNeuron(ctx, &subnettypes.MsgRegisterNeuron{Hotkey: hk.String(), Owner: owner.String(), Netuid: netuid, MaxBurn: price})
					return err
				})
			case 1:
				d := addr(fmt.Sprintf("d%d", r.Intn(4)))
				fund(d, 50_000)
				_ = f.AddStake(netuid, hk, d, 50_000)
			case 2:
				d := addr(fmt.Sprintf("d%d", r.Intn(4)))
				if cur, _ := f.Subnet.GetStake(f.Ctx, netuid, hk, d); cur.IsPositive() {
					_ = f.RemoveStake(netuid, hk, d, cur.Int64())
				}
			case 3, 4:
				n, err := f.Subnet.NeuronByHotkey(f.Ctx, netuid, hk)
				s, _ := f.Subnet.GetSubnet(f.Ctx, netuid)
				if err == nil && n.ValidatorPermit && s.N > 1 {
					uids := []uint32{uint32(r.Intn(int(s.N)))}
					_ = f.Run(func(ctx sdk.Context) error {
						_, err := f.ScoringMsg.SetWeights(ctx, &scoringtypes.MsgSetWeights{Hotkey: hk.String(), Netuid: netuid, Uids: uids, Weights: []uint32{1 + uint32(r.Intn(65535))}})
						return err
					})
				}
			}
		}
		f.Advance(1)

		issued, _ := f.Emission.GetTotalIssued(f.Ctx)
		burned, _ := f.Subnet.GetTotalBurned(f.Ctx)
		supply := f.Bank.GetSupply(f.Ctx, keepertest.Denom).Amount
		if want := genesisSupply.Add(externallyMinted).Add(issued).Sub(burned); !supply.Equal(want) {
			t.Fatalf("block %d: supply %s != genesis+faucet %s + issued %s − burned %s", block, supply, genesisSupply.Add(externallyMinted), issued, burned)
		}
		checkEmissionBalance(t, f)
		f.CheckSubnetBalance()
	}
	paid := sdkmath.ZeroInt()
	res, _ := f.EmissionQuery.Subnets(f.Ctx, &types.QuerySubnetsRequest{})
	for _, se := range res.Subnets {
		paid = paid.Add(se.Paid)
	}
	if !paid.IsPositive() {
		t.Fatal("the random run never paid an epoch")
	}
}

// TestDissolvedSubnetPendingGoesToLiveSubnets: the pending emission of a
// dissolved subnet is folded into the carry and accrued to the live subnets,
// and stays accounted for in between.
func TestDissolvedSubnetPendingGoesToLiveSubnets(t *testing.T) {
	f := keepertest.New(t, keepertest.WithEmission())
	owner := addr("owner")
	a := f.CreateSubnet(owner, nil)
	b := f.CreateSubnet(owner, nil)
	f.MustRegister(a, addr("ha"), owner)
	f.MustRegister(b, addr("hb"), owner)
	f.Advance(10)
	before, _ := f.EmissionQuery.Subnets(f.Ctx, &types.QuerySubnetsRequest{})
	if len(before.Subnets) != 2 || !before.Subnets[0].Pending.IsPositive() {
		t.Fatalf("subnets before dissolving: %+v", before.Subnets)
	}
	dissolved := before.Subnets[0].Pending
	if _, err := f.SubnetMsg.DissolveSubnet(f.Ctx, &subnettypes.MsgDissolveSubnet{Authority: f.Gov, Netuid: a}); err != nil {
		t.Fatal(err)
	}
	f.Advance(1)
	checkEmissionBalance(t, f)
	after, _ := f.EmissionQuery.Subnets(f.Ctx, &types.QuerySubnetsRequest{})
	if len(after.Subnets) != 1 || after.Subnets[0].Netuid != b {
		t.Fatalf("subnets after dissolving %d: %+v", a, after.Subnets)
	}
	// b gets the whole block's subnet part plus what a had pending (less
	// the carry's rounding, here nothing: b is the only subnet).
	p := types.DefaultParams()
	blockPart := p.InitialBlockReward.Sub(p.InitialBlockReward.MulRaw(int64(p.ChainSecurityShareBps)).QuoRaw(types.BasisPoints))
	if got, want := after.Subnets[0].Pending.Sub(before.Subnets[1].Pending), blockPart.Add(dissolved); !got.Equal(want) {
		t.Fatalf("b accrued %s, want the block's %s + a's pending %s", got, blockPart, dissolved)
	}
}

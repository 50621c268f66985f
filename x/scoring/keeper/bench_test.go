package keeper_test

import (
	"encoding/binary"
	"testing"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// BenchmarkSetWeights4096 is the delivery cost of MsgSetWeights carrying
// 4096 entries on a full 4096-UID subnet (validation, upscale, store).
func BenchmarkSetWeights4096(b *testing.B) {
	f := keepertest.New(b)
	owner := keepertest.Addr("owner")
	netuid := f.CreateSubnet(owner, func(h *subnettypes.Hyperparams) {
		h.MaxUids, h.MaxValidators, h.Tempo = subnettypes.MaxUIDsBound, 64, 100_000
		h.CommitRevealEnabled, h.WeightsRateLimit = false, 0
		h.MinBurn, h.BurnIncreaseBps = sdkmath.ZeroInt(), subnettypes.BasisPoints
	})
	var val sdk.AccAddress
	for i := 0; i < subnettypes.MaxUIDsBound; i++ {
		a := make([]byte, 20)
		binary.BigEndian.PutUint64(a, uint64(i)+1)
		if _, err := f.Register(netuid, a, owner); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			val = a
		}
	}
	n, _ := f.Subnet.GetNeuron(f.Ctx, netuid, 0)
	n.ValidatorPermit = true
	if err := f.Subnet.SetNeuron(f.Ctx, netuid, n); err != nil {
		b.Fatal(err)
	}
	f.Commit()
	uids := make([]uint32, subnettypes.MaxUIDsBound)
	weights := make([]uint32, subnettypes.MaxUIDsBound)
	for i := range uids {
		uids[i], weights[i] = uint32(subnettypes.MaxUIDsBound-1-i), uint32(1+i%65535)
	}
	msg := &types.MsgSetWeights{Hotkey: val.String(), Netuid: netuid, Uids: uids, Weights: weights}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Ctx = f.Ctx.WithBlockHeight(f.Ctx.BlockHeight() + 1)
		if err := f.Run(func(ctx sdk.Context) error { _, err := f.ScoringMsg.SetWeights(ctx, msg); return err }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEpochInput4096x256 is the cost of reading a dense subnet's epoch
// input from the store: 4096 UIDs, 256 validators each with a weight row and
// a bond row naming every UID (what yuma.Run then gets).
func BenchmarkEpochInput4096x256(b *testing.B) {
	const n, v = subnettypes.MaxUIDsBound, 256
	f := keepertest.New(b)
	owner := keepertest.Addr("owner")
	netuid := f.CreateSubnet(owner, func(h *subnettypes.Hyperparams) {
		h.MaxUids, h.MaxValidators, h.Tempo = n, v, 100_000
		h.MinBurn, h.BurnIncreaseBps = sdkmath.ZeroInt(), subnettypes.BasisPoints
	})
	for i := 0; i < n; i++ {
		a := make([]byte, 20)
		binary.BigEndian.PutUint64(a, uint64(i)+1)
		if _, err := f.Register(netuid, a, owner); err != nil {
			b.Fatal(err)
		}
	}
	uids := make([]uint32, n)
	weights := make([]uint32, n)
	bonds := make([]uint64, n)
	for j := range uids {
		uids[j], weights[j], bonds[j] = uint32(j), uint32(1+j%65535), uint64(1+j)<<16
	}
	for i := uint32(0); i < v; i++ {
		if err := f.Scoring.Weights.Set(f.Ctx, collections.Join(netuid, i), types.WeightsRow{Uids: uids, Values: weights, SetAt: 1}); err != nil {
			b.Fatal(err)
		}
		if err := f.Scoring.Bonds.Set(f.Ctx, collections.Join(netuid, i), types.BondsRow{Uids: uids, Values: bonds}); err != nil {
			b.Fatal(err)
		}
	}
	f.Commit()
	s, err := f.Subnet.GetSubnet(f.Ctx, netuid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		in, _, err := f.Scoring.EpochInput(f.Ctx, s, types.EpochState{}, f.Ctx.BlockHeight())
		if err != nil || len(in.Bonds[v-1]) != n || len(in.Weights[v-1]) != n {
			b.Fatal(err)
		}
	}
}

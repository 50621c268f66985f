package keeper_test

import (
	"encoding/binary"
	"testing"

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

package keeper_test

import (
	"strings"
	"testing"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// TestEpochInputCorruptRow: a stored weights or bonds row whose uids and
// values differ in length fails the epoch's input with an error (EndBlock
// skips and logs the subnet) instead of indexing past the values.
func TestEpochInputCorruptRow(t *testing.T) {
	for _, corrupt := range []string{"weights", "bonds"} {
		f := keepertest.New(t)
		owner := keepertest.Addr("owner")
		netuid := f.CreateSubnet(owner, func(h *subnettypes.Hyperparams) { h.MinBurn = sdkmath.ZeroInt() })
		if _, err := f.Register(netuid, keepertest.Addr("v0"), owner); err != nil {
			t.Fatal(err)
		}
		var err error
		if corrupt == "weights" {
			err = f.Scoring.Weights.Set(f.Ctx, collections.Join(netuid, uint32(0)), types.WeightsRow{Uids: []uint32{0, 0}, Values: []uint32{1}, SetAt: 1})
		} else {
			err = f.Scoring.Bonds.Set(f.Ctx, collections.Join(netuid, uint32(0)), types.BondsRow{Uids: []uint32{0, 0}, Values: []uint64{1}})
		}
		if err != nil {
			t.Fatal(err)
		}
		s, err := f.Subnet.GetSubnet(f.Ctx, netuid)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.Scoring.EpochInput(f.Ctx, s, types.EpochState{}, f.Ctx.BlockHeight())
		if err == nil || !strings.Contains(err.Error(), "stored "+corrupt) {
			t.Fatalf("corrupt %s row: %v", corrupt, err)
		}
	}
}

package keeper_test

import (
	"encoding/binary"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/subnet/types"
)

func benchAddr(i int) sdk.AccAddress {
	b := make([]byte, 20)
	binary.BigEndian.PutUint64(b, uint64(i)+1)
	return b
}

// fullBenchSubnet fills a 4096-UID subnet, past immunity, with emissions set.
func fullBenchSubnet(b *testing.B) (*keepertest.Fixture, uint32) {
	f := newFixture(b)
	owner := addr("owner")
	netuid := f.CreateSubnet(owner, func(h *types.Hyperparams) {
		h.MaxUids, h.MaxValidators, h.ImmunityPeriod = types.MaxUIDsBound, 256, 10
		h.BurnIncreaseBps = types.BasisPoints
		h.MinBurn = sdkmath.ZeroInt()
	})
	for i := 0; i < types.MaxUIDsBound; i++ {
		if _, err := f.Register(netuid, benchAddr(i), owner); err != nil {
			b.Fatal(err)
		}
		n, _ := f.Subnet.GetNeuron(f.Ctx, netuid, uint32(i))
		n.LastEmission = sdkmath.NewInt(int64(1000 + i%977))
		_ = f.Subnet.SetNeuron(f.Ctx, netuid, n)
	}
	f.Advance(20)
	f.Commit()
	return f, netuid
}

func BenchmarkMetagraph4096(b *testing.B) {
	f, netuid := fullBenchSubnet(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mg, err := f.Subnet.Metagraph(f.Ctx, netuid)
		if err != nil || len(mg.Neurons) != types.MaxUIDsBound {
			b.Fatal(err)
		}
	}
}

func BenchmarkRegisterIntoFull4096(b *testing.B) {
	f, netuid := fullBenchSubnet(b)
	owner := addr("owner")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Newcomers are immune with emission 0, so each registration walks past
		// the earlier newcomers: this measures the realistic worst case.
		if _, err := f.Register(netuid, benchAddr(types.MaxUIDsBound+i), owner); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPruneChoice4096 is the prune decision alone in a full 4096-UID
// subnet where the 64 newest neurons are still immune with zero emission
// (they sort first and must be walked past).
func BenchmarkPruneChoice4096(b *testing.B) {
	f, netuid := fullBenchSubnet(b)
	for i := 0; i < 64; i++ {
		if _, err := f.Register(netuid, benchAddr(types.MaxUIDsBound+i), addr("owner")); err != nil {
			b.Fatal(err)
		}
	}
	f.Commit()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.Subnet.PruneCandidate(f.Ctx, netuid); err != nil {
			b.Fatal(err)
		}
	}
}

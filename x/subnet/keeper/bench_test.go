package keeper_test

import (
	"encoding/binary"
	"testing"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/x/subnet/types"
)

func benchAddr(i int) sdk.AccAddress {
	b := make([]byte, 20)
	binary.BigEndian.PutUint64(b, uint64(i)+1)
	return b
}

// fullBenchSubnet fills a 4096-UID subnet, past immunity, with emissions set.
func fullBenchSubnet(b *testing.B) (*fixture, uint32) {
	f := newFixture(b)
	owner := addr("owner")
	netuid := f.createSubnet(owner, func(h *types.Hyperparams) {
		h.MaxUids, h.MaxValidators, h.ImmunityPeriod = types.MaxUIDsBound, 256, 10
		h.BurnIncreaseBps = types.BasisPoints
		h.MinBurn = sdkmath.ZeroInt()
	})
	for i := 0; i < types.MaxUIDsBound; i++ {
		if _, err := f.register(netuid, benchAddr(i), owner); err != nil {
			b.Fatal(err)
		}
		n, _ := f.k.GetNeuron(f.ctx, netuid, uint32(i))
		n.LastEmission = sdkmath.NewInt(int64(1000 + i%977))
		_ = f.k.SetNeuron(f.ctx, netuid, n)
	}
	f.advance(20)
	f.commit()
	return f, netuid
}

func BenchmarkMetagraph4096(b *testing.B) {
	f, netuid := fullBenchSubnet(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mg, err := f.k.Metagraph(f.ctx, netuid)
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
		if _, err := f.register(netuid, benchAddr(types.MaxUIDsBound+i), owner); err != nil {
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
		if _, err := f.register(netuid, benchAddr(types.MaxUIDsBound+i), addr("owner")); err != nil {
			b.Fatal(err)
		}
	}
	f.commit()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.k.PruneCandidate(f.ctx, netuid); err != nil {
			b.Fatal(err)
		}
	}
}

package keeper

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"

	"github.com/meritnet/merit/x/scoring/types"
)

// gogoRow decodes bz with the generated Unmarshal, the reference.
func gogoRow(bz []byte, bonds bool) (row, error) {
	var r row
	if bonds {
		var v types.BondsRow
		if err := v.Unmarshal(bz); err != nil {
			return r, err
		}
		r.uids, r.vals = v.Uids, v.Values
		return r, nil
	}
	var v types.WeightsRow
	if err := v.Unmarshal(bz); err != nil {
		return r, err
	}
	r.uids, r.setAt = v.Uids, v.SetAt
	for _, x := range v.Values {
		r.vals = append(r.vals, uint64(x))
	}
	return r, nil
}

func randVal(rng *rand.Rand) uint64 {
	switch rng.IntN(4) {
	case 0:
		return rng.Uint64N(128)
	case 1:
		return rng.Uint64N(1 << 16)
	default:
		return rng.Uint64() >> rng.UintN(64)
	}
}

func randRowBytes(rng *rand.Rand, bonds bool) []byte {
	n := rng.IntN(40)
	if rng.IntN(10) == 0 {
		n = 4096
	}
	uids := make([]uint32, n)
	for j := range uids {
		uids[j] = uint32(randVal(rng))
	}
	var bz []byte
	var err error
	if bonds {
		vals := make([]uint64, n+rng.IntN(2)) // sometimes one value too many
		for j := range vals {
			vals[j] = randVal(rng)
		}
		bz, err = (&types.BondsRow{Uids: uids, Values: vals}).Marshal()
	} else {
		vals := make([]uint32, n+rng.IntN(2))
		for j := range vals {
			vals[j] = uint32(randVal(rng))
		}
		bz, err = (&types.WeightsRow{Uids: uids, Values: vals, SetAt: int64(randVal(rng))}).Marshal()
	}
	if err != nil {
		panic(err)
	}
	return bz
}

// mutate damages or reshapes bz: a flipped byte, a cut, inserted bytes, or
// a second row after it (repeated fields append, the last set_at wins).
func mutate(rng *rand.Rand, bz []byte, bonds bool) []byte {
	out := append([]byte{}, bz...)
	switch rng.IntN(4) {
	case 0:
		if len(out) > 0 {
			out[rng.IntN(len(out))] ^= byte(1 + rng.IntN(255))
		}
	case 1:
		if len(out) > 0 {
			out = out[:rng.IntN(len(out))]
		}
	case 2:
		at := rng.IntN(len(out) + 1)
		ins := []byte{byte(rng.IntN(256)), byte(rng.IntN(256)), 0x80, 0x01}[:1+rng.IntN(4)]
		out = append(out[:at], append(ins, out[at:]...)...)
	case 3:
		out = append(out, randRowBytes(rng, bonds)...)
	}
	return out
}

// TestRowDecodeMatchesGogoproto: the epoch's row decoder reads every input,
// well-formed or not, exactly as the generated protobuf code does, and takes
// its fast path for rows as the module writes them.
func TestRowDecodeMatchesGogoproto(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 4096))
	cdc := codec.NewProtoCodec(codectypes.NewInterfaceRegistry())
	fast, agreed := 0, 0
	for it := 0; it < 6000; it++ {
		bonds := it%2 == 1
		bz := randRowBytes(rng, bonds)
		if it%3 != 0 {
			bz = mutate(rng, bz, bonds)
		} else {
			var probe row
			if !decodePacked(bz, &probe, bonds) {
				t.Fatalf("a row as the module writes it took the slow path: %x", bz)
			}
			fast++
		}
		w := &rowWalk{bonds: bonds, bondsCodec: codec.CollValue[types.BondsRow](cdc), weightsCodec: codec.CollValue[types.WeightsRow](cdc)}
		// A dirty buffer from an earlier row must not leak into this one.
		w.buf = row{uids: []uint32{7, 7}, vals: []uint64{7}, setAt: 7}
		err := w.decode(bz)
		want, wantErr := gogoRow(bz, bonds)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("bonds=%v %x: error %v, gogoproto %v", bonds, bz, err, wantErr)
		}
		if err != nil {
			if err.Error() != wantErr.Error() {
				t.Fatalf("bonds=%v %x: error %q, gogoproto %q", bonds, bz, err, wantErr)
			}
			continue
		}
		got := w.buf
		if len(got.uids) == 0 {
			got.uids = nil
		}
		if len(got.vals) == 0 {
			got.vals = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("bonds=%v %x: decoded %+v, gogoproto %+v", bonds, bz, got, want)
		}
		agreed++
	}
	t.Logf("%d rows agreed with gogoproto, %d of them well-formed (fast path)", agreed, fast)
}

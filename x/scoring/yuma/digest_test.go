package yuma

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math/rand/v2"
	"testing"
)

// The property tests use small subnets (under 40 UIDs) and check invariants,
// not exact values; the golden example pins one small case. These digests pin
// every output bit of large epochs, including the paths only large inputs take
// (sampled quantile selection, the gather of more than 1024 validators, wide
// rows, heavy ties, skewed stake), so that performance work cannot change a
// result. The digests were recorded with the straightforward implementation
// the optimized one replaced; a change here is a consensus change.

// digestOutput hashes every field of out in a fixed binary layout.
func digestOutput(out *Output) string {
	h := sha256.New()
	u64 := func(v uint64) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	fixeds := func(vs []Fixed) {
		u64(uint64(len(vs)))
		for _, v := range vs {
			u64(uint64(v))
		}
	}
	uints := func(vs []uint64) {
		u64(uint64(len(vs)))
		for _, v := range vs {
			u64(v)
		}
	}
	bools := func(vs []bool) {
		u64(uint64(len(vs)))
		for _, v := range vs {
			if v {
				h.Write([]byte{1})
			} else {
				h.Write([]byte{0})
			}
		}
	}
	fixeds(out.ActiveStake)
	fixeds(out.Consensus)
	fixeds(out.Incentive)
	fixeds(out.Dividends)
	fixeds(out.ValidatorTrust)
	u64(uint64(len(out.Bonds)))
	for _, row := range out.Bonds {
		bonds(h, row)
	}
	uints(out.MinerEmission)
	uints(out.ValidatorEmission)
	u64(out.Unallocated)
	bools([]bool{out.StakeFallback})
	bools(out.NextPermit)
	return hex.EncodeToString(h.Sum(nil))
}

// bonds hashes a bond row: per bond its UID and its value, 10 bytes, as
// when bond rows were []Entry (the digests predate Bond).
func bonds(h hash.Hash, row []Bond) {
	var b [10]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(len(row)))
	h.Write(b[:8])
	for _, e := range row {
		binary.LittleEndian.PutUint16(b[:2], e.UID())
		binary.LittleEndian.PutUint64(b[2:], uint64(e.Value()))
		h.Write(b[:])
	}
}

// mixedInput builds a large irregular subnet: v validators among n UIDs with
// skewed stake (a whale, zeros), random permits and activity, rows of every
// density, weights that tie heavily, tiny and huge values (rows that need the
// shifted sum and entries that normalize to zero), registration masks, stale
// rows, old bonds, and random hyperparameters.
func mixedInput(seed uint64, n, v int) Input {
	rng := rand.New(rand.NewPCG(seed, uint64(n)<<20|uint64(v)))
	in := Input{
		Params:         DefaultParams(),
		Stake:          make([]uint64, n),
		Permit:         make([]bool, n),
		Active:         make([]bool, n),
		Weights:        make([][]Entry, n),
		Bonds:          make([][]Bond, n),
		RegisteredAt:   make([]uint64, n),
		LastUpdate:     make([]uint64, n),
		LastEpochBlock: 500,
		Emission:       rng.Uint64N(1 << 50),
	}
	p := &in.Params
	p.Kappa = []Fixed{Half, FromRatio(3, 10), FromRatio(2, 3), Fixed(rng.Uint64N(uint64(One) + 1))}[seed%4]
	p.BondsMovingAverage = Fixed(rng.Uint64N(uint64(One) + 1))
	p.BondsPenalty = Fixed(rng.Uint64N(uint64(One) + 1))
	p.MaxValidators = uint32(v)
	p.LiquidAlpha = seed%2 == 1
	for i := 0; i < n; i++ {
		in.Active[i] = rng.IntN(10) > 0
		in.RegisteredAt[i] = rng.Uint64N(400)
		if rng.IntN(12) == 0 {
			in.RegisteredAt[i] = 500 + rng.Uint64N(200) // new since the last epoch
		}
		in.LastUpdate[i] = 300 + rng.Uint64N(500)
	}
	for i := 0; i < v; i++ {
		u := i * n / v // validators spread over the UIDs
		switch rng.IntN(8) {
		case 0:
			in.Stake[u] = 0
		default:
			in.Stake[u] = 1 + rng.Uint64N(1_000_000_000)
			if seed == 3 {
				in.Stake[u] = 1<<56 + rng.Uint64N(1<<56) // the stake sum exceeds 64 bits
			}
		}
		in.Permit[u] = rng.IntN(6) > 0
		density := []int{1, 10, 50, 90, 100, 100}[rng.IntN(6)]
		distinct := []uint64{1, 3, 50, 65535}[rng.IntN(4)]
		for j := 0; j < n; j++ {
			if rng.IntN(100) < density {
				var val Fixed
				switch rng.IntN(20) {
				case 0:
					val = FromUint(1 + rng.Uint64N(distinct))
					if i%16 == 0 {
						val = Fixed(rng.Uint64()) // huge: the row sum exceeds 64 bits
					}
				case 1:
					val = Fixed(1 + rng.Uint64N(4)) // tiny: may normalize to 0
				case 2:
					val = 0
				default:
					val = FromUint(1 + rng.Uint64N(distinct))
				}
				in.Weights[u] = append(in.Weights[u], Entry{UID: uint16(j), Value: val})
			}
			if rng.IntN(100) < density/2 {
				in.Bonds[u] = append(in.Bonds[u], NewBond(uint16(j), Fixed(1+rng.Uint64N(uint64(One)))))
			}
		}
	}
	// A whale validator with a dense row: the quantile often sits on it.
	w := n / 3
	in.Stake[w] = 0
	for i := range in.Stake {
		if s := in.Stake[w] + in.Stake[i]/4; s >= in.Stake[w] {
			in.Stake[w] = s
		}
	}
	in.Permit[w], in.Active[w] = true, true
	in.RegisteredAt[w], in.LastUpdate[w] = 0, 799
	in.Weights[w] = in.Weights[w][:0]
	for j := 0; j < n; j++ {
		in.Weights[w] = append(in.Weights[w], Entry{UID: uint16(j), Value: FromUint(1 + rng.Uint64N(1000))})
	}
	return in
}

// tiedInput: every validator gives every UID the same weight, so every column
// is one long tie.
func tiedInput(n, v int) Input {
	in := Input{
		Params:       DefaultParams(),
		Stake:        make([]uint64, n),
		Permit:       make([]bool, n),
		Active:       make([]bool, n),
		Weights:      make([][]Entry, n),
		RegisteredAt: make([]uint64, n),
		LastUpdate:   make([]uint64, n),
		Emission:     1_000_000_007,
	}
	in.Params.MaxValidators = uint32(v)
	for i := 0; i < n; i++ {
		in.Active[i] = true
		in.LastUpdate[i] = 10
	}
	for i := 0; i < v; i++ {
		in.Stake[i] = uint64(1000 + i%7)
		in.Permit[i] = true
		for j := 0; j < n; j++ {
			in.Weights[i] = append(in.Weights[i], Entry{UID: uint16(j), Value: One})
		}
	}
	return in
}

func TestLargeEpochDigests(t *testing.T) {
	cases := []struct {
		name string
		in   func(testing.TB) Input
		want string
		long bool
	}{
		{"dense 256x64", func(tb testing.TB) Input { return denseInput(tb, 256, 64, false) }, "d5ad5b96c1df2781f3da839ea8bca22d3906b8e7bbdfc03358aa970baca24b54 6c6eb53acab700f2aebe5a5bbcacbf1c37cba1633fcaaaf0eba94103bfe8c94f", false},
		{"dense 256x64 liquid", func(tb testing.TB) Input { return denseInput(tb, 256, 64, true) }, "408ce41537704acda8dd3d36bbc09fe1dee5652acdf26f71778ba12189dc7800 84fe1a97777bf9e093e516bb36a2632f70fe82e0b403d8c6d9a7d52d7182b668", false},
		{"dense 1024x128", func(tb testing.TB) Input { return denseInput(tb, 1024, 128, false) }, "00387f531420cd85389db5dde631de0c4ef8be2647ed6a1961f81b58e92bdcc1 6dcfa041dc812302989f0f5d91d27f20299844a4501d1a9ed79e4045d6bdc335", false},
		{"dense 4096x256", func(tb testing.TB) Input { return denseInput(tb, 4096, 256, false) }, "6483275e88e04149f4b03a1e0a60f7131b10558aa01bb54ec702c2c0dbabad54 88f1aa696bb9c8e43b01c039d8b99c82bc23ad27af626acbb303aa7fc951be7e", true},
		{"dense 4096x256 liquid", func(tb testing.TB) Input { return denseInput(tb, 4096, 256, true) }, "ca4d2fa0453af4c3fceeb8e2f23a1b94d25c562acfba57d9773583588c4bf4c8 1e4de6f6eea6cf8704d01e22c732f50741ead3f6a7c431557719a7184343f7fb", true},
		{"mixed 2000x300", func(testing.TB) Input { return mixedInput(0, 2000, 300) }, "bd77452c366d829704fc64bc013697da4ce1f29f5660c2d5d56d808126c6b234 a7653e0d30f17f2c77caec4ba8fd52efeaf12624c74f231adb4ec61acbafd4bc", false},
		{"mixed 2000x300 liquid", func(testing.TB) Input { return mixedInput(3, 2000, 300) }, "1d748c714d704fac9afe12a3f506e2be5fbda752be3c0490c6ad5695d8f8750e d78817802a57dcad1a3a458bb04b09466956467689aa6a0b78940d655c9c37bb", false},
		{"mixed 2000x300 kappa 2/3", func(testing.TB) Input { return mixedInput(6, 2000, 300) }, "bf07491bcfbd893edb760541b15ff4b847c0f23d7fe574b0b6bab7cb0ddfe304 b085996d02755f8185795e31089d8bc0baa5e1dab07fb5090f93eeb6e2d7c4d0", false},
		{"mixed 700x700", func(testing.TB) Input { return mixedInput(1, 700, 700) }, "3d2c6f07633a59a629dd6967e4d2813e8b9fc651e731bace9c75d3347b27d40f 57b1136042432b94cb5ddb8c34ce27219ef0bcc43e7d5a403ed55215661a3262", false},
		{"mixed 1500x1100", func(testing.TB) Input { return mixedInput(5, 1500, 1100) }, "18cb23ef41a0e249372fc63c8cdfb14d0f6f2bb424f69e8c3444711f2123696a 084547674af8ec663aa3df7d5747f8676dcf77c181e47655f6da01adffbc0681", true},
		{"tied 600x200", func(testing.TB) Input { return tiedInput(600, 200) }, "93f8612a7a177dad0d8be786cdde00e91c513a2a4d21333029249b60cfc7001e 93f8612a7a177dad0d8be786cdde00e91c513a2a4d21333029249b60cfc7001e", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.long && (testing.Short() || raceEnabled) {
				t.Skip("large case: skipped in -short and under the race detector")
			}
			in := c.in(t)
			out, err := Run(in)
			if err != nil {
				t.Fatal(err)
			}
			// A second epoch on the new bonds.
			in.Bonds = out.Bonds
			out2, err := Run(in)
			if err != nil {
				t.Fatal(err)
			}
			got := digestOutput(&out) + " " + digestOutput(&out2)
			if got != c.want {
				t.Errorf("digest changed: got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

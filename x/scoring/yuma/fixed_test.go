package yuma

import (
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"testing"
)

func TestFixedArithmetic(t *testing.T) {
	cases := []struct {
		name string
		got  Fixed
		want Fixed
	}{
		{"add", Half.Add(Half), One},
		{"add saturates", Max.Add(1), Max},
		{"sub", One.Sub(Half), Half},
		{"sub saturates", Half.Sub(One), 0},
		{"mul", Half.Mul(Half), One / 4},
		{"mul int", FromUint(3).Mul(FromUint(7)), FromUint(21)},
		{"mul saturates", FromUint(1 << 20).Mul(FromUint(1 << 20)), Max},
		{"mul rounds down", Fixed(1).Mul(Half), 0},
		{"div", One.Div(FromUint(4)), One / 4},
		{"div by zero", One.Div(0), Max},
		{"zero div zero", Fixed(0).Div(0), 0},
		{"div saturates", FromUint(1 << 31).Div(Fixed(1)), Max},
		{"muldiv", FromUint(6).MulDiv(FromUint(7), FromUint(21)), FromUint(2)},
		{"ratio", FromRatio(1, 3), Fixed(1431655765)},
		{"ratio den 0", FromRatio(1, 0), Max},
		{"ratio 0/0", FromRatio(0, 0), 0},
		{"ratio big", FromRatio(math.MaxUint64, math.MaxUint64), One},
		{"fromuint saturates", FromUint(1 << 32), Max},
		{"min", One.Min(Half), Half},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %d (%s), want %d (%s)", c.name, c.got, c.got, c.want, c.want)
		}
	}
}

func TestU16RoundTrip(t *testing.T) {
	for u := 0; u <= math.MaxUint16; u++ {
		f := FromU16Fraction(uint16(u))
		if got := f.ToU16(); got != uint16(u) {
			t.Fatalf("FromU16Fraction(%d).ToU16() = %d", u, got)
		}
		if f > 0 && (f-1).ToU16() == uint16(u) {
			t.Fatalf("FromU16Fraction(%d) is not the smallest preimage", u)
		}
	}
	if One.ToU16() != 65535 || Max.ToU16() != 65535 || Fixed(0).ToU16() != 0 || Half.ToU16() != 32767 {
		t.Fatal("ToU16 endpoints")
	}
	if FromU16Fraction(65535) != One {
		t.Fatal("FromU16Fraction(65535) != One")
	}
}

func TestFixedString(t *testing.T) {
	cases := map[Fixed]string{
		0:                 "0",
		One:               "1",
		Half:              "0.5",
		One / 4:           "0.25",
		FromRatio(1, 3):   "0.333333333",
		FromRatio(3, 10):  "0.3",
		FromRatio(2, 3):   "0.666666667",
		FromUint(1000):    "1000",
		Max:               "4294967296",
		1:                 "0",
		3:                 "0.000000001",
		FromRatio(1, 100): "0.01",
	}
	for f, want := range cases {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", f, got, want)
		}
	}
	if got := Fixed(1).ExactString(); got != "0.00000000023283064365386962890625" {
		t.Errorf("ExactString(1) = %q", got)
	}
}

func TestParseDecimal(t *testing.T) {
	ok := []struct {
		in   string
		want Fixed
	}{
		{"0", 0}, {"-0", 0}, {"-0.0e5", 0}, {"1", One}, {"0.5", Half}, {"5e-1", Half}, {"0.05E1", Half},
		{"1000", FromUint(1000)}, {"1e3", FromUint(1000)}, {"0.25", One / 4},
		{"4294967295", FromUint(4294967295)}, {"4294967295.9999999999", Max},
		{"0.1", Fixed(429496729)}, {"1e-400", 0}, {"00012", FromUint(12)},
		{"0.00000000023283064365386962890625", 1}, {"0.00000000023283064365386962890624", 0},
	}
	for _, c := range ok {
		got, err := ParseDecimal(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []string{"", "-", "-1", "-0.5", "4294967296", "1e10", "1e400000000", ".5", "5.", "1e", "1e+", "0x10", "1,5", " 1", "1 ", "NaN", "inf", "+1"}
	for _, s := range bad {
		if v, err := ParseDecimal(s); err == nil {
			t.Errorf("ParseDecimal(%q) = %d, want error", s, v)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 2000; k++ {
		f := Fixed(rng.Uint64())
		got, err := ParseDecimal(f.ExactString())
		if err != nil || got != f {
			t.Fatalf("round trip %d via %q: %d, %v", f, f.ExactString(), got, err)
		}
		// String rounds to 9 digits: parsing it lands within 3 units.
		if f < Max-8 {
			got, err = ParseDecimal(f.String())
			if err != nil || !near(got, f, 3) {
				t.Fatalf("String round trip %d via %q: %d, %v", f, f.String(), got, err)
			}
		}
	}
}

func TestParseUint(t *testing.T) {
	ok := map[string]uint64{"0": 0, "1e6": 1000000, "2.50e1": 25, "18446744073709551615": math.MaxUint64, "1.0": 1, "-0": 0}
	for s, want := range ok {
		got, err := ParseUint(s)
		if err != nil || got != want {
			t.Errorf("ParseUint(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"1.5", "-1", "18446744073709551616", "1e20", "1e-1", "abc", "1e999999999999"} {
		if v, err := ParseUint(s); err == nil {
			t.Errorf("ParseUint(%q) = %d, want error", s, v)
		}
	}
}

// The dividends' reciprocals give floor(B·I/S) exactly for every
// bond B ≤ 1 of a column with incentive I and bond sum S ≥ B, whenever
// reciprocals accepts the column; and ratio.frac matches ratio.of.
func TestReciprocalExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	accepted := 0
	check := func(b, m, s uint64) {
		want := new(big.Int).Mul(new(big.Int).SetUint64(b), new(big.Int).SetUint64(m))
		want.Quo(want, new(big.Int).SetUint64(s))
		if r := newRatio(m, s); !r.wide() && r.k == 0 && r.frac(b) != want.Uint64() {
			t.Fatalf("frac(%d*%d/%d) = %d, want %s", b, m, s, r.frac(b), want)
		}
		g, sh, ok := reciprocals([]Fixed{Fixed(m)}, []Fixed{Fixed(s)})
		if !ok {
			return
		}
		accepted++
		if got := dividendRowRecip([]Bond{bond(0, Fixed(b))}, g, sh); uint64(got) != want.Uint64() {
			t.Fatalf("recip(%d*%d/%d) = %d, want %s", b, m, s, got, want)
		}
	}
	for k := 0; k < 200000; k++ {
		s := 1 + rng.Uint64N(maxBondValue)>>rng.UintN(48) // a bond sum: at most 2^16 bonds of at most 1
		m := rng.Uint64N(uint64(One)+1) >> rng.UintN(33)
		b := min(rng.Uint64N(s+1), uint64(One))
		check(b, m, s)
		check(min(s, uint64(One)), m, s)
		check(0, m, s)
		check(1, m, s)
	}
	for _, s := range []uint64{1, 2, 1<<32 - 1, 1 << 32, 1<<32 + 1, 1<<33 - 1, maxBondValue} {
		for _, m := range []uint64{0, 1, s / 2, s - 1, s, uint64(One) - 1, uint64(One)} {
			for _, b := range []uint64{0, 1, s / 2, s - 1, s, uint64(One) - 1, uint64(One)} {
				if b <= s && b <= uint64(One) && s > 0 {
					check(b, m, s)
				}
			}
		}
	}
	// Several columns share the shift of the largest bond sum.
	for k := 0; k < 5000; k++ {
		inc, sum := make([]Fixed, 8), make([]Fixed, 8)
		for j := range sum {
			sum[j] = Fixed(rng.Uint64N(maxBondValue) >> rng.UintN(48))
			inc[j] = Fixed(rng.Uint64N(uint64(One)+1) >> rng.UintN(33))
		}
		g, sh, ok := reciprocals(inc, sum)
		if !ok {
			continue
		}
		accepted++
		for j := range sum {
			b := min(rng.Uint64N(uint64(sum[j])+1), uint64(One))
			want := new(big.Int).Mul(new(big.Int).SetUint64(b), new(big.Int).SetUint64(uint64(inc[j])))
			if sum[j] != 0 {
				want.Quo(want, new(big.Int).SetUint64(uint64(sum[j])))
			}
			if got := dividendRowRecip([]Bond{bond(uint16(j), Fixed(b))}, g, sh); uint64(got) != want.Uint64() {
				t.Fatalf("recip(%d*%d/%d) with shift %d = %d, want %s", b, inc[j], sum[j], sh, got, want)
			}
		}
	}
	if accepted < 100000 {
		t.Fatalf("only %d cases used reciprocals", accepted)
	}
}

func TestRatioExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(a, m, d uint64) {
		r := newRatio(m, d)
		want := new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(m))
		want.Quo(want, new(big.Int).SetUint64(d))
		if got := r.exact(a); !want.IsUint64() || got != want.Uint64() {
			t.Fatalf("ratio(%d*%d/%d) = %d, want %s", a, m, d, got, want)
		}
		if got := r.of(a); !r.wide() && got != want.Uint64() {
			t.Fatalf("ratio(%d*%d/%d) = %d, want %s", a, m, d, got, want)
		}
	}
	for k := 0; k < 20000; k++ {
		d := rng.Uint64() >> rng.UintN(64)
		if d == 0 {
			d = 1
		}
		a := rng.Uint64N(d + (d >> 63)) // a ≤ d (approximately: a < d unless d is huge)
		if a > d {
			a = d
		}
		m := rng.Uint64N(uint64(One) + 1)
		check(a, m, d)
		check(d, m, d)
		check(0, m, d)
	}
	for k := 0; k < 20000; k++ { // m above d, and divisors near 2^63
		d := 1 + rng.Uint64()>>(1+rng.UintN(63))
		if k%8 == 0 {
			d = 1<<63 - 1 - rng.Uint64N(1000)
		}
		a := rng.Uint64N(d) + rng.Uint64N(2)
		m := rng.Uint64() >> rng.UintN(64)
		if new(big.Int).Quo(new(big.Int).Mul(new(big.Int).SetUint64(a), new(big.Int).SetUint64(m)), new(big.Int).SetUint64(d)).IsUint64() {
			check(a, m, d)
		}
	}
	check(1, uint64(One), 1)
	check(math.MaxUint64, uint64(One), math.MaxUint64)
	check(math.MaxUint64-1, uint64(One), math.MaxUint64)
}

func TestNormalizeFloor(t *testing.T) {
	out := make([]Fixed, 4)
	if normalizeFloor([]uint64{0, 0, 0, 0}, out) {
		t.Fatal("zero vector reported non-zero")
	}
	normalizeFloor([]uint64{1, 1, 1, 1}, out)
	for _, v := range out {
		if v != One/4 {
			t.Fatalf("equal shares: %v", out)
		}
	}
	// 128-bit sum.
	big := []uint64{math.MaxUint64, math.MaxUint64, math.MaxUint64, 0}
	normalizeFloor(big, out)
	if out[0] != out[1] || out[1] != out[2] || out[3] != 0 || out[0] != FromRatio(1, 3) {
		t.Fatalf("128-bit sum: %v", out)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for k := 0; k < 500; k++ {
		n := 1 + rng.IntN(50)
		v := make([]uint64, n)
		for i := range v {
			v[i] = rng.Uint64() >> rng.UintN(64)
		}
		o := make([]Fixed, n)
		normalizeFloor(v, o)
		var sum uint64
		for i := range o {
			sum += uint64(o[i])
		}
		if sum > uint64(One) || sum+uint64(n) < uint64(One) {
			t.Fatalf("sum %d out of [1-n ulp, 1] for %v", sum, v)
		}
	}
}

// TestMulUnitExact: mulUnit equals the 128-bit floor(a·b/2^32) on [0, 1].
func TestMulUnitExact(t *testing.T) {
	ref := func(a, b Fixed) Fixed {
		hi, lo := bits.Mul64(uint64(a), uint64(b))
		return Fixed(hi<<FracBits | lo>>FracBits)
	}
	edge := []Fixed{0, 1, 2, Half - 1, Half, Half + 1, One - 2, One - 1, One}
	for _, a := range edge {
		for _, b := range edge {
			if got, want := mulUnit(a, b), ref(a, b); got != want {
				t.Fatalf("mulUnit(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for k := 0; k < 1_000_000; k++ {
		a, b := Fixed(rng.Uint64N(uint64(One)+1)), Fixed(rng.Uint64N(uint64(One)+1))
		if k%3 == 0 {
			b = One - Fixed(rng.Uint64N(4))
		}
		if got, want := mulUnit(a, b), ref(a, b); got != want {
			t.Fatalf("mulUnit(%d, %d) = %d, want %d", a, b, got, want)
		}
	}
}

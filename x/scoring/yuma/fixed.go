package yuma

import (
	"errors"
	"math"
	"math/big"
	"math/bits"
	"strconv"
)

// Fixed is an unsigned Q32.32 fixed-point number: the real value is
// uint64(f) / 2^32. It spans [0, 2^32 − 2^−32] with a resolution of
// 2^−32 ≈ 2.3·10^−10.
//
// Every operation is saturating: results above the largest value become Max,
// results below zero become 0, and division by zero yields Max (or 0 for 0/0).
// Nothing panics. Products and quotients are rounded down (toward zero).
type Fixed uint64

const (
	// FracBits is the number of fractional bits of Fixed.
	FracBits = 32
	// One is 1.0.
	One Fixed = 1 << FracBits
	// Half is 0.5.
	Half Fixed = One >> 1
	// Max is the largest Fixed value (2^32 − 2^−32).
	Max Fixed = math.MaxUint64

	fracMask = uint64(One) - 1
)

// FromUint returns n as a Fixed, saturating at Max when n ≥ 2^32.
func FromUint(n uint64) Fixed {
	if n > math.MaxUint32 {
		return Max
	}
	return Fixed(n << FracBits)
}

// FromRatio returns floor(num/den · 2^32): the exact ratio num/den rounded
// down to the Fixed grid. It saturates at Max when the ratio is ≥ 2^32 and
// when den is 0 (except 0/0, which is 0).
func FromRatio(num, den uint64) Fixed {
	return Fixed(mulDiv(num, uint64(One), den))
}

// FromU16Fraction maps a stored u16 fraction (u/65535) to Fixed. It returns the
// smallest Fixed whose ToU16 is u (it rounds up), so u16 → Fixed → u16
// round-trips exactly; FromU16Fraction(65535) is One.
func FromU16Fraction(u uint16) Fixed {
	num := uint64(u) << FracBits
	q := num / 65535
	if q*65535 != num {
		q++
	}
	return Fixed(q)
}

// ToU16 converts a fraction to the u16 storage form: floor(f · 65535), with
// every f ≥ One mapped to 65535.
func (f Fixed) ToU16() uint16 {
	if f >= One {
		return math.MaxUint16
	}
	return uint16((uint64(f) * 65535) >> FracBits)
}

// FractionsToU16 converts a slice of fractions with ToU16.
func FractionsToU16(fs []Fixed) []uint16 {
	out := make([]uint16, len(fs))
	for i, f := range fs {
		out[i] = f.ToU16()
	}
	return out
}

// Add returns f + g, saturating at Max.
func (f Fixed) Add(g Fixed) Fixed {
	s, c := bits.Add64(uint64(f), uint64(g), 0)
	if c != 0 {
		return Max
	}
	return Fixed(s)
}

// Sub returns f − g, saturating at 0.
func (f Fixed) Sub(g Fixed) Fixed {
	if g >= f {
		return 0
	}
	return f - g
}

// Mul returns f · g rounded down, saturating at Max.
func (f Fixed) Mul(g Fixed) Fixed {
	hi, lo := bits.Mul64(uint64(f), uint64(g))
	if hi>>FracBits != 0 {
		return Max
	}
	return Fixed(hi<<FracBits | lo>>FracBits)
}

// mulUnit returns a·b rounded down for a, b ≤ One: Mul without the
// saturation check, which such a product (at most One) never needs.
//
// The product fits in 64 bits unless a = b = One (2^64), so a 64-bit
// multiply is exact, and a & b & One (One exactly when a = b = One, else 0)
// supplies the result of that one case. A 64-bit multiply uses any
// registers, where the 128-bit one pins two, which made hot loops spill.
func mulUnit(a, b Fixed) Fixed {
	return (a*b)>>FracBits | a&b&One
}

// Div returns f / g rounded down, saturating at Max (f/0 is Max, 0/0 is 0).
func (f Fixed) Div(g Fixed) Fixed {
	return Fixed(mulDiv(uint64(f), uint64(One), uint64(g)))
}

// MulDiv returns f · g / h computed exactly in 128 bits and rounded down,
// saturating like Div.
func (f Fixed) MulDiv(g, h Fixed) Fixed {
	return Fixed(mulDiv(uint64(f), uint64(g), uint64(h)))
}

// Min returns the smaller of f and g.
func (f Fixed) Min(g Fixed) Fixed {
	if g < f {
		return g
	}
	return f
}

// mulDiv returns floor(a·b/c) using a 128-bit intermediate. It saturates at
// MaxUint64 when the quotient does not fit and when c is 0 (0/0 is 0).
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if c == 0 {
		if hi|lo == 0 {
			return 0
		}
		return math.MaxUint64
	}
	if hi >= c {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// String formats f as a plain decimal number rounded to the nearest multiple
// of 10^−9 (half up), trailing zeros removed: "0.5", "1", "0.333333333";
// 0.3 rounded down to the Fixed grid prints as "0.3". Nine digits lose
// nothing meaningful (one Fixed unit is 2.3·10^−10), but the printed value
// may exceed f by up to 5·10^−10. Use ExactString for an exact rendering.
func (f Fixed) String() string {
	ip := uint64(f) >> FracBits
	fp := uint64(f) & fracMask
	const scale = 1_000_000_000
	hi, lo := bits.Mul64(fp, scale)
	lo, c := bits.Add64(lo, 1<<(FracBits-1), 0)
	hi += c
	frac := hi<<(64-FracBits) | lo>>FracBits // round(fp·10^9 / 2^32) ≤ 10^9
	if frac == scale {
		ip++
		frac = 0
	}
	s := strconv.FormatUint(ip, 10)
	if frac == 0 {
		return s
	}
	fs := strconv.FormatUint(frac, 10)
	for len(fs) < 9 {
		fs = "0" + fs
	}
	for fs[len(fs)-1] == '0' {
		fs = fs[:len(fs)-1]
	}
	return s + "." + fs
}

// ExactString formats f exactly (every Fixed is a finite decimal with at most
// 32 fractional digits), trailing zeros removed; ParseDecimal(f.ExactString())
// == f.
func (f Fixed) ExactString() string {
	ip := uint64(f) >> FracBits
	fp := uint64(f) & fracMask
	s := strconv.FormatUint(ip, 10)
	if fp == 0 {
		return s
	}
	var buf [32]byte
	n := 0
	for fp != 0 {
		fp *= 10 // < 2^36
		buf[n] = byte('0' + fp>>FracBits)
		fp &= fracMask
		n++
	}
	for n > 0 && buf[n-1] == '0' {
		n--
	}
	if n == 0 {
		return s
	}
	return s + "." + string(buf[:n])
}

// decimal is a parsed decimal number: mant · 10^exp (mant has no leading
// zeros; "" means zero).
type decimal struct {
	neg  bool
	mant string
	exp  int
}

const (
	maxDecimalDigits = 1000   // significant digits accepted in a number
	maxDecimalExp    = 100000 // |exponent| cap while parsing (values are range checked later)
)

var errSyntax = errors.New("not a decimal number")

// parseDecimalText parses JSON number syntax (-?digits[.digits][e[+-]digits],
// leading zeros tolerated) without any floating point.
func parseDecimalText(s string) (decimal, error) {
	var d decimal
	i := 0
	if i < len(s) && s[i] == '-' {
		d.neg = true
		i++
	}
	var mant []byte
	intDigits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		mant = append(mant, s[i])
		i++
		intDigits++
		if len(mant) > maxDecimalDigits+maxDecimalDigits {
			return d, errors.New("too many digits")
		}
	}
	if intDigits == 0 {
		return d, errSyntax
	}
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			mant = append(mant, s[i])
			i++
			fracDigits++
			if len(mant) > maxDecimalDigits+maxDecimalDigits {
				return d, errors.New("too many digits")
			}
		}
		if fracDigits == 0 {
			return d, errSyntax
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if exp < maxDecimalExp {
				exp = exp*10 + int(s[i]-'0')
			}
			i++
			n++
		}
		if n == 0 {
			return d, errSyntax
		}
		if exp > maxDecimalExp {
			exp = maxDecimalExp
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return d, errSyntax
	}
	// Strip leading zeros, then trailing zeros (moving them into exp).
	k := 0
	for k < len(mant) && mant[k] == '0' {
		k++
	}
	mant = mant[k:]
	exp -= fracDigits
	for len(mant) > 0 && mant[len(mant)-1] == '0' {
		mant = mant[:len(mant)-1]
		exp++
	}
	if len(mant) > maxDecimalDigits {
		return d, errors.New("too many significant digits")
	}
	if len(mant) == 0 {
		return decimal{}, nil // zero (also "-0")
	}
	d.mant = string(mant)
	d.exp = exp
	return d, nil
}

var (
	errNegative   = errors.New("negative")
	errOutOfRange = errors.New("out of range")
)

// ParseDecimal parses a non-negative decimal number in JSON number syntax
// ("0.5", "1000", "2.5e-3") into Fixed, rounding down to the Fixed grid.
// It uses exact integer arithmetic only (no floating point). Values of 2^32
// or more are rejected, as are negative values and malformed text.
func ParseDecimal(s string) (Fixed, error) {
	d, err := parseDecimalText(s)
	if err != nil {
		return 0, err
	}
	if d.mant == "" {
		return 0, nil
	}
	if d.neg {
		return 0, errNegative
	}
	// Magnitude is in [10^(len+exp−1), 10^(len+exp)).
	mag := len(d.mant) + d.exp
	if mag > 10 { // ≥ 10^10 > 2^32
		return 0, errOutOfRange
	}
	if mag < -30 { // < 10^−30: rounds down to 0
		return 0, nil
	}
	m, ok := new(big.Int).SetString(d.mant, 10)
	if !ok {
		return 0, errSyntax
	}
	m.Lsh(m, FracBits)
	if d.exp >= 0 {
		m.Mul(m, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.exp)), nil))
	} else {
		m.Quo(m, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-d.exp)), nil))
	}
	if !m.IsUint64() {
		return 0, errOutOfRange
	}
	return Fixed(m.Uint64()), nil
}

// ParseUint parses a non-negative integer written in JSON number syntax
// ("1000000", "1e6", "2.50e1") exactly. Fractional values, negative values and
// values above 2^64−1 are rejected.
func ParseUint(s string) (uint64, error) {
	d, err := parseDecimalText(s)
	if err != nil {
		return 0, err
	}
	if d.mant == "" {
		return 0, nil
	}
	if d.neg {
		return 0, errNegative
	}
	if d.exp < 0 {
		return 0, errors.New("not an integer")
	}
	if len(d.mant)+d.exp > 20 {
		return 0, errOutOfRange
	}
	m, ok := new(big.Int).SetString(d.mant, 10)
	if !ok {
		return 0, errSyntax
	}
	m.Mul(m, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.exp)), nil))
	if !m.IsUint64() {
		return 0, errOutOfRange
	}
	return m.Uint64(), nil
}

// ratio computes floor(a·m/d) exactly for many a ≤ d with one division up
// front. With m = k·d + m' (m' < d) and g = floor(m'·2^64/d),
//
//	floor(a·m/d) = a·k + floor(a·m'/d)
//
// and q = floor(a·g / 2^64) is floor(a·m'/d) or one less (the error of g
// costs less than a/2^64 < 1). The remainder a·m' − q·d then lies in [0, 2d);
// for d < 2^63 it fits in 64 bits, so its low 64 bits (wrapping products)
// decide the correction: no branches, four multiplications. A divisor of
// 2^63 or more (only huge stake sums) is wide: of must not be used, exact
// divides in 128 bits instead. Requires d > 0.
//
// The struct has four fields so that the compiler keeps a copy in registers.
type ratio struct {
	k, m, d, g uint64 // wide: m and d as given, k = g = 0
}

func newRatio(m, d uint64) ratio {
	if d >= 1<<63 {
		return ratio{m: m, d: d}
	}
	k, rem := m/d, m%d
	g, _ := bits.Div64(rem, 0, d) // rem < d, so the quotient fits
	return ratio{k: k, m: rem, d: d, g: g}
}

// zeroRatio has m = 0: its of is 0 for every a.
var zeroRatio = newRatio(0, 1)

// wide reports whether d ≥ 2^63, where of must not be used.
func (r ratio) wide() bool { return r.d >= 1<<63 }

// of returns floor(a·m/d) for a ≤ d; r must not be wide. A value receiver,
// so that a loop keeps the four fields in registers.
func (r ratio) of(a uint64) uint64 {
	q, _ := bits.Mul64(a, r.g)
	rem := a*r.m - q*r.d // exact: the true remainder is below 2d ≤ 2^64
	q += b2u(rem >= r.d)
	return a*r.k + q
}

// frac is of for a ratio with k = 0 (m < d).
func (r ratio) frac(a uint64) uint64 {
	q, _ := bits.Mul64(a, r.g)
	rem := a*r.m - q*r.d
	return q + b2u(rem >= r.d)
}

// exact returns floor(a·m/d) for a ≤ d, wide or not.
func (r ratio) exact(a uint64) uint64 {
	if r.wide() {
		return mulDiv(a, r.m, r.d)
	}
	return r.of(a)
}

// shiftedSum returns Σv and shift 0 when the sum fits in 64 bits; otherwise
// the exact sum of v>>shift for the shift that makes it fit. Callers shift
// every value by the same amount, so proportions are kept with 64-bit
// arithmetic.
func shiftedSum[T ~uint64](vals []T) (total uint64, shift uint) {
	var hi, lo uint64
	for _, v := range vals {
		var c uint64
		lo, c = bits.Add64(lo, uint64(v), 0)
		hi += c
	}
	if hi == 0 {
		return lo, 0
	}
	shift = uint(64 - bits.LeadingZeros64(hi))
	for _, v := range vals {
		total += uint64(v) >> shift
	}
	return total, shift
}

// normalizeFloor writes floor(v_i · 2^32 / Σv) into out (len(out) ≥ len(vals))
// and reports whether Σv > 0; when the sum is 0, out is all zeros. The sum is
// taken in 128 bits; if it exceeds 64 bits, values and sum are first shifted
// right by the same amount (shiftedSum). Equal inputs give equal outputs and
// Σout ≤ One. out may alias vals.
func normalizeFloor[T ~uint64](vals []T, out []Fixed) bool {
	den, shift := shiftedSum(vals)
	if den == 0 {
		for i := range vals {
			out[i] = 0
		}
		return false
	}
	r := newRatio(uint64(One), den)
	if r.wide() {
		for i, v := range vals {
			out[i] = Fixed(r.exact(uint64(v) >> shift))
		}
		return true
	}
	for i, v := range vals {
		out[i] = Fixed(r.of(uint64(v) >> shift))
	}
	return true
}

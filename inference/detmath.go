package inference

import "math"

// The functions in this file replace math.Exp, math.Log, math.Sin and math.Cos
// inside the engine. The standard library uses assembly for some of them on
// some architectures (Exp and Log on amd64 and s390x, for example) and is
// itself compiled with fused multiply-add on arm64, ppc64 and s390x, so its
// results may differ in the last bit between machines. Here every product is
// wrapped in an explicit float64 conversion, which the Go specification says
// forbids fusion, and only +, -, *, / and exact bit manipulation are used:
// IEEE 754 makes those bit-identical everywhere.
//
// The algorithms are the classic FreeBSD msun / Cephes ones that Go's own
// portable code uses; they are accurate to about one ulp in float64, far more
// than the float32 engine needs.

const (
	ln2Hi = 6.93147180369123816490e-01
	ln2Lo = 1.90821492927058770002e-10
	log2e = 1.44269504088896338700e+00
)

// detExp returns e**x.
func detExp(x float64) float64 {
	const (
		p1 = 1.66666666666666657415e-01
		p2 = -2.77777777770155933842e-03
		p3 = 6.61375632143793436117e-05
		p4 = -1.65339022054652515390e-06
		p5 = 4.13813679705723846039e-08

		overflow  = 7.09782712893383973096e+02
		underflow = -7.45133219101941108420e+02
		nearZero  = 1.0 / (1 << 28)
	)
	switch {
	case x != x:
		return x
	case x > overflow:
		return math.Inf(1)
	case x < underflow:
		return 0
	case -nearZero < x && x < nearZero:
		return 1 + x
	}
	var k int
	if x < 0 {
		k = int(float64(log2e*x) - 0.5)
	} else {
		k = int(float64(log2e*x) + 0.5)
	}
	fk := float64(k)
	hi := x - float64(fk*ln2Hi)
	lo := float64(fk * ln2Lo)
	r := hi - lo
	t := float64(r * r)
	c := r - float64(t*(p1+float64(t*(p2+float64(t*(p3+float64(t*(p4+float64(t*p5)))))))))
	y := 1 - ((lo - float64(r*c)/(2-c)) - hi)
	return scale2(y, k)
}

// scale2 returns y * 2**k for y near 1 with a single rounding.
func scale2(y float64, k int) float64 {
	switch {
	case k > 1023:
		return float64(y*pow2(1023)) * pow2(k-1023)
	case k < -1021:
		// Two steps so the only rounding happens in the final, subnormal product.
		return float64(y*pow2(k+54)) * pow2(-54)
	}
	return y * pow2(k)
}

// pow2 returns 2**k for -1022 <= k <= 1023.
func pow2(k int) float64 { return math.Float64frombits(uint64(k+1023) << 52) }

// detLog returns the natural logarithm of x.
func detLog(x float64) float64 {
	const (
		l1 = 6.666666666666735130e-01
		l2 = 3.999999999940941908e-01
		l3 = 2.857142874366239149e-01
		l4 = 2.222219843214978396e-01
		l5 = 1.818357216161805012e-01
		l6 = 1.531383769920937332e-01
		l7 = 1.479819860511658591e-01
	)
	switch {
	case x != x || math.IsInf(x, 1):
		return x
	case x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	}
	f1, ki := frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	t1 := float64(s2 * (l1 + float64(s4*(l3+float64(s4*(l5+float64(s4*l7)))))))
	t2 := float64(s4 * (l2 + float64(s4*(l4+float64(s4*l6)))))
	r := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	return float64(k*ln2Hi) - ((hfsq - (float64(s*(hfsq+r)) + float64(k*ln2Lo))) - f)
}

// frexp splits a finite positive x into a fraction in [0.5, 1) and a power of two.
func frexp(x float64) (float64, int) {
	e := 0
	if x < 0x1p-1022 { // subnormal: normalise first (exact)
		x *= 0x1p52
		e = -52
	}
	b := math.Float64bits(x)
	e += int((b>>52)&0x7ff) - 1022
	b &^= 0x7ff << 52
	b |= 1022 << 52
	return math.Float64frombits(b), e
}

// detSinCos returns sin(x) and cos(x) for 0 <= x < 2**29, the range RoPE
// needs (angles are at most the context length).
func detSinCos(x float64) (sin, cos float64) {
	const (
		pi4a = 7.85398125648498535156e-1
		pi4b = 3.77489470793079817668e-8
		pi4c = 2.69515142907905952645e-15
	)
	if x < 0 || x >= 1<<29 || x != x {
		return math.NaN(), math.NaN()
	}
	j := uint64(float64(x * (4 / math.Pi)))
	y := float64(j)
	if j&1 == 1 {
		j++
		y++
	}
	j &= 7
	z := ((x - float64(y*pi4a)) - float64(y*pi4b)) - float64(y*pi4c)
	s, c := kernelSin(z), kernelCos(z)
	// Octant bookkeeping as in Cephes: j is even here, j/2 selects the quadrant.
	switch j {
	case 0:
		return s, c
	case 2:
		return c, -s
	case 4:
		return -s, -c
	default: // 6
		return -c, s
	}
}

// kernelSin is fdlibm's __kernel_sin for |z| <= pi/4.
func kernelSin(z float64) float64 {
	const (
		s1 = -1.66666666666666324348e-01
		s2 = 8.33333333332248946124e-03
		s3 = -1.98412698298579493134e-04
		s4 = 2.75573137070700676789e-06
		s5 = -2.50507602534068634195e-08
		s6 = 1.58969099521155010221e-10
	)
	zz := float64(z * z)
	v := float64(zz * z)
	r := s2 + float64(zz*(s3+float64(zz*(s4+float64(zz*(s5+float64(zz*s6)))))))
	return z + float64(v*(s1+float64(zz*r)))
}

// kernelCos is fdlibm's __kernel_cos for |z| <= pi/4 (tail y = 0).
func kernelCos(z float64) float64 {
	const (
		c1 = 4.16666666666666019037e-02
		c2 = -1.38888888888741095749e-03
		c3 = 2.48015872894767294178e-05
		c4 = -2.75573143513906633035e-07
		c5 = 2.08757232129817482790e-09
		c6 = -1.13596475577881948265e-11
	)
	zz := float64(z * z)
	r := float64(zz * (c1 + float64(zz*(c2+float64(zz*(c3+float64(zz*(c4+float64(zz*(c5+float64(zz*c6)))))))))))
	hz := float64(0.5 * zz)
	w := 1 - hz
	return w + (((1 - w) - hz) + float64(zz*r))
}

// exp32 is expf for the engine's float32 arithmetic (softmax, SiLU), where
// it is the hottest function: expFast rounded once to float32.
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.8: // above the largest float32
		return float32(math.Inf(1))
	}
	return float32(expFast(float64(x)))
}

// expFast trades detExp's full float64 accuracy for speed: a degree-7
// Taylor polynomial on |r| <= ln2/2 has a relative error below 6e-9, a tenth
// of a float32 ulp, so float32(expFast(x)) is within one ulp of the correctly
// rounded expf. Arguments below -104 give 0 (exp(-104) is below half the
// smallest float32 subnormal, and below 1e-45 relative to the 1 that every
// log-sum-exp includes). Valid up to 709. Same rules as above: every
// product explicitly rounded, so it is bit-identical on every machine.
func expFast(xd float64) float64 {
	if xd < -104 {
		return 0
	}
	// Round to an integer without a branch: adding 1.5*2^52 leaves the
	// integer in the low mantissa bits (round half to even).
	const magic = 0x1.8p52
	kr := float64(xd*log2e) + magic
	fk := kr - magic
	k := int(int32(uint32(math.Float64bits(kr))))
	r := (xd - float64(fk*ln2Hi)) - float64(fk*ln2Lo)
	// Estrin's scheme for 1 + r + r^2/2 + ... + r^7/7!: short dependency chains.
	const (
		c2 = 1.0 / 2
		c3 = 1.0 / 6
		c4 = 1.0 / 24
		c5 = 1.0 / 120
		c6 = 1.0 / 720
		c7 = 1.0 / 5040
	)
	r2 := float64(r * r)
	r4 := float64(r2 * r2)
	lo := (1 + r) + float64(r2*(c2+float64(r*c3)))
	hi := (c4 + float64(r*c5)) + float64(r2*(c6+float64(r*c7)))
	return (lo + float64(r4*hi)) * pow2(k) // exact scaling
}

// sqrt32 is sqrtf. IEEE 754 requires square root to be correctly rounded, and
// rounding the float64 root of a float32 to float32 is exact (53 >= 2*24+2).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

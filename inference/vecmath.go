package inference

// Vector forms of the engine's exponentials. Each computes exactly what its
// scalar loop computes (the AVX2 and AVX-512 kernels evaluate expFast's
// float64 polynomial lane by lane, in the same operation order), so callers
// may use them anywhere without changing a bit of output; tests switch
// useSIMD and useAVX512 off to compare.

// expAll sets dst[i] = exp32(src[i]). dst may alias src.
func expAll(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	i := 0
	if useAVX512 && n >= 8 {
		i = n &^ 7
		exp32x16(&dst[0], &src[0], i)
	}
	if m := (n - i) &^ 3; useSIMD && m > 0 {
		exp32x4(&dst[i], &src[i], m)
		i += m
	}
	for ; i < n; i++ {
		dst[i] = exp32(src[i])
	}
}

// expDiffAll sets dst[i] = expFast(float64(src[i]) - float64(mx)), the
// terms of a log-sum-exp.
func expDiffAll(dst []float64, src []float32, mx float32) {
	n := len(src)
	dst = dst[:n]
	i := 0
	if useAVX512 && n >= 8 {
		i = n &^ 7
		expDiff64x16(&dst[0], &src[0], mx, i)
	}
	if m := (n - i) &^ 3; useSIMD && m > 0 {
		expDiff64x4(&dst[i], &src[i], mx, m)
		i += m
	}
	for ; i < n; i++ {
		dst[i] = expFast(float64(src[i]) - float64(mx))
	}
}

// divAll sets dst[i] = src[i] / d. dst may alias src. Vector division is
// IEEE division, correctly rounded like the scalar one.
func divAll(dst, src []float32, d float32) {
	n := len(src)
	dst = dst[:n]
	i := 0
	switch {
	case useAVX512 && n >= 16:
		i = n &^ 15
		divAll16(&dst[0], &src[0], d, i)
	case useSIMD && n >= 8:
		i = n &^ 7
		divAll8(&dst[0], &src[0], d, i)
	}
	for ; i < n; i++ {
		dst[i] = src[i] / d
	}
}

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
	if useSIMD && n-i >= 4 {
		exp32x4(&dst[i], &src[i], 4)
		i += 4
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
	if useSIMD && n-i >= 4 {
		expDiff64x4(&dst[i], &src[i], mx, 4)
		i += 4
	}
	for ; i < n; i++ {
		dst[i] = expFast(float64(src[i]) - float64(mx))
	}
}

package inference

// Vector forms of the engine's exponentials. Each computes exactly what its
// scalar loop computes (the AVX2 kernels evaluate expFast's float64
// polynomial lane by lane, in the same operation order), so callers may use
// them anywhere without changing a bit of output; tests switch useSIMD off to
// compare.

// expAll sets dst[i] = exp32(src[i]). dst may alias src.
func expAll(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	i := 0
	if useSIMD && n >= 4 {
		i = n &^ 3
		exp32x4(&dst[0], &src[0], i)
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
	if useSIMD && n >= 4 {
		i = n &^ 3
		expDiff64x4(&dst[0], &src[0], mx, i)
	}
	for ; i < n; i++ {
		dst[i] = expFast(float64(src[i]) - float64(mx))
	}
}

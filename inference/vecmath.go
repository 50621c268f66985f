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

// firstAbove returns the index of the first x[i] > t, or len(x): the
// comparison of the scalar scans `if v > max` (a NaN is never above).
func firstAbove(x []float32, t float32) int {
	n, i := len(x), 0
	switch {
	case useAVX512 && n >= 16:
		m := n &^ 15
		if j := firstAbove16(&x[0], m, t); j < m {
			return j
		}
		i = m
	case useSIMD && n >= 8:
		m := n &^ 7
		if j := firstAbove8(&x[0], m, t); j < m {
			return j
		}
		i = m
	}
	for ; i < n; i++ {
		if x[i] > t {
			return i
		}
	}
	return n
}

// firstNotLE returns the index of the first x[i] for which x[i] <= t is
// false, or len(x): topK's test for a value that enters the list.
func firstNotLE(x []float32, t float32) int {
	n, i := len(x), 0
	switch {
	case useAVX512 && n >= 16:
		m := n &^ 15
		if j := firstNotLE16(&x[0], m, t); j < m {
			return j
		}
		i = m
	case useSIMD && n >= 8:
		m := n &^ 7
		if j := firstNotLE8(&x[0], m, t); j < m {
			return j
		}
		i = m
	}
	for ; i < n; i++ {
		if !(x[i] <= t) {
			return i
		}
	}
	return n
}

// maxIndex is the scalar scan `best, max := 0, x[0]; for each later v: if
// v > max { best, max = i, v }`, jumping between the values that raise the
// maximum.
func maxIndex(x []float32) (int, float32) {
	best, mx := 0, x[0]
	for i := 1; i < len(x); {
		j := i + firstAbove(x[i:], mx)
		if j == len(x) {
			break
		}
		best, mx = j, x[j]
		i = j + 1
	}
	return best, mx
}

//go:build amd64 && !purego

package inference

// useSIMD enables the AVX2 kernel of batched passes. It computes exactly
// what the scalar kernels compute (see matmul.go), so it only changes speed;
// tests switch it off to compare.
var useSIMD = haveAVX2()

// useAVX512 lets the lane-layout kernels process 16 positions per register
// where the CPU has AVX-512 (same results; tests switch it off to compare).
var useAVX512 = useSIMD && haveAVX512()

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

//go:noescape
func tile4x16(xT, w, outT *float32, n, ldx, ldw, ldo int)

// tile4x32 is tile4x16 for 32 positions with AVX-512.
//
//go:noescape
func tile4x32(xT, w, outT *float32, n, ldx, ldw, ldo int)

// haveAVX2 checks the CPU and that the OS saves the YMM registers.
func haveAVX2() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // XMM and YMM state enabled
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0
}

// exp32x4 sets dst[i] = exp32(src[i]) for i < n, a multiple of 4 (finite
// or infinite src; a NaN gives a NaN).
//
//go:noescape
func exp32x4(dst, src *float32, n int)

// expDiff64x4 sets dst[i] = expFast(float64(src[i]) - float64(mx)) for
// i < n, a multiple of 4.
//
//go:noescape
func expDiff64x4(dst *float64, src *float32, mx float32, n int)

// softmaxCols is attend's softmax down each of blocks columns of eight
// lanes of sc (rows x ld); see vexp_amd64.s.
//
//go:noescape
func softmaxCols(sc *float32, rows, ld int, scale float32, blocks int)

// haveAVX512 checks for AVX-512F and that the OS saves the ZMM and mask
// registers.
func haveAVX512() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<16) != 0
}

// exp32x16, expDiff64x16 and softmaxColsZ are the AVX-512 forms of the
// kernels above (eight lanes per step; sixteen-lane columns).
//
//go:noescape
func exp32x16(dst, src *float32, n int)

//go:noescape
func expDiff64x16(dst *float64, src *float32, mx float32, n int)

//go:noescape
func softmaxColsZ(sc *float32, rows, ld int, scale float32, blocks int)

// softmaxColsYZ is softmaxCols (eight-lane columns) with the exponentials
// of a column's row in one AVX-512 register of eight float64 lanes.
//
//go:noescape
func softmaxColsYZ(sc *float32, rows, ld int, scale float32, blocks int)

// siluMul8 and siluMul16 are silu's loop with AVX2 and AVX-512.
//
//go:noescape
func siluMul8(hb, hb2 *float32, n int)

//go:noescape
func siluMul16(hb, hb2 *float32, n int)

// vecmat8y, vecmat16z and vecmat64y/z are the decoding kernels (see
// vecmat_amd64.s): 8, 16 or 64 output rows of a transposed matrix.
//
//go:noescape
func vecmat8y(x, w, out *float32, n, ldw int)

//go:noescape
func vecmat64y(x, w, out *float32, n, ldw int)

//go:noescape
func vecmat16z(x, w, out *float32, n, ldw int)

//go:noescape
func vecmat64z(x, w, out *float32, n, ldw int)

// tile8x8 and tile4x8 are tile4x16's sums for 8 or 4 rows x 8 positions.
//
//go:noescape
func tile8x8(xT, w, outT *float32, n, ldx, ldw, ldo int)

//go:noescape
func tile4x8(xT, w, outT *float32, n, ldx, ldw, ldo int)

// attnScoresG and attnValuesG are decoding attention's kernels with a lane
// per head (see attn_amd64.s).
//
//go:noescape
func attnScoresG(q, kx, out *float32, idx *int32, hs, P4, ld, kld int)

//go:noescape
func attnValuesG(w, vx, out *float32, idx *int32, P, hs, ld, kld int)

// vecmat4x64z is vecmat64z for four positions (see vecmat_amd64.s).
//
//go:noescape
func vecmat4x64z(x0, x1, x2, x3, w, o0, o1, o2, o3 *float32, n, ldw int)

// divAll8 and divAll16 divide n floats by d (AVX2, AVX-512).
//
//go:noescape
func divAll8(dst, src *float32, d float32, n int)

//go:noescape
func divAll16(dst, src *float32, d float32, n int)

// firstAbove8/16 and firstNotLE8/16 find the first float above t, or not
// at most t, eight or sixteen comparisons at a time (see vexp_amd64.s).
//
//go:noescape
func firstAbove8(x *float32, n int, t float32) int

//go:noescape
func firstAbove16(x *float32, n int, t float32) int

//go:noescape
func firstNotLE8(x *float32, n int, t float32) int

//go:noescape
func firstNotLE16(x *float32, n int, t float32) int

// tile4x16z is tile4x16 with AVX-512 (one register of 16 lanes per row).
//
//go:noescape
func tile4x16z(xT, w, outT *float32, n, ldx, ldw, ldo int)

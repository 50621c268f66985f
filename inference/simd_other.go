//go:build !amd64 || purego

package inference

// useSIMD is false: only amd64 has a vector kernel; the scalar kernels
// compute the same results.
var useSIMD = false

var useAVX512 = false

func tile4x16(xT, w, outT *float32, n, ldx, ldw, ldo int) {
	panic("tile4x16 without SIMD")
}

func exp32x4(dst, src *float32, n int) { panic("exp32x4 without SIMD") }

func expDiff64x4(dst *float64, src *float32, mx float32, n int) {
	panic("expDiff64x4 without SIMD")
}

func softmaxCols(sc *float32, rows, ld int, scale float32, blocks int) {
	panic("softmaxCols without SIMD")
}

func tile4x32(xT, w, outT *float32, n, ldx, ldw, ldo int) {
	panic("tile4x32 without SIMD")
}

func exp32x16(dst, src *float32, n int) { panic("exp32x16 without SIMD") }

func expDiff64x16(dst *float64, src *float32, mx float32, n int) {
	panic("expDiff64x16 without SIMD")
}

func softmaxColsZ(sc *float32, rows, ld int, scale float32, blocks int) {
	panic("softmaxColsZ without SIMD")
}

func softmaxColsYZ(sc *float32, rows, ld int, scale float32, blocks int) {
	panic("softmaxColsYZ without SIMD")
}

func siluMul8(hb, hb2 *float32, n int) { panic("siluMul8 without SIMD") }

func siluMul16(hb, hb2 *float32, n int) { panic("siluMul16 without SIMD") }

func vecmat8y(x, w, out *float32, n, ldw int)  { panic("vecmat8y without SIMD") }
func vecmat64y(x, w, out *float32, n, ldw int) { panic("vecmat64y without SIMD") }
func vecmat16z(x, w, out *float32, n, ldw int) { panic("vecmat16z without SIMD") }
func vecmat64z(x, w, out *float32, n, ldw int) { panic("vecmat64z without SIMD") }

func tile8x8(xT, w, outT *float32, n, ldx, ldw, ldo int) { panic("tile8x8 without SIMD") }
func tile4x8(xT, w, outT *float32, n, ldx, ldw, ldo int) { panic("tile4x8 without SIMD") }

func attnScoresG(q, kx, out *float32, idx *int32, hs, P4, ld, kld int) {
	panic("attnScoresG without SIMD")
}

func attnValuesG(w, vx, out *float32, idx *int32, P, hs, ld, kld int) {
	panic("attnValuesG without SIMD")
}

func vecmat4x64z(x0, x1, x2, x3, w, o0, o1, o2, o3 *float32, n, ldw int) {
	panic("vecmat4x64z without SIMD")
}

func divAll8(dst, src *float32, d float32, n int)  { panic("divAll8 without SIMD") }
func divAll16(dst, src *float32, d float32, n int) { panic("divAll16 without SIMD") }

func firstAbove8(x *float32, n int, t float32) int  { panic("firstAbove8 without SIMD") }
func firstAbove16(x *float32, n int, t float32) int { panic("firstAbove16 without SIMD") }
func firstNotLE8(x *float32, n int, t float32) int  { panic("firstNotLE8 without SIMD") }
func firstNotLE16(x *float32, n int, t float32) int { panic("firstNotLE16 without SIMD") }

func tile4x16z(xT, w, outT *float32, n, ldx, ldw, ldo int) { panic("tile4x16z without SIMD") }

//go:build !amd64 || purego

package inference

// useSIMD is false: only amd64 has a vector kernel; the scalar kernels
// compute the same results.
var useSIMD = false

func tile4x16(xT, w, outT *float32, n, ldx, ldw, ldo int) {
	panic("tile4x16 without SIMD")
}

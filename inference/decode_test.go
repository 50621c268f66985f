package inference

import (
	"math"
	"testing"
)

// TestVecmatAgrees: the column kernels of decoding give every output row the
// canonical sequential sum bit for bit, with either vector width, any
// number of rows (padding included) and a split between goroutines.
func TestVecmatAgrees(t *testing.T) {
	if !useSIMD {
		t.Skip("no vector kernel on this machine")
	}
	saved := parallelMinWork
	t.Cleanup(func() { parallelMinWork = saved })
	parallelMinWork = 1
	val := kernelValues(17)
	for _, k := range kernelSets()[1:] {
		k.use(t)
		for _, n := range []int{1, 3, 16, 67} {
			for _, rows := range [][]int{{1}, {7}, {8}, {13, 4}, {64}, {65}, {100, 28}, {200}} {
				var ws [][]float32
				for _, d := range rows {
					w := make([]float32, d*n)
					for i := range w {
						w[i] = val()
					}
					ws = append(ws, w)
				}
				x := make([]float32, n)
				for i := range x {
					x[i] = val()
				}
				a := transposed(n, ws...)
				for _, threads := range []int{1, 3} {
					got := make([]float32, a.ld)
					vecmat(got, x, a, threads)
					i := 0
					for _, w := range ws {
						want := make([]float32, len(w)/n)
						matvec(want, x, w, n, 0, len(want))
						for _, v := range want {
							if math.Float32bits(got[i]) != math.Float32bits(v) {
								t.Fatalf("%s n=%d rows=%v threads=%d: row %d = %v, want %v", k.name, n, rows, threads, i, got[i], v)
							}
							i++
						}
					}
					for ; i < a.ld; i++ {
						if got[i] != 0 {
							t.Fatalf("%s n=%d rows=%v: padding row %d = %v", k.name, n, rows, i, got[i])
						}
					}
				}
			}
		}
	}
}

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

// TestAttentionOneHeadShapes: decoding attention with a lane per head, whose
// kernels read each kv head once through a permutation, equals attend for
// every head, with and without grouped-query attention, with padding lanes
// and with more than eight heads.
func TestAttentionOneHeadShapes(t *testing.T) {
	if !useSIMD {
		t.Skip("no vector kernel on this machine")
	}
	val := kernelValues(29)
	for _, k := range kernelSets()[1:] {
		k.use(t)
		for _, sh := range []struct{ heads, kv, hs int }{{8, 8, 8}, {8, 4, 16}, {8, 2, 8}, {4, 1, 8}, {12, 4, 8}, {16, 16, 8}, {24, 8, 16}, {6, 3, 16}} {
			c := Config{Dim: sh.heads * sh.hs, HiddenDim: 8, Layers: 2, Heads: sh.heads, KVHeads: sh.kv, VocabSize: 8, SeqLen: 64}
			m := &Model{Config: c}
			for _, P := range []int{1, 5, 37} {
				s := newState(m, P, 1)
				if !s.canAttendCols() {
					t.Fatalf("%+v: attentionOne cannot run", sh)
				}
				for i := range s.kc {
					s.kc[i], s.vc[i] = val()/4, val()/4
				}
				s.syncHeads(P)
				for l := range c.Layers {
					for i := range s.q[:c.Dim] {
						s.q[i] = val() / 4
					}
					s.attentionOne(l, P-1)
					got := append([]float32(nil), s.xb[:c.Dim]...)
					s.attention(l, P-1, 1)
					for i, w := range s.xb[:c.Dim] {
						if math.Float32bits(got[i]) != math.Float32bits(w) {
							t.Fatalf("%s %+v P=%d layer %d: output %d = %v, attend %v", k.name, sh, P, l, i, got[i], w)
						}
					}
				}
			}
		}
	}
}

// TestVecmatMultiAgrees: the batched decoding products (four positions per
// panel, then one at a time) give every position and row the canonical
// sequential sum, for any number of positions.
func TestVecmatMultiAgrees(t *testing.T) {
	if !useAVX512 {
		t.Skip("the batched row kernels need AVX-512")
	}
	val := kernelValues(37)
	for _, sh := range []struct{ n, d int }{{3, 64}, {64, 200}, {67, 128}, {16, 8}} {
		w := make([]float32, sh.d*sh.n)
		for i := range w {
			w[i] = val()
		}
		a := transposed(sh.n, w)
		for _, N := range []int{1, 3, 4, 7, 8, 9, 13, 16} {
			xs, outs := make([][]float32, N), make([][]float32, N)
			for b := range N {
				xs[b], outs[b] = make([]float32, sh.n), make([]float32, a.ld)
				for i := range xs[b] {
					xs[b][i] = val()
				}
			}
			vecmatMulti(outs, xs, a)
			want := make([]float32, sh.d)
			for b := range N {
				matvec(want, xs[b], w, sh.n, 0, sh.d)
				for i, v := range want {
					if math.Float32bits(outs[b][i]) != math.Float32bits(v) {
						t.Fatalf("%+v N=%d position %d row %d = %v, want %v", sh, N, b, i, outs[b][i], v)
					}
				}
			}
		}
	}
}

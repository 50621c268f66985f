package inference

import (
	"fmt"
	"testing"
)

func BenchmarkExpAll(b *testing.B) {
	for _, tc := range []struct {
		name string
		lo   float32
	}{{"moderate", -10}, {"tiny", -100}} {
		b.Run(tc.name, func(b *testing.B) {
			src := make([]float32, 1024)
			for i := range src {
				src[i] = tc.lo * float32(i) / 1024
			}
			dst := make([]float32, len(src))
			for b.Loop() {
				expAll(dst, src)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/exp")
		})
	}
}

func BenchmarkMatmulLanes(b *testing.B) {
	for _, sh := range []struct{ n, d int }{{64, 64}, {64, 172}, {172, 64}, {128, 384}, {8, 96}, {96, 8}} {
		b.Run(fmt.Sprintf("%dx%d", sh.n, sh.d), func(b *testing.B) {
			const L = 32
			w := make([]float32, sh.n*sh.d)
			x := make([]float32, sh.n*L)
			out := make([]float32, sh.d*L)
			for i := range w {
				w[i] = float32(i%13) * 0.01
			}
			for i := range x {
				x[i] = float32(i%7) * 0.1
			}
			for b.Loop() {
				matmulLanes(out, x, w, sh.n, sh.d&^3, L, 1)
			}
			b.ReportMetric(float64(sh.n*(sh.d&^3)*L)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gmadd/s")
		})
	}
}

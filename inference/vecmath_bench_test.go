package inference

import "testing"

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

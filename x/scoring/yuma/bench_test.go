package yuma

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkEpochDense measures the dense worst case (every validator weights
// every UID, dense bonds). Run with
//
//	go test -bench . -benchtime 3x -run '^$' ./x/scoring/yuma/
//
// denseInput builds the dense worst case: n UIDs, the first v hold stake and
// permits, and each of them weights every UID (the diagonal is masked by the
// epoch). Bonds are the steady state of a previous epoch, also dense.
func denseInput(tb testing.TB, n, v int, liquid bool) Input {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(v)))
	in := Input{
		Params:         DefaultParams(),
		Stake:          make([]uint64, n),
		Permit:         make([]bool, n),
		Active:         make([]bool, n),
		Weights:        make([][]Entry, n),
		RegisteredAt:   make([]uint64, n),
		LastUpdate:     make([]uint64, n),
		LastEpochBlock: 100,
		Emission:       1_000_000_000,
	}
	in.Params.MaxValidators = uint32(v)
	in.Params.LiquidAlpha = liquid
	for i := 0; i < n; i++ {
		in.LastUpdate[i] = 150
		in.Active[i] = true
	}
	for i := 0; i < v; i++ {
		in.Stake[i] = 1_000_000 + rng.Uint64N(1_000_000_000)
		in.Permit[i] = true
		row := make([]Entry, n)
		for j := 0; j < n; j++ {
			row[j] = Entry{UID: uint16(j), Value: FromUint(1 + rng.Uint64N(65535))}
		}
		in.Weights[i] = row
	}
	out, err := Run(in)
	if err != nil {
		tb.Fatal(err)
	}
	in.Bonds = out.Bonds
	return in
}

func BenchmarkEpochDense(b *testing.B) {
	for _, c := range []struct {
		n, v   int
		liquid bool
	}{{256, 64, false}, {1024, 128, false}, {4096, 256, false}, {4096, 256, true}} {
		name := fmt.Sprintf("%dx%d", c.n, c.v)
		if c.liquid {
			name += "_liquid"
		}
		b.Run(name, func(b *testing.B) {
			in := denseInput(b, c.n, c.v, c.liquid)
			b.ReportAllocs()
			cpu0 := processCPUNanos()
			for b.Loop() {
				if _, err := Run(in); err != nil {
					b.Fatal(err)
				}
			}
			// Process CPU time (all threads, including the GC) per epoch:
			// steadier than wall time on a shared machine.
			if cpu := processCPUNanos() - cpu0; cpu > 0 && b.N > 0 {
				b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
			}
		})
	}
}

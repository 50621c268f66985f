package inference

import (
	"math"
	"testing"
)

// kernelValues returns a generator of kernel inputs: mostly ordinary
// numbers, with zeros of both signs and subnormals mixed in.
func kernelValues(seed uint64) func() float32 {
	rng := splitmix64(seed)
	return func() float32 {
		switch rng.next() % 16 {
		case 0:
			return 0
		case 1:
			return float32(math.Copysign(0, -1))
		case 2:
			return rng.uniform() * 1e-39 // subnormal
		}
		return (rng.uniform() - 0.25) * float32(1+rng.next()%100)
	}
}

// TestKernelsAgree: every kernel (one-position, blocked, AVX2, threaded)
// returns the canonical sequential sum bit for bit.
func TestKernelsAgree(t *testing.T) {
	val := kernelValues(9)
	saved := useSIMD
	defer func() { useSIMD = saved }()
	for _, n := range []int{1, 3, 16, 67} {
		for _, d := range []int{1, 4, 7, 13, 32} {
			for _, T := range []int{1, 2, 3, 5, 6, 16, 17, 33} {
				w := make([]float32, n*d)
				x := make([]float32, n*T)
				for i := range w {
					w[i] = val()
				}
				for i := range x {
					x[i] = val()
				}
				want := make([]float32, T*d)
				for t := range T {
					for i := range d {
						var s float32
						for j := range n {
							s += float32(w[i*n+j] * x[t*n+j])
						}
						want[t*d+i] = s
					}
				}
				for _, simd := range []bool{false, saved} {
					for _, threads := range []int{1, 3} {
						useSIMD = simd
						got := make([]float32, T*d)
						matmul(got, x, w, n, d, T, threads, nil)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("n=%d d=%d T=%d simd=%v threads=%d: out[%d] = %v, want %v", n, d, T, simd, threads, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestSIMDMatchesScalarEndToEnd compares whole teacher-forced passes with
// and without the vector kernel.
func TestSIMDMatchesScalarEndToEnd(t *testing.T) {
	if !useSIMD {
		t.Skip("no vector kernel on this machine")
	}
	e := tinyEngine(t)
	toks := e.Tokenizer().Encode("The miner and the validator walked to the big tree in the park, and then they sang a song.", true, false)
	score := func() []PositionScore {
		s, err := e.Score(t.Context(), ScoreRequest{Tokens: toks, From: 1, TopK: 3})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := score()
	useSIMD = false
	b := score()
	useSIMD = true
	for i := range a {
		if a[i].Logprob != b[i].Logprob || a[i].Argmax != b[i].Argmax || a[i].Gap != b[i].Gap {
			t.Fatalf("position %d: simd %+v scalar %+v", i, a[i], b[i])
		}
	}
}

package inference

import (
	"context"
	"math"
	"testing"
)

// kernelSet is one choice of vector kernels.
type kernelSet struct {
	name         string
	simd, avx512 bool
}

// kernelSets lists the kernel sets this machine can run, scalar first.
func kernelSets() []kernelSet {
	sets := []kernelSet{{name: "scalar"}}
	if useSIMD {
		sets = append(sets, kernelSet{name: "avx2", simd: true})
	}
	if useAVX512 {
		sets = append(sets, kernelSet{name: "avx512", simd: true, avx512: true})
	}
	return sets
}

// use switches to the set until the test or benchmark ends.
func (k kernelSet) use(t testing.TB) {
	saved, saved512 := useSIMD, useAVX512
	t.Cleanup(func() { useSIMD, useAVX512 = saved, saved512 })
	useSIMD, useAVX512 = k.simd, k.avx512
}

// TestMatmulLanesAgree: the lane-layout product is the canonical sequential
// sum in every lane, with either tile width.
func TestMatmulLanesAgree(t *testing.T) {
	val := kernelValues(11)
	for _, k := range kernelSets()[1:] {
		k.use(t)
		for _, n := range []int{1, 3, 8, 67} {
			for _, d := range []int{4, 8, 12, 20, 28} {
				for _, L := range []int{8, 16, 24, 32, 48} {
					w, x := make([]float32, n*d), make([]float32, n*L)
					for i := range w {
						w[i] = val()
					}
					for i := range x {
						x[i] = val()
					}
					got := make([]float32, d*L)
					matmulLanes(got, x, w, n, d, L, 2)
					for i := range d {
						for p := range L {
							var s float32
							for j := range n {
								s += float32(w[i*n+j] * x[j*L+p])
							}
							if math.Float32bits(got[i*L+p]) != math.Float32bits(s) {
								t.Fatalf("%s n=%d d=%d L=%d: out[%d,%d] = %v, want %v", k.name, n, d, L, i, p, got[i*L+p], s)
							}
						}
					}
				}
			}
		}
	}
}

// TestSoftmaxColsAgree: the column softmax of the lane-layout attention,
// with the causal mask as -Inf, equals attend's scale-then-softmax over the
// keys each lane sees, and gives the masked keys weight exactly 0.
func TestSoftmaxColsAgree(t *testing.T) {
	sets := kernelSets()
	if len(sets) == 1 {
		t.Skip("no vector kernel on this machine")
	}
	val := kernelValues(13)
	const scale = float32(2.828427)
	for _, k := range sets[1:] {
		for _, tc := range []struct{ pos0, T, L int }{{0, 5, 16}, {0, 32, 32}, {40, 17, 32}, {3, 16, 16}, {100, 32, 32}} {
			P := tc.pos0 + tc.T
			sc := make([]float32, P*tc.L)
			for i := range sc {
				sc[i] = val()
			}
			for p := tc.pos0 + 1; p < P; p++ {
				for t := range p - tc.pos0 {
					sc[p*tc.L+t] = float32(math.Inf(-1))
				}
			}
			want := make([][]float32, tc.T)
			kernelSets()[0].use(t)
			for lane := range tc.T {
				att := make([]float32, tc.pos0+lane+1)
				for p := range att {
					att[p] = sc[p*tc.L+lane] / scale
				}
				softmax(att)
				want[lane] = att
			}
			k.use(t)
			yz := append([]float32(nil), sc...) // eight-lane columns, AVX-512 exponentials
			if k.avx512 {
				softmaxColsZ(&sc[0], P, tc.L, scale, tc.L/16)
				softmaxColsYZ(&yz[0], P, tc.L, scale, tc.L/8)
			} else {
				softmaxCols(&sc[0], P, tc.L, scale, tc.L/8)
				copy(yz, sc)
			}
			for lane := range tc.T {
				for p := range P {
					if got, w := yz[p*tc.L+lane], sc[p*tc.L+lane]; math.Float32bits(got) != math.Float32bits(w) {
						t.Fatalf("softmaxColsYZ %+v lane %d key %d: %v, want %v", tc, lane, p, got, w)
					}
				}
			}
			for lane := range tc.T {
				for p := range P {
					got := sc[p*tc.L+lane]
					w := float32(0)
					if p < len(want[lane]) {
						w = want[lane][p]
					}
					if math.Float32bits(got) != math.Float32bits(w) {
						t.Fatalf("%s %+v lane %d key %d: %v, want %v", k.name, tc, lane, p, got, w)
					}
				}
			}
		}
	}
}

// TestKernelSetsAgreeEndToEnd: teacher-forced logits and generated
// logprobs are bit-identical whichever kernels run. The passes score 70
// positions (a partial lane-layout chunk, then full ones) and 65 (a
// one-position row-layout chunk whose values the lane chunks after it read
// from the transposed cache).
func TestKernelSetsAgreeEndToEnd(t *testing.T) {
	for name, e := range engines(t) {
		toks := e.Tokenizer().Encode("The miner and the validator walked to the big tree in the park, and then they sang a song about the sun.", true, false)
		for len(toks) < 2*chunkLen+7 {
			toks = append(toks, toks[1:]...)
		}
		run := func() ([]PositionScore, *Result) {
			sc, err := e.Score(context.Background(), ScoreRequest{Tokens: toks[:2*chunkLen+7], From: 1, TopK: 3, Logits: true})
			if err != nil {
				t.Fatal(err)
			}
			sc2, err := e.Score(context.Background(), ScoreRequest{Tokens: toks[:2*chunkLen+2], From: 1, Logits: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Generate(context.Background(), GenerateRequest{Prompt: "Once upon a time", MaxTokens: 40, TopLogprobs: 3, Temperature: 0.8, Seed: 5}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return append(sc, sc2...), res
		}
		var refScores []PositionScore
		var refRes *Result
		for _, k := range kernelSets() {
			k.use(t)
			scores, res := run()
			if refScores == nil {
				refScores, refRes = scores, res
				continue
			}
			for i, s := range scores {
				for j, v := range s.Logits {
					if math.Float32bits(v) != math.Float32bits(refScores[i].Logits[j]) {
						t.Fatalf("%s %s: position %d logit %d = %v, scalar %v", name, k.name, s.Pos, j, v, refScores[i].Logits[j])
					}
				}
			}
			if len(res.Tokens) != len(refRes.Tokens) {
				t.Fatalf("%s %s: %d tokens, scalar %d", name, k.name, len(res.Tokens), len(refRes.Tokens))
			}
			for i, tok := range res.Tokens {
				if tok.ID != refRes.Tokens[i].ID || math.Float64bits(tok.Logprob) != math.Float64bits(refRes.Tokens[i].Logprob) {
					t.Fatalf("%s %s: token %d = %+v, scalar %+v", name, k.name, i, tok, refRes.Tokens[i])
				}
			}
		}
	}
}

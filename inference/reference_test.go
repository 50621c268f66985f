package inference

import (
	"context"
	"math"
	"testing"
)

// forward64 is an independent, plain float64 implementation of run.c's
// forward pass over a whole sequence (math package functions, no shared
// kernels). It returns the logits of every position.
func forward64(m *Model, toks []int) [][]float64 {
	c := m.Config
	dim, hid, kvDim, hs := c.Dim, c.HiddenDim, c.KVDim(), c.HeadSize()
	kvMul := c.Heads / c.KVHeads
	f := func(s []float32) []float64 {
		o := make([]float64, len(s))
		for i, v := range s {
			o[i] = float64(v)
		}
		return o
	}
	mat := func(w []float32, x []float64, d int) []float64 {
		n := len(x)
		o := make([]float64, d)
		for i := range d {
			for j := range n {
				o[i] += float64(w[i*n+j]) * x[j]
			}
		}
		return o
	}
	norm := func(x []float64, w []float32) []float64 {
		var ss float64
		for _, v := range x {
			ss += v * v
		}
		inv := 1 / math.Sqrt(ss/float64(len(x))+1e-5)
		o := make([]float64, len(x))
		for i, v := range x {
			o[i] = float64(w[i]) * v * inv
		}
		return o
	}
	rot := func(v []float64, pos int) {
		for i := 0; i < len(v); i += 2 {
			hd := i % hs
			freq := 1 / math.Pow(10000, float64(hd)/float64(hs))
			a := float64(pos) * freq
			v0, v1 := v[i], v[i+1]
			v[i] = v0*math.Cos(a) - v1*math.Sin(a)
			v[i+1] = v0*math.Sin(a) + v1*math.Cos(a)
		}
	}
	keys := make([][][]float64, c.Layers)
	vals := make([][][]float64, c.Layers)
	var out [][]float64
	for pos, tok := range toks {
		x := f(m.tokEmb[tok*dim : (tok+1)*dim])
		for l, lw := range m.layers {
			xb := norm(x, lw.rmsAtt)
			q, k, v := mat(lw.wq, xb, dim), mat(lw.wk, xb, kvDim), mat(lw.wv, xb, kvDim)
			rot(q, pos)
			rot(k, pos)
			keys[l] = append(keys[l], k)
			vals[l] = append(vals[l], v)
			att := make([]float64, dim)
			for h := range c.Heads {
				off := (h / kvMul) * hs
				sc := make([]float64, pos+1)
				mx := math.Inf(-1)
				for p := range sc {
					for i := range hs {
						sc[p] += q[h*hs+i] * keys[l][p][off+i]
					}
					sc[p] /= math.Sqrt(float64(hs))
					mx = max(mx, sc[p])
				}
				var sum float64
				for p := range sc {
					sc[p] = math.Exp(sc[p] - mx)
					sum += sc[p]
				}
				for p := range sc {
					for i := range hs {
						att[h*hs+i] += sc[p] / sum * vals[l][p][off+i]
					}
				}
			}
			for i, v := range mat(lw.wo, att, dim) {
				x[i] += v
			}
			xb = norm(x, lw.rmsFFN)
			a, b := mat(lw.w1, xb, hid), mat(lw.w3, xb, hid)
			for i := range a {
				a[i] = a[i] / (1 + math.Exp(-a[i])) * b[i]
			}
			for i, v := range mat(lw.w2, a, dim) {
				x[i] += v
			}
		}
		out = append(out, mat(m.wcls, norm(x, m.rmsFinal), c.VocabSize))
	}
	return out
}

// TestMatchesFloat64Reference checks the engine against the plain float64
// implementation. The logprob difference measures the engine's own float32
// rounding error; two faithful float32 implementations differ by at most
// about twice as much, which sizes the verifier's default tolerance.
func TestMatchesFloat64Reference(t *testing.T) {
	for name, e := range engines(t) {
		toks := e.Tokenizer().Encode("Once upon a time, Lily and her friend Tim found a big red ball in the park.", true, false)
		res, err := e.Generate(context.Background(), GenerateRequest{PromptTokens: toks, MaxTokens: 100}, nil)
		if err != nil {
			t.Fatal(err)
		}
		seq := append(append([]int(nil), toks...), res.TokenIDs()...)
		ref := forward64(e.Model(), seq[:len(seq)-1])
		sc, err := e.Score(context.Background(), ScoreRequest{Tokens: seq, From: 1, TopK: 2})
		if err != nil {
			t.Fatal(err)
		}
		worst, flips := 0.0, 0
		for i, s := range sc {
			l := ref[i]
			mx := l[0]
			for _, v := range l {
				mx = max(mx, v)
			}
			var sum float64
			for _, v := range l {
				sum += math.Exp(v - mx)
			}
			lp := l[s.Token] - mx - math.Log(sum)
			worst = max(worst, math.Abs(lp-s.Logprob))
			best := 0
			for j, v := range l {
				if v > l[best] {
					best = j
				}
			}
			if best != s.Argmax {
				flips++
			}
		}
		t.Logf("%s: largest |logprob - float64 reference| over %d positions: %.2e; argmax differs at %d", name, len(sc), worst, flips)
		if worst > DefaultLogprobTolerance/4 {
			t.Errorf("%s: engine deviates %.2e from the float64 reference", name, worst)
		}
	}
}

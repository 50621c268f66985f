package inference

import (
	"math"
	"testing"
)

// TestVectorExpMatchesScalar: the AVX2 and AVX-512 exponentials (and the
// SiLU gate built on them) and the vector division equal exp32 and expFast bit for bit, including
// the cut-offs, infinities, zeros and subnormals.
func TestVectorExpMatchesScalar(t *testing.T) {
	sets := kernelSets()
	if len(sets) == 1 {
		t.Skip("no vector kernel on this machine")
	}
	for _, k := range sets[1:] {
		t.Run(k.name, func(t *testing.T) {
			k.use(t)
			checkVectorExp(t)
		})
	}
}

func checkVectorExp(t *testing.T) {
	rng := splitmix64(21)
	in := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, -104, -103.99999, -104.00001, 88.7, 88.72, 88.73, 88.8, 88.81,
		100, 1000, -1000, float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, -math.MaxFloat32, 1e-30, -87.3, -87.4}
	for range 200000 {
		switch rng.next() % 4 {
		case 0:
			in = append(in, (rng.uniform()-0.5)*240)
		case 1:
			in = append(in, -rng.uniform()*20)
		case 2:
			in = append(in, math.Float32frombits(uint32(rng.next())))
		default:
			in = append(in, (rng.uniform()-0.5)*1e-3)
		}
	}
	in = append(in, 1, 2, 3) // a tail that is not a multiple of four
	got := make([]float32, len(in))
	expAll(got, in)
	got64 := make([]float64, len(in))
	for _, mx := range []float32{0, 3.5, -2, 90} {
		expDiffAll(got64, in, mx)
		for i, x := range in {
			want := expFast(float64(x) - float64(mx))
			if x != x {
				if got64[i] == got64[i] {
					t.Fatalf("expDiff(NaN) = %v", got64[i])
				}
				continue
			}
			if math.IsInf(float64(x), 0) || float64(x)-float64(mx) > 709 {
				continue // outside expFast's documented domain
			}
			if math.Float64bits(got64[i]) != math.Float64bits(want) {
				t.Fatalf("expDiff(%v - %v) = %v (%x), want %v (%x)", x, mx, got64[i], math.Float64bits(got64[i]), want, math.Float64bits(want))
			}
		}
	}
	for i, x := range in {
		want := exp32(x)
		if x != x {
			if got[i] == got[i] {
				t.Fatalf("exp(NaN) = %v", got[i])
			}
			continue
		}
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Fatalf("exp(%v) = %v (%x), want %v (%x)", x, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
		}
	}
	gate := make([]float32, len(in))
	for i := range gate {
		gate[i] = (rng.uniform() - 0.5) * 8
	}
	hb := append([]float32(nil), in...)
	silu(hb, gate)
	for i, v := range in {
		want := float32(float32(v*(1/(1+exp32(-v)))) * gate[i])
		if math.Float32bits(hb[i]) != math.Float32bits(want) && want == want {
			t.Fatalf("silu(%v) * %v = %v, want %v", v, gate[i], hb[i], want)
		}
	}
	quo := make([]float32, len(in))
	for _, d := range []float32{0.8, 3, 1e-40, -7.25, float32(math.Inf(1)), 0} {
		divAll(quo, in, d)
		for i, v := range in {
			if want := v / d; math.Float32bits(quo[i]) != math.Float32bits(want) && want == want {
				t.Fatalf("%v / %v = %v, want %v", v, d, quo[i], want)
			}
		}
	}
	expAll(in, in) // in place
	for i := range in {
		if math.Float32bits(in[i]) != math.Float32bits(got[i]) && got[i] == got[i] {
			t.Fatalf("in place: %v, want %v", in[i], got[i])
		}
	}
}

// refTopK and refArgmax are the plain scans topK and argmax must equal.
func refTopK(logits []float32, k int) []int {
	k = min(k, len(logits))
	best := make([]int, 0, k)
	for id, v := range logits {
		if len(best) == k && v <= logits[best[k-1]] {
			continue
		}
		i := len(best)
		if i == k {
			i--
		} else {
			best = append(best, 0)
		}
		for i > 0 && logits[best[i-1]] < v {
			best[i] = best[i-1]
			i--
		}
		best[i] = id
	}
	return best
}

func refArgmax(logits []float32) (int, float32) {
	best, mx := 0, logits[0]
	for i, v := range logits[1:] {
		if v > mx {
			best, mx = i+1, v
		}
	}
	return best, mx
}

// TestVectorScansAgree: topK, argmax and the maxima of softmax and the
// log-sum-exp, which jump between candidates with vector comparisons, equal
// the plain scans, with ties, signed zeros, infinities and NaNs, for every
// kernel set and lengths around the vector widths.
func TestVectorScansAgree(t *testing.T) {
	rng := splitmix64(31)
	nan := float32(math.NaN())
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), nan, 1, 1, -1}
	var cases [][]float32
	for _, n := range []int{1, 2, 7, 8, 15, 16, 17, 33, 512, 1023, 1024} {
		for kind := range 5 {
			x := make([]float32, n)
			for i := range x {
				switch {
				case kind == 0:
					x[i] = (rng.uniform() - 0.5) * 20
				case kind == 1: // ascending: every value raises the maximum
					x[i] = float32(i)
				case kind == 2: // many ties
					x[i] = float32(rng.next() % 3)
				default: // specials sprinkled in
					x[i] = (rng.uniform() - 0.5) * 20
					if rng.next()%5 == 0 {
						x[i] = special[rng.next()%uint64(len(special))]
					}
				}
			}
			if kind == 4 {
				x[0] = nan
			}
			cases = append(cases, x)
		}
	}
	for _, ks := range kernelSets() {
		ks.use(t)
		for ci, x := range cases {
			wb, wm := refArgmax(x)
			if gb, gm := maxIndex(x); gb != wb || math.Float32bits(gm) != math.Float32bits(wm) {
				t.Fatalf("%s case %d: maxIndex = %d %v, scan %d %v", ks.name, ci, gb, gm, wb, wm)
			}
			for _, k := range []int{1, 2, 5, 20} {
				got, want := topK(x, k), refTopK(x, k)
				if len(got) != len(want) {
					t.Fatalf("%s case %d k=%d: %v, scan %v", ks.name, ci, k, got, want)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s case %d k=%d: %v, scan %v", ks.name, ci, k, got, want)
					}
				}
			}
		}
	}
}

// TestNewDistsAgree: the log-sum-exp of four rows summed side by side is
// each row's newDist bit for bit, for rows of any length (and rows of
// different lengths, which go one at a time).
func TestNewDistsAgree(t *testing.T) {
	val := kernelValues(41)
	for _, ks := range kernelSets() {
		ks.use(t)
		for _, lens := range [][]int{{512, 512, 512, 512, 512, 512}, {1024, 1024, 1024, 1024}, {300, 300, 300, 300, 300}, {7, 7, 9, 7, 7}, {1}} {
			rows := make([][]float32, len(lens))
			for i, n := range lens {
				rows[i] = make([]float32, n)
				for j := range rows[i] {
					rows[i][j] = val() / 16 // spread enough that many terms count
				}
			}
			ds := make([]dist, len(rows))
			newDists(ds, rows)
			for i, row := range rows {
				want := newDist(row)
				if math.Float64bits(ds[i].logSum) != math.Float64bits(want.logSum) || math.Float32bits(ds[i].max) != math.Float32bits(want.max) {
					t.Fatalf("%s lens %v row %d: max %v logSum %v, newDist %v %v", ks.name, lens, i, ds[i].max, ds[i].logSum, want.max, want.logSum)
				}
			}
		}
	}
}

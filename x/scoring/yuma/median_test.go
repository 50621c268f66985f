package yuma

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveQuantile: largest x among the weights (or 0) with stake(w ≥ x) ≥ thr.
func naiveQuantile(ws []Fixed, stake []Fixed, thr uint64) Fixed {
	best := Fixed(0)
	for _, x := range ws {
		var s uint64
		for i, w := range ws {
			if w >= x {
				s += uint64(stake[i])
			}
		}
		if s >= thr && x > best {
			best = x
		}
	}
	return best
}

func TestWeightedQuantileMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for k := 0; k < 3000; k++ {
		m := 1 + rng.IntN(300)
		stake := make([]Fixed, m)
		ws := make([]Fixed, m)
		distinct := 1 + rng.IntN(m+3) // many ties when small
		var total uint64
		for i := range ws {
			stake[i] = Fixed(rng.Uint64N(1 << 30))
			if rng.IntN(10) == 0 {
				stake[i] = 0
			}
			total += uint64(stake[i])
			ws[i] = Fixed(rng.IntN(distinct)) * (One / Fixed(distinct))
		}
		thr := rng.Uint64N(total + 2)
		keys := make([]uint64, m)
		for i := range ws {
			keys[i] = uint64(ws[i])<<16 | uint64(i)
		}
		if rng.IntN(2) == 0 {
			slices.Sort(keys) // adversarial-ish: sorted input
		}
		got := weightedQuantile(keys, stake, thr, make([]uint64, 3*m))
		want := naiveQuantile(ws, stake, thr)
		if thr == 0 {
			want = slices.Max(ws)
		}
		if got != want {
			t.Fatalf("case %d (m=%d thr=%d): got %s want %s", k, m, thr, got, want)
		}
	}
}

// The sampled rounds of weightedQuantile only run on long columns; check them
// against the naive quantile where the sample misleads: one validator holding
// most of the stake, stake concentrated on the smallest or largest weights,
// long ties, and thresholds at the extremes.
func TestWeightedQuantileSampledRounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for k := 0; k < 300; k++ {
		m := 49 + rng.IntN(1000)
		stake := make([]Fixed, m)
		ws := make([]Fixed, m)
		distinct := []int{1, 2, 5, m}[rng.IntN(4)]
		shape := rng.IntN(4)
		var total uint64
		for i := range ws {
			ws[i] = Fixed(1+rng.IntN(distinct)) << 20
			switch shape {
			case 0: // uniform
				stake[i] = Fixed(1 + rng.Uint64N(1<<20))
			case 1: // stake grows with the weight
				stake[i] = ws[i] >> 10
			case 2: // stake shrinks with the weight
				stake[i] = Fixed(1<<40) / ws[i]
			default: // mostly dust
				stake[i] = Fixed(rng.Uint64N(3))
			}
		}
		if rng.IntN(3) == 0 { // a whale
			stake[rng.IntN(m)] = 1 << 38
		}
		for _, s := range stake {
			total += uint64(s)
		}
		thr := []uint64{1, total / 2, total - total/7, total, total + 1, rng.Uint64N(total + 2)}[rng.IntN(6)]
		keys := make([]uint64, m)
		for i := range ws {
			keys[i] = uint64(ws[i])<<16 | uint64(i)
		}
		if rng.IntN(2) == 0 {
			slices.Sort(keys)
		}
		got := weightedQuantile(keys, stake, thr, make([]uint64, 3*m))
		want := naiveQuantile(ws, stake, thr)
		if got != want {
			t.Fatalf("case %d (m=%d shape=%d thr=%d of %d): got %s want %s", k, m, shape, thr, total, got, want)
		}
	}
}

func TestQuantileThresholdExact(t *testing.T) {
	if got := quantileThreshold(Half, One); got != uint64(Half) {
		t.Fatalf("0.5·1 = %d", got)
	}
	if got := quantileThreshold(Half, One-1); got != uint64(Half) { // ceil((2^32−1)/2)
		t.Fatalf("0.5·(1−ulp) = %d", got)
	}
	if got := quantileThreshold(0, One); got != 0 {
		t.Fatal("kappa 0")
	}
	if got := quantileThreshold(One, One); got != uint64(One) {
		t.Fatal("kappa 1")
	}
}

// TestWeightedQuantileWideWeights: weights spread over the whole range (1 to
// One, clustered at both ends, so that radix rounds keep most keys), and
// seg left unchanged for the clip that follows.
func TestWeightedQuantileWideWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for k := 0; k < 2000; k++ {
		m := 1 + rng.IntN(400)
		stake := make([]Fixed, m)
		ws := make([]Fixed, m)
		var total uint64
		for i := range ws {
			stake[i] = Fixed(1 + rng.Uint64N(1<<20))
			total += uint64(stake[i])
			switch rng.IntN(4) {
			case 0:
				ws[i] = Fixed(1 + rng.Uint64N(3))
			case 1:
				ws[i] = One - Fixed(rng.Uint64N(3))
			case 2:
				ws[i] = Fixed(1 + rng.Uint64N(uint64(One)))
			default:
				ws[i] = Fixed(1<<20 + rng.Uint64N(300))
			}
		}
		thr := 1 + rng.Uint64N(total+1)
		keys := make([]uint64, m)
		for i := range ws {
			keys[i] = uint64(ws[i])<<16 | uint64(i)
		}
		before := slices.Clone(keys)
		got := weightedQuantile(keys, stake, thr, make([]uint64, 3*m))
		if want := naiveQuantile(ws, stake, thr); got != want {
			t.Fatalf("case %d (m=%d thr=%d): got %d want %d", k, m, thr, got, want)
		}
		if !slices.Equal(keys, before) {
			t.Fatalf("case %d: seg changed", k)
		}
	}
}

package yuma

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func sumU(xs []uint64) (s uint64) {
	for _, x := range xs {
		s += x
	}
	return s
}

func TestApportion(t *testing.T) {
	if got := apportion(10, []uint64{1, 1, 1}); !slices.Equal(got, []uint64{4, 3, 3}) {
		t.Fatalf("ties to the lower index: %v", got)
	}
	if got := apportion(10, []uint64{0, 0}); !slices.Equal(got, []uint64{0, 0}) {
		t.Fatalf("zero weights: %v", got)
	}
	if got := apportion(7, []uint64{0, 5, 0, 5}); !slices.Equal(got, []uint64{0, 4, 0, 3}) {
		t.Fatalf("zero weight never paid: %v", got)
	}
	// Largest remainder: 100 by 1:2:4 → 14.28, 28.57, 57.14 → 14, 29, 57.
	if got := apportion(100, []uint64{1, 2, 4}); !slices.Equal(got, []uint64{14, 29, 57}) {
		t.Fatalf("largest remainder: %v", got)
	}
	// 128-bit weight sum.
	got := apportion(math.MaxUint64, []uint64{math.MaxUint64, math.MaxUint64, 1})
	if sumU(got) != math.MaxUint64 || got[0] < got[1] || got[0]-got[1] > 1 {
		t.Fatalf("huge weights: %v", got)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for k := 0; k < 2000; k++ {
		n := 1 + rng.IntN(40)
		w := make([]uint64, n)
		var any bool
		for i := range w {
			if rng.IntN(3) > 0 {
				w[i] = rng.Uint64() >> rng.UintN(64)
				any = any || w[i] != 0
			}
		}
		amt := rng.Uint64() >> rng.UintN(64)
		parts := apportion(amt, w)
		if any && sumU(parts) != amt {
			t.Fatalf("sum %d != %d", sumU(parts), amt)
		}
		for i := range w {
			if w[i] == 0 && parts[i] != 0 {
				t.Fatalf("zero weight got %d", parts[i])
			}
		}
	}
}

func TestSplitEmission(t *testing.T) {
	m, v, u := splitEmission(1001, []Fixed{Half, Half}, []Fixed{One, 0})
	if sumU(m)+sumU(v) != 1001 || u != 0 || m[0] != 250 || m[1] != 250 || v[0] != 501 || v[1] != 0 {
		t.Fatalf("split: %v %v %d", m, v, u)
	}
	m, v, u = splitEmission(1000, []Fixed{0}, []Fixed{0})
	if u != 1000 || m[0] != 0 || v[0] != 0 {
		t.Fatal("unallocated")
	}
}

package inference

import "testing"

func TestRNGStream(t *testing.T) {
	// Reference values from run.c's random_u32 with state 42 (computed
	// independently with Python integers).
	r := NewRNG(42)
	want := []uint32{1456360119, 3359763283, 3393612768, 4054632243, 3283045847}
	for i, w := range want {
		if got := r.Uint32(); got != w {
			t.Fatalf("draw %d: %d, want %d", i, got, w)
		}
	}
	z := NewRNG(0)
	if a, b := z.Uint32(), z.Uint32(); a == 0 && b == 0 {
		t.Fatal("seed 0 is stuck")
	}
	c := NewRNG(5)
	for range 1000 {
		if f := c.Float32(); f < 0 || f >= 1 {
			t.Fatalf("coin %v", f)
		}
	}
}

func TestSamplerDraw(t *testing.T) {
	logits := []float32{1, 3, 2, 0.5}
	s := newSampler(4, 1, 0, 1)
	seen := map[int]int{}
	for i := range 2000 {
		next, iv := s.draw(logits, float32(i)/2000, 1)
		seen[next]++
		if (next == 1) != (iv.r >= iv.lo && iv.r < iv.hi) {
			t.Fatalf("coin %v: next %d, interval of 1 %+v", float32(i)/2000, next, iv)
		}
	}
	if seen[1] < seen[2] || seen[2] < seen[0] || seen[0] < seen[3] {
		t.Fatalf("frequencies %v", seen)
	}
	// Top-p 0.5 keeps only the best token here.
	s = newSampler(4, 1, 0.5, 1)
	for i := range 100 {
		if next, _ := s.draw(logits, float32(i)/100, -1); next != 1 {
			t.Fatalf("top-p picked %d", next)
		}
	}
	if argmax([]float32{1, 5, 5, 2}) != 1 {
		t.Fatal("argmax tie must pick the lowest id")
	}
	if got := topK([]float32{1, 5, 5, 2, 7}, 3); got[0] != 4 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("topK %v", got)
	}
}

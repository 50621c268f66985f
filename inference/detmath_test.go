package inference

import (
	"math"
	"testing"
)

func ulps(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Abs(a-b) / math.Abs(math.Nextafter(b, math.Inf(1))-b)
}

func TestDetExpLog(t *testing.T) {
	rng := splitmix64(1)
	for i := 0; i < 200000; i++ {
		x := float64(rng.uniform()) * 700
		if u := ulps(detExp(x), math.Exp(x)); u > 2 {
			t.Fatalf("exp(%v) = %v, math %v (%v ulp)", x, detExp(x), math.Exp(x), u)
		}
		y := math.Abs(x) + 1e-300
		if u := ulps(detLog(y), math.Log(y)); u > 1 {
			t.Fatalf("log(%v) = %v, math %v (%v ulp)", y, detLog(y), math.Log(y), u)
		}
	}
	for _, x := range []float64{0, -0.5, 1e-20, -744, -800, 709, 710, math.Inf(-1)} {
		if got, want := detExp(x), math.Exp(x); got != want && ulps(got, want) > 2 {
			t.Errorf("exp(%v) = %v, want %v", x, got, want)
		}
	}
	for _, x := range []float64{1, 0.5, 2, 0, math.MaxFloat64} {
		if got, want := detLog(x), math.Log(x); got != want && ulps(got, want) > 1 {
			t.Errorf("log(%v) = %v, want %v", x, got, want)
		}
	}
	// Subnormal input (math.Log's amd64 assembly gets this one wrong).
	if got, want := detLog(1e-310), -310*math.Ln10; math.Abs(got-want) > 1e-12 {
		t.Errorf("log(1e-310) = %v, want %v", got, want)
	}
	if !math.IsNaN(detLog(-1)) || !math.IsNaN(detExp(math.NaN())) {
		t.Error("NaN cases")
	}
}

func TestExp32(t *testing.T) {
	rng := splitmix64(3)
	for i := 0; i < 300000; i++ {
		x := rng.uniform() * 104
		got, want := exp32(x), float32(math.Exp(float64(x)))
		if d := math.Abs(float64(got) - float64(want)); d > math.Abs(float64(math.Nextafter32(want, float32(math.Inf(1)))-want)) {
			t.Fatalf("exp32(%v) = %v, want %v", x, got, want)
		}
	}
	for _, c := range []struct{ x, want float32 }{{0, 1}, {-200, 0}, {100, float32(math.Inf(1))}, {-103.9, float32(math.Exp(-103.9))}} {
		if got := exp32(c.x); got != c.want {
			t.Errorf("exp32(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

func TestDetSinCos(t *testing.T) {
	rng := splitmix64(2)
	for i := 0; i < 200000; i++ {
		x := (float64(rng.uniform()) + 1) * 4096
		s, c := detSinCos(x)
		if math.Abs(s-math.Sin(x)) > 1e-15 || math.Abs(c-math.Cos(x)) > 1e-15 {
			t.Fatalf("sincos(%v) = %v %v, math %v %v", x, s, c, math.Sin(x), math.Cos(x))
		}
	}
	if s, c := detSinCos(0); s != 0 || c != 1 {
		t.Errorf("sincos(0) = %v %v", s, c)
	}
}

// TestRopeTableFrozen pins a few RoPE table entries to exact bit patterns:
// they must not change between machines or releases.
func TestRopeTableFrozen(t *testing.T) {
	tab := ropeTable(512, 8)
	var h uint64 = 14695981039346656037
	for _, v := range tab {
		h = (h ^ uint64(math.Float32bits(v))) * 1099511628211
	}
	const want = 0x31439da96059797e
	if h != want {
		t.Logf("rope table hash %#x", h)
		t.Errorf("rope table changed: hash %#x, want %#x", h, uint64(want))
	}
}

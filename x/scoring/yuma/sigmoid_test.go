package yuma

import (
	"math"
	"testing"
)

func toFloat(f Fixed) float64 { return float64(f) / float64(One) }

func TestExpNegPrecision(t *testing.T) {
	for raw := uint64(0); raw < 45*uint64(One); raw += uint64(One) / 997 {
		x := Fixed(raw)
		got := float64(expNegQ56(x)) / float64(oneQ56)
		want := math.Exp(-toFloat(x))
		if math.Abs(got-want) > 1e-15 {
			t.Fatalf("exp(-%s) = %g, want %g", x, got, want)
		}
	}
}

func TestSigmoidPrecision(t *testing.T) {
	for raw := uint64(0); raw < 60*uint64(One); raw += uint64(One) / 101 {
		x := Fixed(raw)
		for _, neg := range []bool{false, true} {
			xf := toFloat(x)
			if neg {
				xf = -xf
			}
			want := 1 / (1 + math.Exp(-xf))
			got := toFloat(sigmoid(neg, x))
			if math.Abs(got-want) > 1.0/(1<<31) {
				t.Fatalf("sigmoid(%v) = %.12f, want %.12f", xf, got, want)
			}
		}
	}
	if sigmoid(false, 0) != Half || sigmoid(true, 0) != Half {
		t.Fatal("sigmoid(0) != 0.5")
	}
	if sigmoid(false, Max) != One || sigmoid(true, Max) != 0 {
		t.Fatal("sigmoid saturation")
	}
}

func TestLiquidAlpha(t *testing.T) {
	p := DefaultParams()
	slope := p.AlphaSigmoidSteepness.Div(FromUint(100))
	lo, hi := p.AlphaLow, p.AlphaHigh
	// diff = 0.5 → exactly the midpoint.
	if a := liquidAlpha(&p, slope, One, Half, Half); a != lo+(hi-lo)/2 {
		t.Fatalf("midpoint alpha %s", a)
	}
	// Weight far above consensus (diff 1) → near alpha_high; weight at
	// consensus (diff 0) → near alpha_low.
	aHigh := liquidAlpha(&p, slope, One, 0, 0)
	aLow := liquidAlpha(&p, slope, Half, 0, Half)
	if toFloat(hi)-toFloat(aHigh) > 0.0014 || toFloat(aLow)-toFloat(lo) > 0.0014 {
		t.Fatalf("alpha ends: %s %s", aLow, aHigh)
	}
	// Selling branch: bond above weight.
	if a := liquidAlpha(&p, slope, 0, One, 0); a != aHigh {
		t.Fatalf("sell alpha %s != %s", a, aHigh)
	}
	for _, steep := range []Fixed{0, 1, FromUint(100000), Max} {
		p.AlphaSigmoidSteepness = steep
		s := steep.Div(FromUint(100))
		for _, d := range []Fixed{0, One / 3, Half, One} {
			a := liquidAlpha(&p, s, d, 0, 0)
			if a < lo || a > hi {
				t.Fatalf("alpha %s outside [%s, %s]", a, lo, hi)
			}
		}
	}
}

// TestLiquidRatesMemo: the remembered rates equal the sigmoid's for every
// diff, in any order of asking (repeats, zeros, and changes of diff).
func TestLiquidRatesMemo(t *testing.T) {
	for _, steep := range []Fixed{0, FromUint(1000), FromUint(7), Max} {
		p := DefaultParams()
		p.AlphaSigmoidSteepness = steep
		slope := steep.Div(FromUint(100))
		r := newLiquidRates(&p)
		diffs := []Fixed{0, 0, 1, 1, 0, Half, Half, One, 0, One, One / 3, 1 << 20, 1 << 20, 0}
		for k, d := range diffs {
			if got, want := r.rate(d), alphaOfDiff(&p, slope, d); got != want {
				t.Fatalf("steepness %s, diff %d (#%d): rate %d, want %d", steep, d, k, got, want)
			}
		}
	}
}

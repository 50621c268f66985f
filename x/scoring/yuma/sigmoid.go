package yuma

import "math/bits"

// Fixed-point exponential and logistic sigmoid for liquid alpha.
//
// Internally values use Q8.56 (2^56 = 1.0). e^(−x) for x ≥ 0 is computed by
// range reduction x = (16k + j)·(ln2/16) + r with 0 ≤ j < 16 and
// 0 ≤ r < ln2/16 (ln2/16 rounded to 56 bits), so that
// e^(−x) = 2^−k · 2^(−j/16) · e^(−r). 2^(−j/16) comes from a table of 16
// constants rounded to nearest at 2^−56; e^(−r) from its Taylor polynomial of
// degree 8 in Horner form b_i = c_i − r·b_(i+1), c_i = floor(2^56/i!), where
// every b_i stays in (0, c_i] so unsigned arithmetic suffices (truncation
// error < 2^−58). The absolute error of e^(−x) is below 2^−46; the sigmoid,
// returned as Fixed rounded down, is within 2^−31 of the true value. For
// x ≥ 44, e^(−x) < 2^−63 is taken as 0.

const (
	q56    = 56
	oneQ56 = uint64(1) << q56
	// ln2Over16Q56 is ln2/16 · 2^56 rounded to nearest.
	ln2Over16Q56 = 0xB17217F7D1CF8
	expDegree    = 8
)

// pow2NegSixteenthsQ56[j] = 2^(−j/16) · 2^56 rounded to nearest.
var pow2NegSixteenthsQ56 = [16]uint64{
	0x0100000000000000, 0x00F5257D152486CC, 0x00EAC0C6E7DD2439, 0x00E0CCDEEC2A94E1,
	0x00D744FCCAD69D6B, 0x00CE248C151F8481, 0x00C5672A115506DB, 0x00BD08A39F580C37,
	0x00B504F333F9DE65, 0x00AD583EEA42A14B, 0x00A5FED6A9B15139, 0x009EF5326091A112,
	0x009837F0518DB8A9, 0x0091C3D373AB11C3, 0x008B95C1E3EA8BD7, 0x0085AAC367CC487B,
}

// invFactQ56[i] = floor(2^56 / i!) (computed as floor(prev / i)).
var invFactQ56 = func() (t [expDegree + 1]uint64) {
	t[0] = oneQ56
	for i := 1; i <= expDegree; i++ {
		t[i] = t[i-1] / uint64(i)
	}
	return t
}()

// mulQ56 returns floor(a·b / 2^56).
func mulQ56(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi<<(64-q56) | lo>>q56
}

// expNegQ56 returns e^(−x) in Q8.56 for x ≥ 0.
func expNegQ56(x Fixed) uint64 {
	if x >= 44*One {
		return 0
	}
	X := uint64(x) << (q56 - FracBits) // x < 44, so X < 2^62
	q := X / ln2Over16Q56              // constant divisor: compiled to a multiply
	r := X - q*ln2Over16Q56
	k, j := q>>4, q&15
	b := invFactQ56[expDegree]
	for i := expDegree - 1; i >= 0; i-- {
		b = invFactQ56[i] - mulQ56(r, b)
	}
	if k >= 64 {
		return 0
	}
	return mulQ56(pow2NegSixteenthsQ56[j], b) >> k
}

// sigmoid returns 1/(1 + e^(−x)) as Fixed rounded down, for x = mag when neg
// is false and x = −mag when neg is true.
func sigmoid(neg bool, mag Fixed) Fixed {
	em := expNegQ56(mag)
	den := oneQ56 + em // ≤ 2^57
	if neg {
		return Fixed(mulDiv(em, uint64(One), den))
	}
	return Fixed(mulDiv(oneQ56, uint64(One), den))
}

// liquidAlpha returns the per-bond EMA rate
//
//	alpha_low + sigmoid(steepness/100 · (diff − 0.5)) · (alpha_high − alpha_low)
//
// where diff = clamp(wb − consensus) when wb ≥ old, else clamp(old − wb)
// (clamp to [0, 1]); the result is clamped to [alpha_low, alpha_high].
//
// slope is steepness/100 (Fixed, rounded down) and the sigmoid argument is
// slope·|diff − 0.5| rounded down, negated when diff < 0.5.
func liquidAlpha(p *Params, slope, wb, old, consensus Fixed) Fixed {
	return alphaOfDiff(p, slope, liquidDiff(wb, old, consensus))
}

// liquidDiff is the diff liquidAlpha's sigmoid reads: clamp(wb − consensus)
// when wb ≥ old, else clamp(old − wb), clamped to [0, 1].
func liquidDiff(wb, old, consensus Fixed) Fixed {
	var diff Fixed
	if wb >= old {
		diff = wb.Sub(consensus)
	} else {
		diff = old.Sub(wb)
	}
	return diff.Min(One)
}

// alphaOfDiff is liquidAlpha for a given diff in [0, 1].
func alphaOfDiff(p *Params, slope, diff Fixed) Fixed {
	neg := diff < Half
	var dev Fixed
	if neg {
		dev = Half - diff
	} else {
		dev = diff - Half
	}
	s := sigmoid(neg, slope.Mul(dev))
	a := p.AlphaLow.Add(s.Mul(p.AlphaHigh.Sub(p.AlphaLow)))
	if a > p.AlphaHigh {
		a = p.AlphaHigh
	}
	if a < p.AlphaLow {
		a = p.AlphaLow
	}
	return a
}

// liquidRates gives one epoch's liquid alpha rates by diff, remembering the
// rate of diff 0 and of the last diff asked for. The rate is a function of
// the diff alone, so this changes no result, only how often the sigmoid runs:
// with a bonds penalty of 1 the clipped weight never exceeds consensus, so
// every bond whose weight is at least its old value has diff 0 (in the
// steady state of a subnet, most bonds), and equal weights give equal diffs.
type liquidRates struct {
	p                *Params
	slope            Fixed
	zero             Fixed // the rate at diff 0
	lastDiff, lastAl Fixed // lastDiff starts above One, where no diff lies
}

func newLiquidRates(p *Params) *liquidRates {
	slope := p.AlphaSigmoidSteepness.Div(FromUint(100))
	return &liquidRates{p: p, slope: slope, zero: alphaOfDiff(p, slope, 0), lastDiff: Max}
}

// rate returns alphaOfDiff(p, slope, diff) for diff in [0, 1].
func (r *liquidRates) rate(diff Fixed) Fixed {
	if diff == 0 {
		return r.zero
	}
	if diff != r.lastDiff {
		r.lastDiff, r.lastAl = diff, alphaOfDiff(r.p, r.slope, diff)
	}
	return r.lastAl
}

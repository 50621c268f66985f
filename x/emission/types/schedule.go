package types

import sdkmath "cosmossdk.io/math"

// Halvings is how many times the reward has halved after issued of cap:
// the largest k with issued >= cap·(1 − 2^−k), i.e. floor(log2(cap/(cap−issued))),
// computed exactly in integers as the largest k with (cap − issued)·2^k <= cap.
// It returns ok=false once issued >= cap.
func Halvings(issued, cap sdkmath.Int) (k uint32, ok bool) {
	if !cap.IsPositive() || issued.GTE(cap) {
		return 0, false
	}
	rest := cap.Sub(issued)
	for rest.MulRaw(2).LTE(cap) {
		rest = rest.MulRaw(2)
		k++
	}
	return k, true
}

// BlockReward is Bittensor's schedule: initial·2^−halvings, zero at the cap,
// and never more than what is left below the cap.
func BlockReward(initial, issued, cap sdkmath.Int) (sdkmath.Int, uint32) {
	k, ok := Halvings(issued, cap)
	if !ok || k >= 128 {
		return sdkmath.ZeroInt(), k
	}
	r := initial
	for i := uint32(0); i < k && r.IsPositive(); i++ {
		r = r.QuoRaw(2)
	}
	if left := cap.Sub(issued); r.GT(left) {
		r = left
	}
	return r, k
}

// Split divides total by weights, each part floor(total·w_i/Σw); the
// remainder (less than len(weights) units) is returned for the caller to
// carry. Zero total weight gives every part nothing and returns all as remainder.
func Split(total sdkmath.Int, weights []sdkmath.Int) ([]sdkmath.Int, sdkmath.Int) {
	parts := make([]sdkmath.Int, len(weights))
	sum := sdkmath.ZeroInt()
	for _, w := range weights {
		sum = sum.Add(w)
	}
	rest := total
	for i, w := range weights {
		if !sum.IsPositive() {
			parts[i] = sdkmath.ZeroInt()
			continue
		}
		parts[i] = total.Mul(w).Quo(sum)
		rest = rest.Sub(parts[i])
	}
	return parts, rest
}

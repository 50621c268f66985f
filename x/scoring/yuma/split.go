package yuma

import (
	"cmp"
	"math/bits"
	"slices"
)

// apportion splits amount into integer parts proportional to weights, summing
// exactly to amount when any weight is non-zero (all zeros otherwise), by the
// largest-remainder (Hamilton) method: part k first gets
// floor(amount · w_k / Σw); the units still missing (fewer than the number of
// non-zero weights) go one each to the parts with the largest remainders
// amount · w_k mod Σw, ties to the lower index. A part with zero weight never
// receives anything. If Σw does not fit in 64 bits, all weights are first
// shifted right by the same number of bits.
func apportion(amount uint64, weights []uint64) []uint64 {
	out := make([]uint64, len(weights))
	total, shift := shiftedSum(weights)
	if total == 0 || amount == 0 {
		return out
	}
	rem := make([]uint64, len(weights))
	var given uint64
	for k, w := range weights {
		w >>= shift
		if w == 0 {
			continue
		}
		// amount·w < 2^64·total, so the quotient fits (hi < total).
		ph, pl := bits.Mul64(amount, w)
		q, r := bits.Div64(ph, pl, total)
		out[k] = q
		rem[k] = r
		given += q
	}
	left := amount - given
	if left == 0 {
		return out
	}
	idx := make([]int, 0, len(weights))
	for k, r := range rem {
		if r > 0 {
			idx = append(idx, k)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(rem[b], rem[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, k := range idx {
		if left == 0 {
			break
		}
		out[k]++
		left--
	}
	return out
}

// splitEmission divides emission between miners (by miner weights) and
// validators (by validator weights) in one apportionment over the combined
// list [miner 0..N−1, validator 0..N−1]; remainder ties therefore favour
// miner parts over validator parts, then the lower UID.
func splitEmission(emission uint64, miner, validator []Fixed) (minerOut, validatorOut []uint64, unallocated uint64) {
	n := len(miner)
	w := make([]uint64, 2*n)
	for j, v := range miner {
		w[j] = uint64(v)
	}
	for i, v := range validator {
		w[n+i] = uint64(v)
	}
	parts := apportion(emission, w)
	var sum uint64
	for _, p := range parts {
		sum += p
	}
	return parts[:n:n], parts[n:], emission - sum
}

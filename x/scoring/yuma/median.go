package yuma

import (
	"math/bits"
	"slices"
)

// quantileThreshold returns ceil(kappa · total) in raw Fixed units: the stake a
// set of validators must reach (cum ≥ threshold ⇔ cum ≥ kappa·total exactly).
func quantileThreshold(kappa, total Fixed) uint64 {
	hi, lo := bits.Mul64(uint64(kappa), uint64(total))
	t := hi<<(64-FracBits) | lo>>FracBits
	if lo&fracMask != 0 {
		t++
	}
	return t
}

// weightedQuantile returns the largest weight x such that the validators
// giving weight ≥ x hold cumulative stake ≥ threshold, or 0 if there is none
// (validators absent from seg count as weight 0). seg holds one key per
// validator, weight<<16 | uid, and is reordered in place. The result depends
// only on the multiset of (weight, stake) pairs, so it is deterministic.
//
// It is a weighted introselect: branch-free partitions around a
// median-of-three pivot narrow the range holding the answer (expected linear
// time); after 2·log2(len) rounds, or once the range is small, the rest is
// sorted, which bounds the worst case by O(len·log len).
func weightedQuantile(seg []uint64, stake []Fixed, threshold uint64) Fixed {
	if len(seg) == 0 {
		return 0
	}
	if threshold == 0 {
		var m uint64
		for _, k := range seg {
			m = max(m, k)
		}
		return Fixed(m >> 16)
	}
	need := threshold // stake still needed, counting down from the top of seg
	lo, hi := 0, len(seg)
	for depth := 2 * bits.Len(uint(len(seg))); hi-lo > 24 && depth > 0; depth-- {
		p := median3(seg[lo]>>16, seg[lo+(hi-lo)/2]>>16, seg[hi-1]>>16)
		// Branch-free partition: [lo,a) gets the keys with weight > p;
		// sg and se are the stakes of weights > p and == p.
		a := lo
		var sg, se uint64
		for b := lo; b < hi; b++ {
			k := seg[b]
			w := k >> 16
			st := uint64(stake[k&0xFFFF])
			seg[b] = seg[a]
			seg[a] = k
			if w > p {
				a++
				sg += st
			}
			if w == p {
				se += st
			}
		}
		switch {
		case sg >= need: // the answer lies above the pivot (sg > 0, so a > lo)
			hi = a
		case sg+se >= need:
			return Fixed(p)
		default:
			// The answer lies below the pivot: keep the keys < p.
			need -= sg + se
			c := a
			for b := a; b < hi; b++ {
				k := seg[b]
				seg[b] = seg[c]
				seg[c] = k
				if k>>16 < p {
					c++
				}
			}
			lo, hi = a, c
		}
	}
	rest := seg[lo:hi]
	slices.Sort(rest)
	var cum uint64
	for t := len(rest) - 1; t >= 0; t-- {
		cum += uint64(stake[rest[t]&0xFFFF])
		if cum >= need {
			return Fixed(rest[t] >> 16)
		}
	}
	return 0
}

func median3(x, y, z uint64) uint64 {
	if x > y {
		x, y = y, x
	}
	if y > z {
		y = z
	}
	return max(x, y)
}

// computeConsensus sets e.consensus[j] to the stake-weighted quantile of
// column j at 1 − kappa over validators with non-zero active stake: the
// largest weight that validators holding at least kappa of the active stake
// give to j or exceed (kappa 0.5: the stake-weighted median, where exactly half
// the stake suffices).
//
// Columns are processed in blocks: for each block the entries of every
// validator row that fall in it are gathered (each row read from a per-row
// cursor), so the working set stays in cache.
func (e *epoch) computeConsensus() {
	n := e.n
	cons := make([]Fixed, n)
	e.consensus = cons
	if e.stakeSum == 0 || n == 0 {
		return
	}
	thr := quantileThreshold(e.in.Params.Kappa, e.stakeSum)

	var rows []int
	nnz := 0
	for i := 0; i < n; i++ {
		if e.activeStake[i] != 0 && e.rowStart[i+1] > e.rowStart[i] {
			rows = append(rows, i)
			nnz += e.rowStart[i+1] - e.rowStart[i]
		}
	}
	if len(rows) == 0 {
		return
	}
	cursor := make([]int, len(rows))
	for r, i := range rows {
		cursor[r] = e.rowStart[i]
	}
	const block = 64
	m := len(rows)
	if m <= 1024 {
		// Fixed layout: column c of the block uses buf[c·m : c·m+cnt[c]]
		// (a row has at most one entry per column).
		buf := make([]uint64, block*m)
		var cnt [block]int
		for j0 := 0; j0 < n; j0 += block {
			j1 := min(j0+block, n)
			cnt = [block]int{}
			for r, i := range rows {
				end := e.rowStart[i+1]
				k := cursor[r]
				for ; k < end && int(e.col[k]) < j1; k++ {
					c := int(e.col[k]) - j0
					buf[c*m+cnt[c]] = uint64(e.w[k])<<16 | uint64(i)
					cnt[c]++
				}
				cursor[r] = k
			}
			for c := 0; c < j1-j0; c++ {
				cons[j0+c] = weightedQuantile(buf[c*m:c*m+cnt[c]], e.activeStake, thr)
			}
		}
		return
	}
	// Many validators: counting pass, then fill pass, per block, into a
	// buffer no larger than the number of entries.
	const wide = 1024
	buf := make([]uint64, min(nnz, wide*m))
	start := make([]int, wide+1)
	for j0 := 0; j0 < n; j0 += wide {
		j1 := min(j0+wide, n)
		clear(start)
		for r, i := range rows {
			end := e.rowStart[i+1]
			for k := cursor[r]; k < end && int(e.col[k]) < j1; k++ {
				start[int(e.col[k])-j0+1]++
			}
		}
		for c := 0; c < wide; c++ {
			start[c+1] += start[c]
		}
		for r, i := range rows {
			end := e.rowStart[i+1]
			k := cursor[r]
			for ; k < end && int(e.col[k]) < j1; k++ {
				c := int(e.col[k]) - j0
				buf[start[c]] = uint64(e.w[k])<<16 | uint64(i)
				start[c]++
			}
			cursor[r] = k
		}
		// start[c] is now the end of column c's segment.
		from := 0
		for c := 0; c < j1-j0; c++ {
			cons[j0+c] = weightedQuantile(buf[from:start[c]], e.activeStake, thr)
			from = start[c]
		}
	}
}

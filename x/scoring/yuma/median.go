package yuma

import (
	"math/bits"
	"slices"
)

// block is the number of columns computeConsensus gathers at a time.
const block = 128

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
// validator, weight<<16 | uid (keys are distinct and ordered by weight
// first); seg is reordered and scratch (len ≥ len(seg)) overwritten. The
// result depends only on the multiset of (weight, stake) pairs, so it is
// deterministic.
//
// Scanning the keys from the largest down, the answer is the weight of the
// first key at which the stake seen reaches the threshold. Large ranges are
// narrowed by sampled rounds (see splitAround): sixteen evenly spaced keys
// estimate where the stake crosses the threshold, two of them bracket that
// point, and one branch-free pass splits the range into the keys above,
// between and below the brackets, keeping only the part that holds the
// answer (usually the middle quarter). After a bounded number of rounds the
// rest goes to quantileSelect.
func weightedQuantile(seg []uint64, stake []Fixed, threshold uint64, scratch []uint64) Fixed {
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
	need := threshold // stake still needed within cur
	cur, other := seg, scratch[:len(seg)]
	for rounds := bits.Len(uint(len(cur))); len(cur) > sampledMin && rounds > 0; rounds-- {
		hiKey, loKey := samplePivots(cur, stake, need)
		a, m := splitAround(cur, hiKey, loKey, other)
		sa := sumStake(other[:a], stake)
		var sm uint64
		if sa < need {
			sm = sumStake(other[len(cur)-m:len(cur)], stake)
		}
		switch {
		case sa >= need: // the answer is above hiKey
			cur, other = other[:a], cur
		case sa+sm >= need: // between the brackets
			need -= sa
			cur, other = other[len(cur)-m:len(cur)], cur
		default: // below loKey, in cur itself (or nowhere)
			need -= sa + sm
			c := partitionBelowKey(cur, loKey)
			if c == 0 {
				return 0
			}
			cur = cur[:c]
		}
	}
	return quantileSelect(cur, stake, need)
}

// sampledMin is the range size below which quantileSelect takes over.
const sampledMin = 48

// samplePivots picks the bracketing keys for one sampled round of
// weightedQuantile: sixteen evenly spaced keys of seg, sorted; t is the first
// of them (from the largest) whose cumulative stake, scaled by len(seg)/16,
// reaches need; the brackets are the sample keys two places above and below
// t (hiKey = MaxUint64: nothing is above; loKey = 0: nothing is below). Only
// the speed of weightedQuantile depends on this estimate, never its result.
func samplePivots(seg []uint64, stake []Fixed, need uint64) (hiKey, loKey uint64) {
	const k, w = 16, 2
	var smp [k]uint64
	step := len(seg) / k
	for t := range smp {
		smp[t] = seg[t*step+step/2]
	}
	// Insertion sort, descending.
	for t := 1; t < k; t++ {
		x := smp[t]
		u := t
		for ; u > 0 && smp[u-1] < x; u-- {
			smp[u] = smp[u-1]
		}
		smp[u] = x
	}
	nh, nl := bits.Mul64(need, k)
	var cum uint64
	t := k
	for u, x := range smp {
		cum += uint64(stake[x&0xFFFF])
		if ch, cl := bits.Mul64(cum, uint64(len(seg))); ch > nh || (ch == nh && cl >= nl) {
			t = u
			break
		}
	}
	hiKey, loKey = ^uint64(0), 0
	if t-w >= 0 {
		hiKey = smp[t-w]
	}
	if t+w < k {
		loKey = smp[t+w]
	}
	return hiKey, loKey
}

// splitAround copies the keys of seg above hiKey to the front of out (a of
// them) and those in [loKey, hiKey] to its back (out[len(seg)−m:]); keys
// below loKey are not copied. Every key is stored at both cursors: the two
// regions never overlap, and a slot beyond a region's end is overwritten
// later or unused. No data-dependent branches, and few enough live values for
// the loop to stay in registers (the stakes are summed afterwards; not
// inlined, for the same reason).
//
//go:noinline
func splitAround(seg []uint64, hiKey, loKey uint64, out []uint64) (a, m int) {
	out = out[:len(seg)]
	back := len(seg) - 1
	for _, k := range seg {
		isA := b2u(k > hiKey)
		isM := b2u(k >= loKey) &^ isA
		out[a] = k
		out[back] = k
		a += int(isA)
		back -= int(isM)
	}
	return a, len(seg) - 1 - back
}

// sumStake returns the stake of the keys.
func sumStake(keys []uint64, stake []Fixed) uint64 {
	var s uint64
	for _, k := range keys {
		s += uint64(stake[k&0xFFFF])
	}
	return s
}

// partitionBelowKey moves the keys of seg below loKey to its front and
// returns their number.
func partitionBelowKey(seg []uint64, loKey uint64) (c int) {
	for b, k := range seg {
		seg[b] = seg[c]
		seg[c] = k
		c += int(b2u(k < loKey))
	}
	return c
}

// quantileSelect is weightedQuantile's finish (threshold > 0): a weighted
// introselect. Branch-free partitions around a median-of-three pivot narrow
// the range holding the answer (expected linear time); after 2·log2(len)
// rounds, or once the range is small, the rest is sorted, which bounds the
// worst case by O(len·log len).
func quantileSelect(seg []uint64, stake []Fixed, threshold uint64) Fixed {
	need := threshold // stake still needed, counting down from the top of seg
	lo, hi := 0, len(seg)
	for depth := 2 * bits.Len(uint(len(seg))); hi-lo > 8 && depth > 0; depth-- {
		p := median3(seg[lo]>>16, seg[lo+(hi-lo)/2]>>16, seg[hi-1]>>16)
		// Branch-free partition: [lo,a) gets the keys with weight > p;
		// sg and se are the stakes of weights > p and == p.
		na, sg, se := partitionAbove(seg[lo:hi], stake, p)
		a := lo + na
		switch {
		case sg >= need: // the answer lies above the pivot (sg > 0, so a > lo)
			hi = a
		case sg+se >= need:
			return Fixed(p)
		default:
			// The answer lies below the pivot: keep the keys < p.
			need -= sg + se
			lo, hi = a, a+partitionBelow(seg[a:hi], p)
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

// partitionAbove moves the keys with weight > p to the front of seg (in no
// particular order) and returns their number, their stake and the stake of
// the keys with weight == p. It has no data-dependent branches.
func partitionAbove(seg []uint64, stake []Fixed, p uint64) (a int, sg, se uint64) {
	for b, k := range seg {
		w := k >> 16
		st := uint64(stake[k&0xFFFF])
		seg[b] = seg[a]
		seg[a] = k
		gt := b2u(w > p)
		a += int(gt)
		sg += st & -gt
		se += st & -b2u(w == p)
	}
	return a, sg, se
}

// partitionBelow moves the keys with weight < p to the front of seg and
// returns their number.
func partitionBelow(seg []uint64, p uint64) (c int) {
	for b, k := range seg {
		seg[b] = seg[c]
		seg[c] = k
		c += int(b2u(k>>16 < p))
	}
	return c
}

// gatherRow copies the entries of one CSR row segment that fall in columns
// [j0, j0+block) into the block buffer, as keys weight<<16 | row: column c
// of the block gets buf[c·stride + cnt[c]]. It returns the number of entries
// taken (the segment's columns increase, so they are a prefix).
//
//go:noinline
func gatherRow(seg []uint64, j0 uint, row uint64, buf []uint64, stride int, cnt *[block]int) int {
	for k, x := range seg {
		c := uint(entCol(x)) - j0
		if c >= block {
			return k
		}
		buf[int(c)*stride+cnt[c]] = x&^0xFFFF | row
		cnt[c]++
	}
	return len(seg)
}

// b2u is 1 for true, 0 for false; the compiler emits a SETcc, so loops
// using it instead of if-statements have no data-dependent branches.
func b2u(b bool) uint64 {
	if b {
		return 1
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
	m := len(rows)
	scratch := make([]uint64, m) // a column has at most one key per row
	if m <= 1024 {
		// Fixed layout: column c of the block uses buf[c·stride :
		// c·stride+cnt[c]] (a row has at most one entry per column). A
		// stride of m would often be a multiple of 512 bytes (256
		// validators: 2 KiB), mapping the block's columns onto a few L1
		// sets so that every gathered key missed the cache; one more cache
		// line spreads them (measured: consensus about 20% faster).
		stride := m + 8
		buf := make([]uint64, block*stride)
		var cnt [block]int
		for j0 := 0; j0 < n; j0 += block {
			j1 := min(j0+block, n)
			cnt = [block]int{}
			for r, i := range rows {
				cursor[r] += gatherRow(e.ent[cursor[r]:e.rowStart[i+1]], uint(j0), uint64(i), buf, stride, &cnt)
			}
			for c := 0; c < j1-j0; c++ {
				cons[j0+c] = weightedQuantile(buf[c*stride:c*stride+cnt[c]], e.activeStake, thr, scratch)
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
			for k := cursor[r]; k < end && int(entCol(e.ent[k])) < j1; k++ {
				start[int(entCol(e.ent[k]))-j0+1]++
			}
		}
		for c := 0; c < wide; c++ {
			start[c+1] += start[c]
		}
		for r, i := range rows {
			end := e.rowStart[i+1]
			k := cursor[r]
			for ; k < end && int(entCol(e.ent[k])) < j1; k++ {
				x := e.ent[k]
				c := int(entCol(x)) - j0
				buf[start[c]] = x&^0xFFFF | uint64(i)
				start[c]++
			}
			cursor[r] = k
		}
		// start[c] is now the end of column c's segment.
		from := 0
		for c := 0; c < j1-j0; c++ {
			cons[j0+c] = weightedQuantile(buf[from:start[c]], e.activeStake, thr, scratch)
			from = start[c]
		}
	}
}

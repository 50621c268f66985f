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
// first); seg is left as it is (the caller clips it next) and scratch
// (len ≥ 3·len(seg)) is overwritten. The result depends only on the
// multiset of (weight, stake) pairs, so it is deterministic.
//
// Scanning the keys from the largest down, the answer is the weight of the
// first key at which the stake seen reaches the threshold. It is found by
// radix selection on the keys: the range [lo, hi] of the keys is cut into
// 256 buckets by bucket(k) = (k − lo)·f >> 56 with f = ⌊255·2^56/(hi − lo)⌋
// (non-decreasing in k, lo and hi in buckets 0 and ≥ 254, so a round
// always drops keys), one pass adds each key's stake to its bucket, the
// buckets are scanned from the top until the stake reaches what is still
// needed, and the keys of that bucket are kept: the pass links each key to
// the previous one of its bucket, so only that bucket's few keys are read
// again. A multiply and a constant shift, not a variable one, keep the pass
// short. Each round
// narrows the key range about 255-fold (keys have at most 49 bits), so
// after a few rounds the keys left are few and go to quantileSelect; the
// rounds are capped all the same. Every pass is branch-free over the keys,
// and the work is O(len(seg)) per round whatever the weights.
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
	spare := scratch[len(seg) : 2*len(seg)]
	link := scratch[2*len(seg) : 3*len(seg)]
	if len(cur) <= radixMin {
		cur = other[:copy(other, cur)] // quantileSelect reorders its keys
	}
	for rounds := 0; len(cur) > radixMin && rounds < radixRounds; rounds++ {
		lo, hi := keyRange(cur)
		if lo == hi {
			// Keys are distinct, so this cannot happen; were it to, one
			// key value is left, the answer if it holds enough.
			if sumStake(cur, stake) >= need {
				return Fixed(lo >> 16)
			}
			return 0
		}
		f := (255 << 56) / (hi - lo) // (k − lo)·f < 2^64 for k ≤ hi
		var hist [256]uint64
		var head [256]uint64 // 1 + the index of each bucket's last key, 0 for none
		bucketStake(cur, stake, lo, f, hist[:], head[:], link)
		var above uint64 // stake of the buckets above b
		b := 255
		for ; b >= 0 && above+hist[b] < need; b-- {
			above += hist[b]
		}
		if b < 0 {
			return 0 // the keys hold less than the threshold
		}
		need -= above
		n := 0
		for i := head[b]; i != 0 && n < len(cur); i = link[i-1] {
			other[n] = cur[i-1]
			n++
		}
		cur, other, spare = other[:n], spare, other
	}
	return quantileSelect(cur, stake, need)
}

// radixMin is the range size below which quantileSelect takes over, and
// radixRounds the most radix rounds a column gets (49-bit keys need about
// seven; quantileSelect finishes whatever is left).
const (
	radixMin    = 16
	radixRounds = 10
)

// keyRange returns the smallest and largest key. Not inlined: inside
// weightedQuantile its loop took twice the instructions.
//
//go:noinline
func keyRange(keys []uint64) (lo, hi uint64) {
	lo = ^uint64(0)
	for _, k := range keys {
		lo = min(lo, k)
		hi = max(hi, k)
	}
	return lo, hi
}

// bucketStake adds the stake of each key to its bucket, (k − lo)·f >> 56,
// which must be below 256 for every key, and chains the keys of each
// bucket: head[b] is 1 + the index of its last key, link[i] the same for
// the key before key i (0 ends the chain); head must start at 0.
//
//go:noinline
func bucketStake(keys []uint64, stake []Fixed, lo, f uint64, hist, head, link []uint64) {
	hist = hist[:256] // slices, not array pointers: no nil check per key
	head = head[:256]
	link = link[:len(keys)]
	for i, k := range keys {
		b := ((k - lo) * f >> 56) & 255
		hist[b] += uint64(stake[k&0xFFFF])
		link[i] = head[b]
		head[b] = uint64(i) + 1
	}
}

// sumStake returns the stake of the keys.
func sumStake(keys []uint64, stake []Fixed) uint64 {
	var s uint64
	for _, k := range keys {
		s += uint64(stake[k&0xFFFF])
	}
	return s
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

// gatherFull stores the keys of a row segment that covers a whole block,
// x&^0xFFFF | row, one per column: column c at dst[c·stride].
//
//go:noinline
func gatherFull(seg []uint64, row uint64, dst []uint64, stride int) {
	for c, x := range seg {
		dst[c*stride] = x&^0xFFFF | row
	}
}

// gatherDense is gatherFull for a block of a dense row (one weight per
// column): column c gets the key weight<<16 | row at dst[c·stride].
//
//go:noinline
func gatherDense(vals []uint32, row uint64, dst []uint64, stride int) {
	for c, v := range vals {
		dst[c*stride] = uint64(v)<<16 | row
	}
}

// gatherDenseCounted is gatherRow for a block of a dense row: column c gets
// its key at buf[c·stride + cnt[c]] (len(vals) ≤ block).
func gatherDenseCounted(vals []uint32, row uint64, buf []uint64, stride int, cnt *[block]int) {
	for c, v := range vals {
		buf[c*stride+cnt[c]] = uint64(v)<<16 | row
		cnt[c]++
	}
}

// gatherSparse is gatherFull for a segment that may miss columns of the
// block [j0, j0+w): every column first gets the key of weight 0, row; then
// the segment's entries in the block overwrite theirs. It returns the
// number of entries taken (a prefix of seg).
//
//go:noinline
func gatherSparse(seg []uint64, j0 uint, w int, row uint64, dst []uint64, stride int) int {
	for c := 0; c < w; c++ {
		dst[c*stride] = row
	}
	for k, x := range seg {
		c := uint(entCol(x)) - j0
		if c >= uint(w) {
			return k
		}
		dst[int(c)*stride] = x&^0xFFFF | row
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

// clipColumn clips the keys of one column (weight<<16 | row) at its
// consensus c: it adds min(w, c) to the trust of each key's row and returns
// the column's rank Σ stake[row]·min(w, c) (each product rounded down).
//
//go:noinline
func clipColumn(seg []uint64, c Fixed, stake []Fixed, trust []Fixed) (rank Fixed) {
	if c < One {
		// min(w, c) < 1: mulUnit is the plain product (stake ≤ 1).
		for _, k := range seg {
			row := k & 0xFFFF
			wc := min(Fixed(k>>16), c)
			trust[row] += wc
			rank += (stake[row] * wc) >> FracBits
		}
		return rank
	}
	for _, k := range seg {
		row := k & 0xFFFF
		wc := min(Fixed(k>>16), c)
		trust[row] += wc
		rank += mulUnit(stake[row], wc)
	}
	return rank
}

// clipSlots is clipColumn for a column of the dense layout, whose key in
// slot r belongs to the r-th row: it adds min(w, c) to trust[r] and returns
// Σ stake[r]·min(w, c) (len(stake), len(trust) ≥ len(seg)).
//
//go:noinline
func clipSlots(seg []uint64, c Fixed, stake, trust []Fixed) (rank Fixed) {
	stake = stake[:len(seg)]
	trust = trust[:len(seg)]
	if c < One {
		// min(w, c) < 1: mulUnit is the plain product (stake ≤ 1).
		for r, k := range seg {
			wc := min(Fixed(k>>16), c)
			trust[r] += wc
			rank += (stake[r] * wc) >> FracBits
		}
		return rank
	}
	for r, k := range seg {
		wc := min(Fixed(k>>16), c)
		trust[r] += wc
		rank += mulUnit(stake[r], wc)
	}
	return rank
}

// computeConsensus sets e.consensus[j] to the stake-weighted quantile of
// column j at 1 − kappa over validators with non-zero active stake: the
// largest weight that validators holding at least kappa of the active stake
// give to j or exceed (kappa 0.5: the stake-weighted median, where exactly half
// the stake suffices).
//
// Columns are processed in blocks: for each block the entries of every
// validator row that fall in it are gathered (each row read from a per-row
// cursor), so the working set stays in cache. Once a column's consensus is
// known, its keys are clipped at once (clipColumn): the trust of the rows
// gathered here and all of the rank (rows without active stake add 0 to
// the rank; clipRankAndBond gives them their trust).
func (e *epoch) computeConsensus() {
	n := e.n
	cons := make([]Fixed, n)
	e.consensus = cons
	e.trust = make([]Fixed, n)
	e.rank = make([]Fixed, n)
	trust, rank := e.trust, e.rank
	if e.stakeSum == 0 || n == 0 {
		return
	}
	thr := quantileThreshold(e.in.Params.Kappa, e.stakeSum)

	var rows []int
	nnz := 0
	for i := 0; i < n; i++ {
		if e.activeStake[i] == 0 {
			continue
		}
		if e.dense[i] != nil {
			rows = append(rows, i)
			nnz += n // a dense row fills every slot (zeros included)
		} else if e.rowStart[i+1] > e.rowStart[i] {
			rows = append(rows, i)
			nnz += e.rowStart[i+1] - e.rowStart[i]
		}
	}
	if len(rows) == 0 {
		return
	}
	e.clipped = true
	cursor := make([]int, len(rows))
	for r, i := range rows {
		cursor[r] = e.rowStart[i]
	}
	m := len(rows)
	scratch := make([]uint64, 3*m) // a column has at most one key per row
	if m <= 1024 && 4*nnz >= 3*m*n {
		// Dense: row r of rows has slot r in every column of the block,
		// column c at buf[c·stride : c·stride+m]. A row without an entry
		// in a column leaves a key of weight 0 there, which is the same to
		// the quantile as no key (absent validators count as weight 0) and
		// adds 0 to trust and rank. A row holding every column of the
		// block (most rows, in a dense subnet) is copied without
		// per-column counters. The stride is padded as below.
		stride := m + 8
		buf := make([]uint64, block*stride)
		// Slot r's stake and trust, so that clipping needs no row lookup.
		slotStake, slotTrust := make([]Fixed, m), make([]Fixed, m)
		for r, i := range rows {
			slotStake[r] = e.activeStake[i]
		}
		for j0 := 0; j0 < n; j0 += block {
			w := min(block, n-j0)
			for r, i := range rows {
				if d := e.dense[i]; d != nil {
					gatherDense(d[j0:j0+w], uint64(i), buf[r:], stride)
					continue
				}
				seg := e.ent[cursor[r]:e.rowStart[i+1]]
				if len(seg) >= w && int(entCol(seg[w-1])) == j0+w-1 {
					// Strictly increasing columns from j0 on, the w-th
					// being the block's last: the whole block.
					gatherFull(seg[:w], uint64(i), buf[r:], stride)
					cursor[r] += w
				} else {
					cursor[r] += gatherSparse(seg, uint(j0), w, uint64(i), buf[r:], stride)
				}
			}
			for c := 0; c < w; c++ {
				seg := buf[c*stride : c*stride+m]
				cons[j0+c] = weightedQuantile(seg, e.activeStake, thr, scratch)
				rank[j0+c] = clipSlots(seg, cons[j0+c], slotStake, slotTrust)
			}
		}
		for r, i := range rows {
			trust[i] = slotTrust[r]
		}
		return
	}
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
				if d := e.dense[i]; d != nil {
					gatherDenseCounted(d[j0:j1], uint64(i), buf, stride, &cnt)
					continue
				}
				cursor[r] += gatherRow(e.ent[cursor[r]:e.rowStart[i+1]], uint(j0), uint64(i), buf, stride, &cnt)
			}
			for c := 0; c < j1-j0; c++ {
				seg := buf[c*stride : c*stride+cnt[c]]
				cons[j0+c] = weightedQuantile(seg, e.activeStake, thr, scratch)
				rank[j0+c] = clipColumn(seg, cons[j0+c], e.activeStake, trust)
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
			if e.dense[i] != nil {
				for c := 0; c < j1-j0; c++ {
					start[c+1]++
				}
				continue
			}
			end := e.rowStart[i+1]
			for k := cursor[r]; k < end && int(entCol(e.ent[k])) < j1; k++ {
				start[int(entCol(e.ent[k]))-j0+1]++
			}
		}
		for c := 0; c < wide; c++ {
			start[c+1] += start[c]
		}
		for r, i := range rows {
			if d := e.dense[i]; d != nil {
				for c, v := range d[j0:j1] {
					buf[start[c]] = uint64(v)<<16 | uint64(i)
					start[c]++
				}
				continue
			}
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
			seg := buf[from:start[c]]
			cons[j0+c] = weightedQuantile(seg, e.activeStake, thr, scratch)
			rank[j0+c] = clipColumn(seg, cons[j0+c], e.activeStake, trust)
			from = start[c]
		}
	}
}

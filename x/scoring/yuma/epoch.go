package yuma

import (
	"errors"
	"math/bits"
	"sync"
)

// Output is the result of one epoch. Per-UID slices have length N.
type Output struct {
	// ActiveStake is the normalized stake of UIDs with a permit that are
	// active (A); it sums to 1 (within N·2^−32) or is all zero.
	ActiveStake []Fixed
	// Consensus is the clipping threshold C_j of each UID as a miner.
	Consensus []Fixed
	// Incentive is the miners' normalized share; sums to 1 (within
	// N·2^−32, never above) or is all zero.
	Incentive []Fixed
	// Dividends is the validators' normalized share; sums to 1 (within
	// N·2^−32, never above) or is all zero.
	Dividends []Fixed
	// ValidatorTrust is Σ_j of each validator's clipped, normalized weights.
	ValidatorTrust []Fixed
	// Bonds is the new sparse bond matrix (row = validator, values in [0, 1],
	// strictly increasing UIDs, no zeros). Feed it back as Input.Bonds.
	Bonds [][]Bond
	// MinerEmission and ValidatorEmission are the base-unit payouts.
	// Σ MinerEmission + Σ ValidatorEmission + Unallocated = Input.Emission.
	MinerEmission     []uint64
	ValidatorEmission []uint64
	// Unallocated is the part of the emission nobody can receive: all of it
	// when there is no stake at all (or N = 0), otherwise 0.
	Unallocated uint64
	// StakeFallback is true when no usable weights exist (total incentive 0)
	// and validators were paid by stake instead.
	StakeFallback bool
	// NextPermit holds the validator permits for the next epoch: the top
	// MaxValidators UIDs by stake (see TopStakePermits).
	NextPermit []bool
}

// epoch is the working state of one Run.
type epoch struct {
	in *Input
	n  int

	activeStake []Fixed
	stakeSum    Fixed

	// Masked, row-normalized weights in CSR form: row i is
	// ent[rowStart[i]:rowStart[i+1]], strictly increasing columns, each entry
	// packed as weight<<16 | column (a normalized weight is at most One =
	// 2^32, so it fits in 48 bits). One array instead of two halves the
	// streams the row passes read. The clipped weight is
	// min(weight, consensus[column]).
	rowStart []int
	ent      []uint64
	entBuf   []uint64 // ent's whole array, from entPool

	// Dense rows (kept entries in at least half the columns) are held
	// apart: dense[i], if not nil, is row i's normalized weight of every
	// column (len N, 0 where the row has none), and its CSR row is empty.
	// Four bytes per column with the column implicit: a normalized weight
	// of a row with two or more non-zero weights is below One, so it fits
	// 32 bits (a row that reaches One stays sparse). denseSum[i] is the
	// sum of dense[i] (at most One). A weight of 0 means the same as no
	// entry to every step of the epoch.
	dense    [][]uint32
	denseSum []uint64
	dvalBuf  []uint32 // the dense rows' whole array, from dvalPool
	// maxRegAt is the latest RegisteredAt: a row whose weights date from
	// after it has no entry masked by registration.
	maxRegAt uint64

	consensus []Fixed
	trust     []Fixed
	rank      []Fixed
	incentive []Fixed
	bonds     [][]Bond
	bondSum   []Fixed // Σ_i bonds[i][j] per column j
	dividends []Fixed

	// clipped: computeConsensus has clipped the rows with active stake
	// (steps 4–5: their trust and all of the rank); clipRankAndBond clips
	// the others.
	clipped bool

	// malformed: a weight or bond row failed the checks of Validate.
	malformed bool
}

// entCol and entWeight unpack a CSR entry.
func entCol(x uint64) uint16   { return uint16(x) }
func entWeight(x uint64) Fixed { return Fixed(x >> 16) }

// Run executes one epoch of Yuma Consensus on in. It validates the input and
// returns an error for malformed input; it never panics, uses no floating
// point, maps, goroutines, randomness or clock, and its result is a pure
// function of in.
//
// The rows are checked as the epoch reads them (the checks of Validate, without
// a separate pass over the weights and bonds); a malformed row stops the
// epoch, and Validate then names the problem.
func Run(in Input) (Output, error) {
	if err := in.validateShape(); err != nil {
		return Output{}, err
	}
	e := run(&in)
	if e.malformed {
		if err := in.Validate(); err != nil {
			return Output{}, err
		}
		return Output{}, errors.New("yuma: a row check failed that Validate accepts") // unreachable
	}
	out := e.output()
	e.release()
	return out, nil
}

// entPool keeps the array of normalized weights (ent) from one Run to the
// next: for a dense subnet of 4096 UIDs and 256 validators it is 8 MB,
// which a fresh allocation clears before every epoch only for buildWeights
// to overwrite it. Reuse changes no result: buildWeights writes every
// element the epoch reads.
var entPool sync.Pool // of *[]uint64

// dvalPool does the same for the dense rows (dvalBuf): 4 MB for the dense
// subnet above. Every element of a dense row is written (packDense).
var dvalPool sync.Pool // of *[]uint32

// fromPool returns an array of n elements from pool (contents undefined).
func fromPool[T uint32 | uint64](pool *sync.Pool, n int) []T {
	if p, ok := pool.Get().(*[]T); ok {
		if cap(*p) >= n {
			return (*p)[:n]
		}
		pool.Put(p)
	}
	return make([]T, n)
}

// release gives e's ent and dense rows back to their pools; e must not be
// used afterwards.
func (e *epoch) release() {
	if cap(e.entBuf) > 0 {
		b := e.entBuf
		entPool.Put(&b)
	}
	if cap(e.dvalBuf) > 0 {
		b := e.dvalBuf
		dvalPool.Put(&b)
	}
	e.ent, e.entBuf = nil, nil
	e.dense, e.dvalBuf = nil, nil
}

// weightRow returns row i of the normalized weights in CSR form (entries
// weight<<16 | column, no zeros); a dense row is expanded into a new slice.
func (e *epoch) weightRow(i int) []uint64 {
	if d := e.dense[i]; d != nil {
		return expandDense(d, make([]uint64, len(d)))
	}
	return e.ent[e.rowStart[i]:e.rowStart[i+1]]
}

// expandDense writes the non-zero weights of a dense row to out in CSR
// form (out must hold them all) and returns them.
func expandDense(d []uint32, out []uint64) []uint64 { return out[:packCSR(d, out)] }

// denseCandidate reports whether a row of len entries among n columns is
// built dense: then it takes no more memory than in CSR form.
func denseCandidate(length, n int) bool { return n >= 2 && 2*length >= n }

// run executes steps 1–7 on input whose shape is valid (validateShape). Steps
// 4–6 share one pass over the weight rows (clipRankAndBond). If a weight or
// bond row is malformed, it stops early with e.malformed set.
func run(in *Input) *epoch {
	e := &epoch{in: in, n: len(in.Stake)}
	e.computeActiveStake()
	if e.buildWeights(); e.malformed {
		return e
	}
	e.computeConsensus()
	if e.clipRankAndBond(); e.malformed {
		return e
	}
	e.computeDividends()
	return e
}

// computeActiveStake: A_i = stake_i if permit_i and active_i, else 0;
// normalized (rounded down).
func (e *epoch) computeActiveStake() {
	in := e.in
	a := make([]uint64, e.n)
	for i, s := range in.Stake {
		if in.Permit[i] && in.Active[i] {
			a[i] = s
		}
	}
	e.activeStake = make([]Fixed, e.n)
	normalizeFloor(a, e.activeStake)
	var sum Fixed
	for _, v := range e.activeStake {
		sum += v // Σ ≤ One
	}
	e.stakeSum = sum
}

// rowUsable reports whether validator i's weight row enters the epoch: it
// has a permit from the previous epoch and its weights date from after its
// own (re)registration.
func (e *epoch) rowUsable(i int) bool {
	in := e.in
	return in.Weights != nil && in.Permit[i] && in.RegisteredAt[i] < in.LastUpdate[i]
}

// buildWeights applies the masks and row-normalizes (step 2). Entry (i, j) is
// dropped when i has no permit, j == i, the weight is 0, or miner j was
// (re)registered at or after the block validator i's weights date from
// (RegisteredAt[j] ≥ LastUpdate[i]). Each row is then normalized: w_ij =
// floor(v_ij · 2^32 / Σ_j v_ij); entries that round to 0 are dropped.
//
// A sparse row is read once: the kept entries and their 128-bit sum go to
// a scratch row, which is then normalized into ent (normalizeFloor's
// arithmetic, with the masks and the zero drop done without branches). A
// row with entries in at least half the columns becomes a dense row
// (buildDense), in the same arithmetic.
func (e *epoch) buildWeights() {
	in := e.in
	n := e.n
	total, longest, ndense := 0, 0, 0
	for i := 0; i < n; i++ {
		if !e.rowUsable(i) {
			continue
		}
		if denseCandidate(len(in.Weights[i]), n) {
			ndense++
			total++ // a candidate left in CSR form has one weight (buildDense)
		} else {
			total += len(in.Weights[i])
			longest = max(longest, len(in.Weights[i]))
		}
	}
	for _, r := range in.RegisteredAt {
		e.maxRegAt = max(e.maxRegAt, r)
	}
	e.rowStart = make([]int, n+1)
	e.entBuf = fromPool[uint64](&entPool, total)
	e.ent = e.entBuf
	e.dense = make([][]uint32, n)
	e.denseSum = make([]uint64, n)
	if ndense > 0 {
		e.dvalBuf = fromPool[uint32](&dvalPool, ndense*n)
	}
	dval := e.dvalBuf
	kept := make([]Entry, longest)
	var vals []uint64 // a dense candidate's masked values by column
	if ndense > 0 {
		vals = make([]uint64, n)
	}
	pos := 0
	for i := 0; i < n; i++ {
		e.rowStart[i] = pos
		if !e.rowUsable(i) {
			// Not read otherwise; checked like the rows maskRow reads.
			if len(in.Weights) > i && checkRow(in.Weights[i], n, Max) != nil {
				e.malformed = true
				return
			}
			continue
		}
		if denseCandidate(len(in.Weights[i]), n) {
			if !e.buildDense(i, vals, dval[:n]) {
				e.malformed = true
				return
			}
			if e.dense[i] != nil {
				dval = dval[n:]
			} else {
				// A row whose weights do not all fit 32 bits (one
				// non-zero weight, normalized to One) in CSR form.
				pos += packCSR(vals, e.ent[pos:pos+1])
			}
			continue
		}
		m, hi, lo, ok := maskRow(in.Weights[i], i, in.RegisteredAt, in.LastUpdate[i], kept)
		if !ok {
			e.malformed = true
			return
		}
		if m == 0 {
			continue
		}
		// As in normalizeFloor: a sum beyond 64 bits is brought into range
		// by shifting every value and the sum right together.
		den := lo
		if hi != 0 {
			shift := uint(bits.Len64(hi)) // ≤ 17: at most 2^16 carries
			den = 0
			for t := range kept[:m] {
				kept[t].Value >>= shift
				den += uint64(kept[t].Value)
			}
		}
		if den == 0 {
			continue // cannot happen: the largest kept value survives the shift
		}
		r := newRatio(uint64(One), den)
		pos += packRow(r, kept[:m], e.ent[pos:pos+m])
	}
	e.rowStart[n] = pos
	e.ent = e.ent[:pos:pos]
}

// maskRow copies the entries of validator i's weight row that survive the
// masks into kept and returns their number and 128-bit sum (hi, lo).
// It also checks the row as Validate does (UIDs strictly increasing and
// below N = len(regAt); any value is allowed): ok is false if not.
// Separate from buildWeights (and not inlined) so that its loop keeps
// everything in registers.
//
//go:noinline
func maskRow(row []Entry, i int, regAt []uint64, lu uint64, kept []Entry) (m int, hi, lo uint64, ok bool) {
	kept = kept[:len(row)]
	prev := -1
	for _, en := range row {
		j := int(en.UID)
		if j <= prev || j >= len(regAt) {
			return 0, 0, 0, false
		}
		prev = j
		if j == i || en.Value == 0 || regAt[j] >= lu {
			continue
		}
		kept[m] = en
		m++
		var c uint64
		lo, c = bits.Add64(lo, uint64(en.Value), 0)
		hi += c
	}
	return m, hi, lo, true
}

// packRow writes floor(v·2^32/den) for each kept entry (r the ratio One/den)
// packed with its column into out, drops the entries that round to 0, and
// returns the number written.
func packRow(r ratio, kept []Entry, out []uint64) int {
	k := 0
	out = out[:len(kept)]
	if r.wide() {
		for _, en := range kept {
			q := r.exact(uint64(en.Value))
			out[k] = q<<16 | uint64(en.UID)
			k += int(b2u(q != 0))
		}
		return k
	}
	for _, en := range kept {
		q := r.of(uint64(en.Value)) // ≤ One
		out[k] = q<<16 | uint64(en.UID)
		k += int(b2u(q != 0)) // entries that round to 0 are dropped
	}
	return k
}

// buildDense masks and normalizes row i, a dense candidate, as maskRow and
// packRow do, into out (len N): each column's normalized weight, 0 where
// none is kept. vals (len N) is scratch. If every weight fits 32 bits, row
// i becomes dense (e.dense[i] = out), unless it keeps no weight at all;
// otherwise vals holds the normalized weights by column for packCSR: at
// most one is not 0 (a weight reaches 2^32 only as the row's single
// non-zero value). It returns false if the row is malformed.
func (e *epoch) buildDense(i int, vals []uint64, out []uint32) bool {
	in := e.in
	if row := in.Weights[i]; len(row) == len(out) && i < len(row) && e.maxRegAt < in.LastUpdate[i] {
		// A row of every column, none of them masked by registration
		// (every UID registered before the row's weights): one pass sums
		// it and checks that entry j is column j, a second normalizes it
		// straight from the input, without the scratch row, when the sum
		// fits 64 bits and exceeds One (the ratio's usual form); the row
		// is dense if every result fits 32 bits (the rest as below).
		hiA, loA, okA := sumFullRow(row[:i], 0)
		hiB, loB, okB := sumFullRow(row[i+1:], i+1)
		if !okA || !okB || row[i].UID != uint16(i) {
			return false
		}
		lo, c := bits.Add64(loA, loB, 0)
		if hiA|hiB|c == 0 && lo > uint64(One) {
			r := newRatio(uint64(One), lo)
			if !r.wide() {
				sumA, bigA := packFullRow(row[:i], r, out[:i])
				sumB, bigB := packFullRow(row[i+1:], r, out[i+1:])
				out[i] = 0
				if (bigA|bigB)>>32 == 0 && sumA+sumB > 0 {
					e.dense[i], e.denseSum[i] = out[:len(out):len(out)], sumA+sumB
					return true
				}
			}
		}
	}
	m, hi, lo, ok := maskRowDense(in.Weights[i], i, in.RegisteredAt, in.LastUpdate[i], vals)
	if !ok {
		return false
	}
	if m == 0 {
		clear(vals)
		return true
	}
	den := lo
	if hi != 0 { // as in buildWeights
		shift := uint(bits.Len64(hi))
		den = 0
		for j := range vals {
			vals[j] >>= shift
			den += vals[j]
		}
	}
	r := newRatio(uint64(One), den) // den > 0: the largest value survives the shift
	sum, fits := packDense(r, vals, out)
	if fits {
		if sum > 0 {
			e.dense[i], e.denseSum[i] = out[:len(out):len(out)], sum
		} else {
			clear(vals) // cannot happen: the largest value normalizes to at least 2^16
		}
		return true
	}
	for j, v := range vals {
		vals[j] = r.exact(v)
	}
	return true
}

// sumFullRow checks that row names the columns j0, j0+1, ... in order and
// returns the 128-bit sum of its values.
//
//go:noinline
func sumFullRow(row []Entry, j0 int) (hi, lo uint64, ok bool) {
	for j, en := range row {
		if int(en.UID) != j0+j {
			return 0, 0, false
		}
		var c uint64
		lo, c = bits.Add64(lo, uint64(en.Value), 0)
		hi += c
	}
	return hi, lo, true
}

// packFullRow normalizes a row segment checked by sumFullRow into out,
// floor(v·2^32/den) (r = One/den with k = 0, not wide), and returns the
// sum of the results and, in big, their bitwise or: they fit out's 32 bits
// if big < 2^32 (a result reaches 2^32 only when a single value is not 0).
//
//go:noinline
func packFullRow(row []Entry, r ratio, out []uint32) (sum, big uint64) {
	out = out[:len(row)]
	for j, en := range row {
		q := r.frac(uint64(en.Value))
		out[j] = uint32(q)
		sum += q
		big |= q
	}
	return sum, big
}

// maskRowDense is maskRow for a dense candidate: vals[j] gets the value of
// column j if it survives the masks, else 0. m counts the non-zero values.
// A row of N entries must name the columns 0..N−1 in order, which needs
// one comparison per entry and no clearing; the own column is masked
// afterwards.
//
//go:noinline
func maskRowDense(row []Entry, i int, regAt []uint64, lu uint64, vals []uint64) (m int, hi, lo uint64, ok bool) {
	n := len(vals)
	if len(row) != n {
		clear(vals)
		prev := -1
		for _, en := range row {
			j := int(en.UID)
			if j <= prev || j >= n {
				return 0, 0, 0, false
			}
			prev = j
			if j == i || en.Value == 0 || regAt[j] >= lu {
				continue
			}
			vals[j] = uint64(en.Value)
			m++
			var c uint64
			lo, c = bits.Add64(lo, uint64(en.Value), 0)
			hi += c
		}
		return m, hi, lo, true
	}
	regAt = regAt[:n]
	for j, en := range row {
		if int(en.UID) != j {
			return 0, 0, 0, false
		}
		v := uint64(en.Value) & -b2u(regAt[j] < lu)
		vals[j] = v
		m += int(b2u(v != 0))
		var c uint64
		lo, c = bits.Add64(lo, v, 0)
		hi += c
	}
	if i < n && vals[i] != 0 { // the own column
		var b uint64
		lo, b = bits.Sub64(lo, vals[i], 0)
		hi -= b
		vals[i] = 0
		m--
	}
	return m, hi, lo, true
}

// packDense writes floor(v·2^32/den) of each column's value into out
// (r the ratio One/den) and returns their sum. ok is false if one does not
// fit 32 bits (out is then partly written).
func packDense(r ratio, vals []uint64, out []uint32) (sum uint64, ok bool) {
	out = out[:len(vals)]
	var big uint64
	switch {
	case r.wide():
		for j, v := range vals {
			q := r.exact(v)
			out[j] = uint32(q)
			big |= q
			sum += q
		}
	case r.k == 0: // den > One, the usual case: one multiplication less
		for j, v := range vals {
			q := r.frac(v)
			out[j] = uint32(q)
			big |= q
			sum += q
		}
	default:
		for j, v := range vals {
			q := r.of(v) // ≤ One
			out[j] = uint32(q)
			big |= q
			sum += q
		}
	}
	return sum, big>>32 == 0
}

// packCSR writes the non-zero normalized weights of vals (by column) to
// out in CSR form (weight<<16 | column) and returns their number (at most
// len(out): the caller knows how many there are).
func packCSR[T uint32 | uint64](vals []T, out []uint64) int {
	k := 0
	for j, v := range vals {
		q := uint64(v)
		if q != 0 && k < len(out) {
			out[k] = q<<16 | uint64(j)
			k++
		}
	}
	return k
}

// output assembles the Output, including the emission split (step 8) and the
// next permits (step 9).
func (e *epoch) output() Output {
	in := e.in
	out := Output{
		ActiveStake:    e.activeStake,
		Consensus:      e.consensus,
		Incentive:      e.incentive,
		Dividends:      e.dividends,
		ValidatorTrust: e.trust,
		Bonds:          e.bonds,
		NextPermit:     TopStakePermits(in.Stake, in.Params.MaxValidators),
	}
	// Bonds are kept only for UIDs that keep (or gain) a permit; the others'
	// are cleared, as subtensor's epoch does ("set bonds only if uid retains
	// validator permit, otherwise clear bonds"): a validator that loses its
	// permit must not return with bonds it earned before.
	for i, keep := range out.NextPermit {
		if !keep && i < len(out.Bonds) {
			out.Bonds[i] = nil
		}
	}
	var incSum uint64
	for _, v := range e.incentive {
		incSum += uint64(v)
	}
	miner := e.incentive
	validator := e.dividends
	if incSum == 0 {
		// No usable weights: miners get nothing, validators are paid by
		// active stake, or by raw stake if no active stake exists.
		out.StakeFallback = true
		miner = make([]Fixed, e.n)
		validator = e.activeStake
		if e.stakeSum == 0 {
			validator = make([]Fixed, e.n)
			normalizeFloor(in.Stake, validator)
		}
	}
	out.MinerEmission, out.ValidatorEmission, out.Unallocated = splitEmission(in.Emission, miner, validator)
	return out
}

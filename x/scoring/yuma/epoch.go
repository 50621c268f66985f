package yuma

import "slices"

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
	Bonds [][]Entry
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
	// col/w[rowStart[i]:rowStart[i+1]] with strictly increasing columns. The
	// clipped weight is min(w, consensus[col]).
	rowStart []int
	col      []uint16
	w        []Fixed

	consensus []Fixed
	trust     []Fixed
	rank      []Fixed
	incentive []Fixed
	bonds     [][]Entry
	dividends []Fixed
}

// Run executes one epoch of Yuma Consensus on in. It validates the input and
// returns an error for malformed input; it never panics, uses no floating
// point, maps, goroutines, randomness or clock, and its result is a pure
// function of in.
func Run(in Input) (Output, error) {
	if err := in.Validate(); err != nil {
		return Output{}, err
	}
	return run(&in).output(), nil
}

// run executes steps 1–7 on validated input.
func run(in *Input) *epoch {
	e := &epoch{in: in, n: len(in.Stake)}
	e.computeActiveStake()
	e.buildWeights()
	e.computeConsensus()
	e.clipAndRank()
	e.computeBonds()
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
func (e *epoch) buildWeights() {
	in := e.in
	n := e.n
	total := 0
	for i := 0; i < n; i++ {
		if e.rowUsable(i) {
			total += len(in.Weights[i])
		}
	}
	e.rowStart = make([]int, n+1)
	e.col = make([]uint16, 0, total)
	e.w = make([]Fixed, 0, total)
	for i := 0; i < n; i++ {
		start := len(e.col)
		e.rowStart[i] = start
		if !e.rowUsable(i) {
			continue
		}
		lu := in.LastUpdate[i]
		for _, en := range in.Weights[i] {
			j := int(en.UID)
			if j == i || en.Value == 0 || in.RegisteredAt[j] >= lu {
				continue
			}
			e.col = append(e.col, en.UID)
			e.w = append(e.w, en.Value)
		}
		seg := e.w[start:]
		normalizeFloor(seg, seg)
		// Drop entries that rounded to zero (rare: only in rows whose sum
		// exceeds 2^32 times the entry).
		if slices.Contains(seg, 0) {
			k := start
			for t := start; t < len(e.w); t++ {
				if e.w[t] != 0 {
					e.col[k], e.w[k] = e.col[t], e.w[t]
					k++
				}
			}
			e.col = e.col[:k]
			e.w = e.w[:k]
		}
	}
	e.rowStart[n] = len(e.col)
}

// clipAndRank computes, with Wc_ij = min(W_ij, C_j) (step 4–5):
// VT_i = Σ_j Wc_ij; R_j = Σ_i A_i·Wc_ij (each product rounded down);
// I = normalize(R).
func (e *epoch) clipAndRank() {
	e.trust = make([]Fixed, e.n)
	e.rank = make([]Fixed, e.n)
	for i := 0; i < e.n; i++ {
		a := e.activeStake[i]
		var t Fixed
		for k := e.rowStart[i]; k < e.rowStart[i+1]; k++ {
			j := e.col[k]
			c := e.w[k].Min(e.consensus[j])
			t = t.Add(c)
			if a != 0 {
				e.rank[j] = e.rank[j].Add(a.Mul(c))
			}
		}
		e.trust[i] = t
	}
	e.incentive = make([]Fixed, e.n)
	normalizeFloor(e.rank, e.incentive)
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

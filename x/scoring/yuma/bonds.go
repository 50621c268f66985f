package yuma

import "math/bits"

// clipRankAndBond finishes steps 4–5 and runs step 6 in one pass over the
// weight rows (computeConsensus has already clipped the rows with active
// stake, column by column, while each column was in cache). With
// Wc_ij = min(W_ij, C_j):
//
//	VT_i = Σ_j Wc_ij,  R_j = Σ_i A_i·Wc_ij (each product rounded down),
//	I = normalize(R)
//
// and the new bonds
//
//	Wb = W − penalty·(W − Wc)          (W row-normalized, Wc clipped)
//	B  = a·Wb + (1 − a)·B_old,  capped at 1
//
// with a = 1 − bonds_moving_average, or per bond the liquid alpha rate. Old
// bonds held by or given to a UID registered since the last epoch
// (RegisteredAt ≥ LastEpochBlock) count as 0. Each product is rounded down,
// so unrefreshed bonds decay to exactly 0. Rows are merged by UID in
// increasing order; zero bonds are dropped. It also sums each bond column for
// the dividends.
//
// The sums cannot overflow, so plain additions equal the saturating ones:
// VT_i ≤ Σ_j W_ij ≤ 1, R_j ≤ Σ_i A_i ≤ 1, and a bond column holds at most
// 2^16 bonds of at most 1 each.
//
// The old bond rows are checked as Validate does (a row the aligned path
// cannot vouch for goes through checkBondRow first); if one is malformed,
// e.malformed is set and the pass stops.
func (e *epoch) clipRankAndBond() {
	in := e.in
	n := e.n
	p := &in.Params
	e.bondSum = make([]Fixed, n)
	e.bonds = make([][]Bond, n)
	keepOld := make([]Fixed, n) // 0 for UIDs registered since the last epoch
	anyNew := false
	for u := 0; u < n; u++ {
		if in.RegisteredAt[u] < in.LastEpochBlock {
			keepOld[u] = Max
		} else {
			anyNew = true
		}
	}
	aligned := !anyNew && !p.LiquidAlpha && p.BondsPenalty == One
	alignedLiquid := !anyNew && p.LiquidAlpha
	oldRow := func(i int) []Bond {
		if in.Bonds == nil || keepOld[i] == 0 {
			return nil
		}
		return in.Bonds[i]
	}
	longest := 0
	var expanded []uint64 // a dense row in CSR form, for the general loops
	for i := 0; i < n; i++ {
		w := e.rowStart[i+1] - e.rowStart[i]
		if e.dense[i] != nil {
			w = n
			if expanded == nil {
				expanded = make([]uint64, n)
			}
		}
		longest = max(longest, w+len(oldRow(i)))
	}
	// A merged row is built here, then copied into a slice of its exact
	// length (append does not clear memory it overwrites).
	scratch := make([]Bond, longest)
	cons := e.consensus
	rank := e.rank
	bondSum := e.bondSum
	var rates *liquidRates // liquid alpha only
	if p.LiquidAlpha {
		rates = newLiquidRates(p)
	}
	for i := 0; i < n; i++ {
		ents := e.ent[e.rowStart[i]:e.rowStart[i+1]]
		d := e.dense[i]
		if !e.clipped || e.activeStake[i] == 0 {
			// Not clipped with the consensus columns.
			if d != nil {
				e.trust[i] = clipRowDense(d, cons, e.activeStake[i], rank)
			} else {
				e.trust[i] = clipRow(ents, cons, e.activeStake[i], rank)
			}
		}
		old := oldRow(i)
		if in.Bonds != nil && old == nil && checkBondRow(in.Bonds[i], n) != nil {
			e.malformed = true // a row not read below is checked anyway
			return
		}
		k := -1
		if d != nil {
			if aligned && p.BondsMovingAverage != 0 && p.BondsMovingAverage < One {
				if sum, ok := bondRowDense(d, old, cons, One-p.BondsMovingAverage, p.BondsMovingAverage, scratch); ok && sum == e.denseSum[i] {
					k = len(old)
				}
			}
			if alignedLiquid {
				var sum uint64
				var ok bool
				if p.BondsPenalty == One && rates.zero != 0 && rates.zero < One {
					sum, ok = bondRowDenseLiquid1(d, old, cons, rates, scratch)
				} else {
					sum, ok = bondRowDenseLiquid(d, old, cons, p.BondsPenalty, rates, scratch)
				}
				if ok && sum == e.denseSum[i] {
					k = len(old)
				}
			}
			if k < 0 {
				ents = expandDense(d, expanded)
			}
		}
		if len(ents) == 0 && len(old) == 0 {
			continue
		}
		if k < 0 && aligned && len(ents) == len(old) {
			// UIDs equal to the (checked) weight row's, values ≤ 1.
			k = bondRowAligned(ents, old, cons, One-p.BondsMovingAverage, p.BondsMovingAverage, scratch)
		}
		if k < 0 && alignedLiquid && len(ents) == len(old) {
			k = bondRowAlignedLiquid(ents, old, cons, p.BondsPenalty, rates, scratch)
		}
		if k < 0 {
			if checkBondRow(old, n) != nil {
				e.malformed = true
				return
			}
			if p.LiquidAlpha {
				k = e.bondRowLiquid(ents, old, keepOld, rates, scratch)
			} else {
				k = e.bondRow(ents, old, keepOld, scratch)
			}
		}
		if k == 0 {
			continue
		}
		row := append([]Bond(nil), scratch[:k]...)
		if addBonds(row, bondSum) { // only from bondRowDense, rarely
			if k = dropZeros(row); k == 0 {
				continue
			}
		}
		e.bonds[i] = row[:k:k]
	}
	e.incentive = make([]Fixed, n)
	normalizeFloor(e.rank, e.incentive)
}

// bondRow writes row i's new bonds (fixed rate) into out and returns their
// number. old must be a checked row (checkBondRow). keepOld[u] is all ones, or 0 for a UID registered since the last
// epoch (its old bonds count as 0).
//
// The merge of the weight row with the old bond row is branch-free: each
// step takes the smaller UID from either side or both. All values are in
// [0, 1], so the products use mulUnit and nothing saturates:
// Wb = W − penalty·(W − min(W, C)) is exactly W.Sub(penalty.Mul(W.Sub(C))).
func (e *epoch) bondRow(ents []uint64, old []Bond, keepOld []Fixed, out []Bond) int {
	p := &e.in.Params
	cons := e.consensus
	rate := One - p.BondsMovingAverage // validated ≤ One
	keep := p.BondsMovingAverage
	penalty := p.BondsPenalty
	k, a, b := 0, 0, 0
	for a < len(ents) && b < len(old) {
		x, o := ents[a], old[b]
		wu, ou := entCol(x), o.UID()
		uid := min(wu, ou)
		fromW, fromO := b2u(wu == uid), b2u(ou == uid)
		a += int(fromW)
		b += int(fromO)
		wv := entWeight(x) & -Fixed(fromW)
		ov := o.Value() & -Fixed(fromO) & keepOld[uid]
		c := cons[uid]
		wb := wv - mulUnit(penalty, wv-min(wv, c))
		nb := min(mulUnit(rate, wb)+mulUnit(keep, ov), One)
		out[k] = bond(uid, nb)
		k += int(b2u(nb != 0))
	}
	for _, x := range ents[a:] { // no old bonds left
		uid := entCol(x)
		wv := entWeight(x)
		wb := wv - mulUnit(penalty, wv-min(wv, cons[uid]))
		nb := mulUnit(rate, wb)
		out[k] = bond(uid, nb)
		k += int(b2u(nb != 0))
	}
	for _, o := range old[b:] { // no weights left: the bond decays
		nb := mulUnit(keep, o.Value()&keepOld[o.UID()])
		out[k] = bond(o.UID(), nb)
		k += int(b2u(nb != 0))
	}
	return k
}

// clipRow returns Σ_j min(W_ij, C_j) over the row and adds
// a·min(W_ij, C_j) to rank[j] for each entry.
//
//go:noinline
func clipRow(ents []uint64, cons []Fixed, a Fixed, rank []Fixed) Fixed {
	var t Fixed
	for _, x := range ents {
		j := entCol(x)
		c := min(entWeight(x), cons[j])
		t += c
		rank[j] += mulUnit(a, c)
	}
	return t
}

// bondRowAligned is bondRow for the steady state of a dense subnet: the
// weight row and the old bond row name the same UIDs, no UID is new and the
// penalty is 1 (Wb = min(W, C)). Fewer live values let the loop run from
// registers: bonds are written in place and zero bonds (rare here) are
// dropped afterwards. It returns −1 as soon as the UIDs differ or a bond is
// above 1 (out is then partly written, and the caller checks and redoes the
// row).
//
//go:noinline
func bondRowAligned(ents []uint64, old []Bond, cons []Fixed, rate, keep Fixed, out []Bond) int {
	old = old[:len(ents)]
	out = out[:len(ents)]
	var zeros uint64
	for t, x := range ents {
		o := old[t]
		uid := entCol(x)
		if o.UID() != uid || o.Value() > One {
			return -1
		}
		wb := min(entWeight(x), cons[uid])
		nb := min(mulUnit(rate, wb)+mulUnit(keep, o.Value()), One)
		out[t] = bond(uid, nb)
		zeros |= b2u(nb == 0)
	}
	if zeros != 0 {
		return dropZeros(out)
	}
	return len(out)
}

// bondRowDense is bondRowAligned for a dense weight row d: the old bond
// row is walked and each bond's weight read by its UID, no column
// unpacking and no merge. It writes the new bonds into out (zero bonds
// included; the caller drops them) and returns the sum of the weights of
// the old bonds' columns. The row is aligned when that is the whole row's
// sum: then every non-zero weight has an old bond (the old UIDs are
// distinct and weights are not negative), and the other bonds' weights are
// 0, which is the same as no weight; the caller checks. It needs
// 0 < rate, keep < 1 (then mulUnit is a plain product, and rate + keep = 1
// keeps every new bond at most 1, so the cap is not needed). ok is false if
// the old row is not strictly increasing, names a UID beyond the row or
// holds a bond above 1 (out is then partly written, and the caller redoes
// the row).
//
// Few live values keep the loop in registers (about 36 instructions a bond
// against bondRowAligned's 51; the branch is taken only for rows that fail
// the checks).
//
//go:noinline
func bondRowDense(d []uint32, old []Bond, cons []Fixed, rate, keep Fixed, out []Bond) (sum uint64, ok bool) {
	out = out[:len(old)]
	cons = cons[:len(d)]
	prev := -1
	for t, o := range old {
		u := int(o.UID())
		ov := o.Value()
		if u <= prev || u >= len(d) || ov > One {
			return 0, false
		}
		prev = u
		w := Fixed(d[u])
		sum += uint64(w)
		out[t] = bond(uint16(u), (rate*min(w, cons[u]))>>FracBits+(keep*ov)>>FracBits)
	}
	return sum, true
}

// bondRowDenseLiquid is bondRowDense with the liquid alpha rate per bond
// (bondRowAlignedLiquid's arithmetic), for any penalty and rate.
//
//go:noinline
func bondRowDenseLiquid(d []uint32, old []Bond, cons []Fixed, penalty Fixed, rates *liquidRates, out []Bond) (sum uint64, ok bool) {
	out = out[:len(old)]
	cons = cons[:len(d)]
	zero := rates.zero
	prev := -1
	for t, o := range old {
		u := int(o.UID())
		ov := o.Value()
		if u <= prev || u >= len(d) || ov > One {
			return 0, false
		}
		prev = u
		w, c := Fixed(d[u]), cons[u]
		sum += uint64(w)
		wb := w - mulUnit(penalty, w-min(w, c))
		al := zero
		if diff := liquidDiff(wb, ov, c); diff != 0 {
			al = rates.rate(diff)
		}
		out[t] = bond(uint16(u), min(mulUnit(al, wb)+mulUnit(One-al, ov), One))
	}
	return sum, true
}

// bondRowDenseLiquid1 is bondRowDenseLiquid for penalty 1, with the rate
// at diff 0 strictly between 0 and 1. Then Wb = min(W, C) ≤ C, so the diff
// is 0 wherever the new weight is at least the old bond, and the bond
// there is the plain EMA at that rate (as in bondRowDense); elsewhere the
// diff is old − Wb and the rate comes from rates.
//
//go:noinline
func bondRowDenseLiquid1(d []uint32, old []Bond, cons []Fixed, rates *liquidRates, out []Bond) (sum uint64, ok bool) {
	out = out[:len(old)]
	cons = cons[:len(d)]
	rate := rates.zero
	keep := One - rate
	prev := -1
	for t, o := range old {
		u := int(o.UID())
		ov := o.Value()
		if u <= prev || u >= len(d) || ov > One {
			return 0, false
		}
		prev = u
		w := Fixed(d[u])
		sum += uint64(w)
		wb := min(w, cons[u])
		if wb >= ov {
			out[t] = bond(uint16(u), (rate*wb)>>FracBits+(keep*ov)>>FracBits)
			continue
		}
		al := rates.rate(ov - wb) // ≤ One
		out[t] = bond(uint16(u), min(mulUnit(al, wb)+mulUnit(One-al, ov), One))
	}
	return sum, true
}

// addBonds adds each bond of row to its column's sum and reports whether
// any bond is zero.
//
//go:noinline
func addBonds(row []Bond, bondSum []Fixed) (zeros bool) {
	var z uint64
	for _, b := range row {
		bondSum[b.UID()] += b.Value()
		z |= b2u(b < 1<<16)
	}
	return z != 0
}

// clipRowDense is clipRow for a dense row.
//
//go:noinline
func clipRowDense(d []uint32, cons []Fixed, a Fixed, rank []Fixed) Fixed {
	var t Fixed
	cons = cons[:len(d)]
	rank = rank[:len(d)]
	for j, w := range d {
		c := min(Fixed(w), cons[j])
		t += c
		rank[j] += mulUnit(a, c)
	}
	return t
}

// dropZeros moves the entries of row with a non-zero value to its front, in
// order, and returns their number.
func dropZeros(row []Bond) int {
	k := 0
	for _, b := range row {
		row[k] = b
		k += int(b2u(b.Value() != 0))
	}
	return k
}

// bondRowAlignedLiquid is bondRowAligned with the liquid alpha rate per bond
// (bondRowLiquid's arithmetic), for any penalty. Where the clipped weight is
// at least the old bond and the penalty is 1, the diff is 0 and the rate is
// known without a call.
//
//go:noinline
func bondRowAlignedLiquid(ents []uint64, old []Bond, cons []Fixed, penalty Fixed, rates *liquidRates, out []Bond) int {
	old = old[:len(ents)]
	out = out[:len(ents)]
	zero := rates.zero
	var zeros uint64
	for t, x := range ents {
		o := old[t]
		uid := entCol(x)
		ov := o.Value()
		if o.UID() != uid || ov > One {
			return -1
		}
		w, c := entWeight(x), cons[uid]
		wb := w - mulUnit(penalty, w-min(w, c))
		al := zero
		if diff := liquidDiff(wb, ov, c); diff != 0 {
			al = rates.rate(diff)
		}
		nb := min(mulUnit(al, wb)+mulUnit(One-al, ov), One)
		out[t] = bond(uid, nb)
		zeros |= b2u(nb == 0)
	}
	if zeros != 0 {
		return dropZeros(out)
	}
	return len(out)
}

// bondRowLiquid is bondRow with the liquid alpha rate per bond.
func (e *epoch) bondRowLiquid(ents []uint64, old []Bond, keepOld []Fixed, rates *liquidRates, out []Bond) int {
	p := &e.in.Params
	cons := e.consensus
	penalty := p.BondsPenalty
	k, a, b := 0, 0, 0
	for a < len(ents) || b < len(old) {
		wu, ou := uint32(endUID), uint32(endUID)
		if a < len(ents) {
			wu = uint32(entCol(ents[a]))
		}
		if b < len(old) {
			ou = uint32(old[b].UID())
		}
		var wv, ov Fixed
		uid := min(wu, ou)
		if wu == uid {
			wv = entWeight(ents[a])
			a++
		}
		if ou == uid {
			ov = old[b].Value() & keepOld[uid]
			b++
		}
		c := cons[uid]
		wb := wv - mulUnit(penalty, wv-min(wv, c))
		al := rates.rate(liquidDiff(wb, ov, c)) // in [alpha_low, alpha_high] ⊂ [0, 1]
		nb := min(mulUnit(al, wb)+mulUnit(One-al, ov), One)
		out[k] = bond(uint16(uid), nb)
		k += int(b2u(nb != 0))
	}
	return k
}

// endUID is past every UID: the liquid-alpha merge uses it for an exhausted
// side.
const endUID = 1 << 16

// computeDividends computes D_i ∝ A_i · Σ_j (B_ij / Σ_k B_kj) · I_j (step 7),
// each term floor(B_ij · I_j / colsum_j) exactly (by the columns'
// reciprocals, or in 128 bits), the row sum multiplied by A_i (rounded
// down), then normalized (rounded down). The row sums cannot overflow
// (Σ_j term_ij ≤ Σ_j I_j ≤ 1).
func (e *epoch) computeDividends() {
	n := e.n
	d := make([]Fixed, n)
	if g, t, ok := reciprocals(e.incentive, e.bondSum); ok {
		for i, row := range e.bonds {
			if e.activeStake[i] != 0 {
				d[i] = e.activeStake[i].Mul(dividendRowRecip(row, g, t))
			}
		}
		normalizeFloor(d, d)
		e.dividends = d
		return
	}
	// Per column, term_ij = floor(B_ij · I_j / colsum_j) (B_ij ≤ colsum_j);
	// a column without incentive contributes 0 (m = 0 gives 0 for any B).
	col := make([]ratio, n)
	for j := 0; j < n; j++ {
		if e.bondSum[j] != 0 && e.incentive[j] != 0 {
			col[j] = newRatio(uint64(e.incentive[j]), uint64(e.bondSum[j]))
		} else {
			col[j] = zeroRatio
		}
	}
	for i, row := range e.bonds {
		if e.activeStake[i] != 0 {
			d[i] = e.activeStake[i].Mul(dividendRow(row, col))
		}
	}
	normalizeFloor(d, d)
	e.dividends = d
}

// dividendRow returns Σ floor(B_ij · I_j / colsum_j) over one bond row, col
// holding each column's ratio. Not inlined, so that its loop keeps its
// values in registers.
//
//go:noinline
func dividendRow(row []Bond, col []ratio) Fixed {
	var acc Fixed
	for _, b := range row {
		acc += Fixed(col[b.UID()].of(uint64(b.Value()))) // Σ_k B_kj ≤ 2^48: never wide
	}
	return acc
}

// reciprocals returns each column's dividend ratio I_j / colsum_j as a
// fixed-point reciprocal g_j with one shift t for all columns:
// floor(B·I_j/colsum_j) = floor(B·g_j / 2^(64+t)) for every bond B ≤ 1
// (2^32). With g_j = ⌈I_j·2^(64+t)/colsum_j⌉ = I_j·2^(64+t)/colsum_j + δ
// (0 ≤ δ < 1) and B·I_j/colsum_j = Q + r/colsum_j (0 ≤ r < colsum_j),
// B·g_j/2^(64+t) < Q + (colsum_j − 1)/colsum_j + B/2^(64+t), which stays
// below Q + 1 when 2^(64+t) ≥ 2^32·colsum_j: so t = ⌈log2 colsum_j⌉ − 32 for
// the largest bond sum, at least 0 (0 unless a column's bonds sum above 1).
// One multiplication per bond instead of ratio.of's three and a correction.
//
// g_j is 0 for a column without incentive or bonds. ok is false if some
// g_j does not fit 64 bits (I_j·2^t ≥ colsum_j: a column's incentive about
// its bond sum or more); the caller then uses ratio.of.
func reciprocals(incentive, bondSum []Fixed) (g []uint64, t uint, ok bool) {
	var most uint64
	for _, s := range bondSum {
		most = max(most, uint64(s))
	}
	if most > 0 {
		t = uint(max(bits.Len64(most-1)-32, 0)) // ≤ 16: a bond sum is below 2^48
	}
	g = make([]uint64, len(incentive))
	for j, m := range incentive {
		s := uint64(bondSum[j])
		if m == 0 || s == 0 {
			continue
		}
		if uint64(m) >= s>>t { // m·2^t ≥ colsum (or would overflow)
			return nil, 0, false
		}
		q, r := bits.Div64(uint64(m)<<t, 0, s) // m·2^t < s: the quotient fits
		g[j] = q + b2u(r != 0)                 // < 2^64: q ≤ 2^64 − 2^64/s
	}
	return g, t, true
}

// dividendRowRecip is dividendRow with the columns' reciprocals and shift.
//
//go:noinline
func dividendRowRecip(row []Bond, g []uint64, t uint) Fixed {
	var acc uint64
	if t == 0 {
		for _, b := range row {
			hi, _ := bits.Mul64(uint64(b.Value()), g[b.UID()])
			acc += hi
		}
		return Fixed(acc)
	}
	for _, b := range row {
		hi, _ := bits.Mul64(uint64(b.Value()), g[b.UID()])
		acc += hi >> (t & 63)
	}
	return Fixed(acc)
}

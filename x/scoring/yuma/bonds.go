package yuma

// computeBonds computes the new bonds (step 6):
//
//	Wb = W − penalty·(W − Wc)          (W row-normalized, Wc clipped)
//	B  = a·Wb + (1 − a)·B_old,  capped at 1
//
// with a = 1 − bonds_moving_average, or per bond the liquid alpha rate. Old
// bonds held by or given to a UID registered since the last epoch
// (RegisteredAt ≥ LastEpochBlock) count as 0. Each product is rounded down,
// so unrefreshed bonds decay to exactly 0. Rows are merged by UID in
// increasing order; zero bonds are dropped.
func (e *epoch) computeBonds() {
	in := e.in
	n := e.n
	p := &in.Params
	isNew := make([]bool, n)
	for u := 0; u < n; u++ {
		isNew[u] = in.RegisteredAt[u] >= in.LastEpochBlock
	}
	oldRow := func(i int) []Entry {
		if in.Bonds == nil || isNew[i] {
			return nil
		}
		return in.Bonds[i]
	}
	// Size the backing array by the union of the sparsity patterns.
	capacity := 0
	for i := 0; i < n; i++ {
		cols := e.col[e.rowStart[i]:e.rowStart[i+1]]
		old := oldRow(i)
		a, b := 0, 0
		for a < len(cols) && b < len(old) {
			switch {
			case cols[a] < old[b].UID:
				a++
			case cols[a] > old[b].UID:
				b++
			default:
				a++
				b++
			}
			capacity++
		}
		capacity += len(cols) - a + len(old) - b
	}
	flat := make([]Entry, capacity)
	pos := 0
	bonds := make([][]Entry, n)
	rate := One - p.BondsMovingAverage // validated ≤ One
	keep := p.BondsMovingAverage
	slope := p.AlphaSigmoidSteepness.Div(FromUint(100))
	penalty := p.BondsPenalty
	for i := 0; i < n; i++ {
		start := pos
		cols := e.col[e.rowStart[i]:e.rowStart[i+1]]
		ws := e.w[e.rowStart[i]:e.rowStart[i+1]]
		old := oldRow(i)
		a, b := 0, 0
		for a < len(cols) || b < len(old) {
			// Next UID of the merged row: weight wv (0 if none), old bond ov.
			var uid uint16
			var wv, ov Fixed
			switch {
			case b == len(old):
				uid, wv = cols[a], ws[a]
				a++
			case a == len(cols):
				uid, ov = old[b].UID, old[b].Value
				b++
			case cols[a] == old[b].UID:
				uid, wv, ov = cols[a], ws[a], old[b].Value
				a++
				b++
			case cols[a] < old[b].UID:
				uid, wv = cols[a], ws[a]
				a++
			default:
				uid, ov = old[b].UID, old[b].Value
				b++
			}
			if isNew[uid] {
				ov = 0
			}
			c := e.consensus[uid]
			wb := wv.Sub(penalty.Mul(wv.Sub(c))) // W − penalty·(W − min(W, C))
			var nb Fixed
			if p.LiquidAlpha {
				al := liquidAlpha(p, slope, wb, ov, c)
				nb = al.Mul(wb).Add((One - al).Mul(ov))
			} else {
				nb = rate.Mul(wb).Add(keep.Mul(ov))
			}
			if nb > One {
				nb = One
			}
			if nb != 0 && pos < len(flat) {
				flat[pos] = Entry{UID: uid, Value: nb}
				pos++
			}
		}
		if pos > start {
			bonds[i] = flat[start:pos:pos]
		}
	}
	e.bonds = bonds
}

// computeDividends computes D_i ∝ A_i · Σ_j (B_ij / Σ_k B_kj) · I_j (step 7),
// each term floor(B_ij · I_j / colsum_j) exactly in 128 bits, the row sum
// multiplied by A_i (rounded down), then normalized (rounded down).
func (e *epoch) computeDividends() {
	n := e.n
	colSum := make([]Fixed, n)
	for _, row := range e.bonds {
		for _, en := range row {
			colSum[en.UID] = colSum[en.UID].Add(en.Value)
		}
	}
	// Per column, term_ij = floor(B_ij · I_j / colsum_j) (B_ij ≤ colsum_j).
	col := make([]ratio, n)
	for j := 0; j < n; j++ {
		if colSum[j] != 0 && e.incentive[j] != 0 {
			col[j] = newRatio(uint64(e.incentive[j]), uint64(colSum[j]))
		}
	}
	d := make([]Fixed, n)
	for i, row := range e.bonds {
		if e.activeStake[i] == 0 {
			continue
		}
		var acc Fixed
		for _, en := range row {
			r := &col[en.UID]
			if r.d == 0 {
				continue
			}
			acc = acc.Add(Fixed(r.of(uint64(en.Value))))
		}
		d[i] = e.activeStake[i].Mul(acc)
	}
	normalizeFloor(d, d)
	e.dividends = d
}

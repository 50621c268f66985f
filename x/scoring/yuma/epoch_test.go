package yuma

import (
	"reflect"
	"strings"
	"testing"
)

// newInput returns an Input with default params, permits by stake, everyone
// active, registered at block 0, weights dating from block 10, previous epoch
// at block 5, emission 10^6 and empty weight rows.
func newInput(stake ...uint64) Input {
	n := len(stake)
	in := Input{
		Params:         DefaultParams(),
		Stake:          stake,
		Permit:         TopStakePermits(stake, 64),
		Active:         make([]bool, n),
		Weights:        make([][]Entry, n),
		RegisteredAt:   make([]uint64, n),
		LastUpdate:     make([]uint64, n),
		LastEpochBlock: 5,
		Emission:       1_000_000,
	}
	for i := range stake {
		in.Active[i] = true
		in.LastUpdate[i] = 10
	}
	return in
}

// row builds a sparse row from (uid, weight) pairs with integer weights.
func row(pairs ...uint64) []Entry {
	var r []Entry
	for k := 0; k+1 < len(pairs); k += 2 {
		r = append(r, Entry{UID: uint16(pairs[k]), Value: FromUint(pairs[k+1])})
	}
	return r
}

func mustRun(t *testing.T, in Input) Output {
	t.Helper()
	out, err := Run(in)
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, &in, &out)
	return out
}

func near(got, want Fixed, ulps uint64) bool {
	if got > want {
		return uint64(got-want) <= ulps
	}
	return uint64(want-got) <= ulps
}

func bondOf(b [][]Bond, i int, j uint16) Fixed {
	for _, e := range b[i] {
		if e.UID() == j {
			return e.Value()
		}
	}
	return 0
}

// Two validators (stake 3:1), three miners; every number checked by hand.
//
//	V0 weights miners 2, 3 equally; V1 weights miners 2, 4 equally.
//	A = (0.75, 0.25). Consensus (kappa 0.5): C2 = 0.5 (both), C3 = 0.5 (V0
//	alone holds 0.75 ≥ 0.5), C4 = 0 (V1 alone holds 0.25 < 0.5).
//	Clipped: V0 (0.5, 0.5), V1 (0.5, 0) → VT = (1, 0.5).
//	R = (m2 0.75·0.5+0.25·0.5 = 0.5, m3 0.375, m4 0) → I = (4/7, 3/7, 0).
//	Bonds (no old bonds, a = 0.1): V0 (m2 0.05, m3 0.05), V1 (m2 0.05).
//	Column-normalized: V0 (0.5, 1), V1 (0.5).
//	D ∝ (0.75·(0.5·4/7 + 3/7), 0.25·0.5·4/7) = (15/28, 2/28) → (15/17, 2/17).
//	Emission 10^6, half each: miners 285714.3, 214285.7; validators
//	441176.5, 58823.5 → floors 999998, the 2 units to the largest remainders
//	(m3 .7, V1 .53): 285714, 214286, 441176, 58824.
func TestHandComputed(t *testing.T) {
	in := newInput(3000, 1000, 0, 0, 0)
	in.Weights[0] = row(2, 1, 3, 1)
	in.Weights[1] = row(2, 1, 4, 1)
	out := mustRun(t, in)

	wantFixed := func(name string, got []Fixed, want []Fixed, ulps uint64) {
		t.Helper()
		for i := range want {
			if !near(got[i], want[i], ulps) {
				t.Errorf("%s[%d] = %s, want %s", name, i, got[i], want[i])
			}
		}
	}
	wantFixed("active_stake", out.ActiveStake, []Fixed{FromRatio(3, 4), FromRatio(1, 4), 0, 0, 0}, 0)
	wantFixed("consensus", out.Consensus, []Fixed{0, 0, Half, Half, 0}, 0)
	wantFixed("validator_trust", out.ValidatorTrust, []Fixed{One, Half, 0, 0, 0}, 0)
	wantFixed("incentive", out.Incentive, []Fixed{0, 0, FromRatio(4, 7), FromRatio(3, 7), 0}, 2)
	wantFixed("dividends", out.Dividends, []Fixed{FromRatio(15, 17), FromRatio(2, 17), 0, 0, 0}, 4)
	a := One - FromRatio(9, 10)
	b := a.Mul(Half)
	wantBonds := [][]Bond{{NewBond(2, b), NewBond(3, b)}, {NewBond(2, b)}, nil, nil, nil}
	if !reflect.DeepEqual(out.Bonds, wantBonds) {
		t.Errorf("bonds %v, want %v", out.Bonds, wantBonds)
	}
	if !reflect.DeepEqual(out.MinerEmission, []uint64{0, 0, 285714, 214286, 0}) ||
		!reflect.DeepEqual(out.ValidatorEmission, []uint64{441176, 58824, 0, 0, 0}) {
		t.Errorf("emission %v %v", out.MinerEmission, out.ValidatorEmission)
	}
	if out.StakeFallback || out.Unallocated != 0 {
		t.Error("unexpected fallback")
	}
	if got := FractionsToU16(out.Incentive); got[2] != 37448 || got[3] != 28086 {
		t.Errorf("u16 incentive %v", got) // floor(65535·4/7), floor(65535·3/7)
	}
}

// A minority validator's outlier weight is clipped to the consensus.
func TestOutlierClipped(t *testing.T) {
	in := newInput(40, 35, 25, 0, 0, 0)
	in.Weights[0] = row(3, 1, 4, 1)
	in.Weights[1] = row(3, 1, 4, 1)
	in.Weights[2] = row(3, 1, 5, 9) // 90% to miner 5, whom nobody else rates
	out := mustRun(t, in)
	if out.Consensus[5] != 0 || out.Incentive[5] != 0 || out.MinerEmission[5] != 0 {
		t.Fatalf("outlier miner 5 paid: C=%s I=%s", out.Consensus[5], out.Incentive[5])
	}
	if out.ValidatorTrust[2] != FromRatio(1, 10) {
		t.Fatalf("outlier trust %s, want 0.1 (only its 0.1 on miner 3 survives)", out.ValidatorTrust[2])
	}
	if out.ValidatorTrust[0] != One || out.ValidatorTrust[1] != One {
		t.Fatal("honest validators clipped")
	}
	if out.Dividends[2] >= out.Dividends[1] {
		t.Fatalf("outlier dividends %s not below honest %s", out.Dividends[2], out.Dividends[1])
	}
}

// A validator below half the active stake cannot lift a miner above the
// majority's consensus, however much weight it gives; at exactly half it can.
func TestMinorityCannotLift(t *testing.T) {
	for minority := uint64(1); minority <= 50; minority++ {
		in := newInput(100-minority, minority, 0, 0)
		in.Weights[0] = row(2, 1, 3, 4) // majority: miner 2 gets 0.2
		in.Weights[1] = row(2, 1)       // minority: miner 2 gets 1.0
		out := mustRun(t, in)
		want := FromRatio(1, 5)
		if minority == 50 {
			want = One // exactly half the stake suffices (kappa 0.5)
		}
		if out.Consensus[2] != want {
			t.Fatalf("minority %d%%: C2 = %s, want %s", minority, out.Consensus[2], want)
		}
		if minority < 50 {
			// Incentive of miner 2 equals what the majority alone implies.
			if out.ValidatorTrust[1] != want {
				t.Fatalf("minority %d%%: trust %s", minority, out.ValidatorTrust[1])
			}
		}
	}
}

// A weight copier reveals the honest validator's weights one epoch late. As
// miner performance shifts every epoch, its stale weights are clipped and its
// bonds lag, so over several epochs it earns less than an honest validator of
// equal stake.
func TestWeightCopierEarnsLess(t *testing.T) {
	const miners = 5
	perf := func(epoch int) []Entry { // rotating performance profile
		scores := []uint64{16, 8, 4, 2, 1}
		r := make([]Entry, miners)
		for j := 0; j < miners; j++ {
			r[j] = Entry{UID: uint16(3 + j), Value: FromUint(scores[(j+epoch)%miners])}
		}
		return r
	}
	in := newInput(40, 30, 30, 0, 0, 0, 0, 0) // H1, H2 honest; K copies H1
	in.LastEpochBlock = 0
	in.RegisteredAt = make([]uint64, 8)
	var honest, copier uint64
	var divH, divK Fixed
	prev := perf(0)
	for ep := 0; ep < 12; ep++ {
		block := uint64(100 * (ep + 1))
		for i := range in.LastUpdate {
			in.LastUpdate[i] = block - 1
		}
		cur := perf(ep)
		in.Weights[0], in.Weights[1], in.Weights[2] = cur, cur, prev
		out := mustRun(t, in)
		if ep >= 2 { // after the bonds warm up
			honest += out.ValidatorEmission[1]
			copier += out.ValidatorEmission[2]
			divH = divH.Add(out.Dividends[1])
			divK = divK.Add(out.Dividends[2])
		}
		if ep > 0 && out.ValidatorTrust[2] >= out.ValidatorTrust[1] {
			t.Fatalf("epoch %d: copier trust %s not below honest %s", ep, out.ValidatorTrust[2], out.ValidatorTrust[1])
		}
		in.Bonds = out.Bonds
		in.LastEpochBlock = block
		prev = cur
	}
	if copier >= honest || divK >= divH {
		t.Fatalf("copier earned %d (Σdiv %s), honest %d (Σdiv %s)", copier, divK, honest, divH)
	}
	t.Logf("honest validator %d, copier %d base units over 10 epochs (%.1f%% less)",
		honest, copier, 100*(1-float64(copier)/float64(honest)))
}

// Weights set before a miner's (re)registration are masked; so are the old
// bonds of UIDs registered since the last epoch; and a validator's own row
// when its weights predate its registration.
func TestRegistrationMasks(t *testing.T) {
	in := newInput(50, 50, 0, 0, 0, 10)
	in.LastUpdate = []uint64{100, 200, 0, 0, 0, 250}
	in.RegisteredAt = []uint64{0, 0, 0, 150, 50, 300}
	in.LastEpochBlock = 120
	in.Weights[0] = row(3, 1, 4, 1) // set at 100, before miner 3 re-registered at 150
	in.Weights[1] = row(3, 1, 4, 1) // set at 200, after
	in.Weights[5] = row(3, 1)       // UID 5 re-registered at 300: its row is stale
	in.Permit[5] = true
	in.Bonds = make([][]Bond, 6)
	old := FromRatio(1, 2)
	in.Bonds[0] = []Bond{NewBond(3, old), NewBond(4, old)}
	in.Bonds[1] = []Bond{NewBond(3, old), NewBond(4, old)}
	in.Bonds[5] = []Bond{NewBond(4, old)}
	out := mustRun(t, in)

	e := run(&in)
	for _, x := range e.weightRow(0) {
		if entCol(x) == 3 {
			t.Fatal("V0's weight to re-registered miner 3 not masked")
		}
	}
	if len(e.weightRow(5)) != 0 {
		t.Fatal("stale row of re-registered UID 5 not dropped")
	}
	a := One - FromRatio(9, 10)
	keep := FromRatio(9, 10)
	// Miner 3: old bonds reset; V0 has no unmasked weight → no bond; V1's bond
	// is new weight only.
	if got := bondOf(out.Bonds, 0, 3); got != 0 {
		t.Fatalf("V0→3 bond %s, want 0", got)
	}
	if got, want := bondOf(out.Bonds, 1, 3), a.Mul(out.Consensus[3].Min(Half)); got != want {
		t.Fatalf("V1→3 bond %s, want %s (no old part)", got, want)
	}
	// Miner 4 registered long ago: old bonds decay and are kept.
	w04 := One.Min(out.Consensus[4]) // V0's whole weight is on miner 4 now
	if got, want := bondOf(out.Bonds, 0, 4), a.Mul(w04).Add(keep.Mul(old)); got != want {
		t.Fatalf("V0→4 bond %s, want %s", got, want)
	}
	if len(out.Bonds[5]) != 0 {
		t.Fatalf("bonds held by re-registered UID 5 not reset: %v", out.Bonds[5])
	}
	// Boundary: registration in the same block as the weights is masked.
	in2 := newInput(50, 0, 0)
	in2.Weights[0] = row(1, 1, 2, 1)
	in2.LastUpdate[0] = 100
	in2.RegisteredAt[1] = 100
	in2.RegisteredAt[2] = 99
	out2 := mustRun(t, in2)
	if out2.Consensus[1] != 0 || out2.Consensus[2] != One {
		t.Fatalf("same-block registration: C = %v", out2.Consensus)
	}
}

// Bonds of a validator that stops weighting decay by the moving average each
// epoch and reach exactly zero.
func TestBondsDecay(t *testing.T) {
	in := newInput(100, 100, 0)
	in.Weights[1] = row(2, 1) // V1 keeps the subnet alive
	in.Bonds = [][]Bond{{NewBond(2, One)}, {NewBond(2, Half)}, nil}
	keep := in.Params.BondsMovingAverage
	prev := One
	for ep := 0; ep < 400; ep++ {
		out := mustRun(t, in)
		want := keep.Mul(prev)
		if got := bondOf(out.Bonds, 0, 2); got != want {
			t.Fatalf("epoch %d: bond %s, want %s", ep, got, want)
		}
		prev = want
		in.Bonds = out.Bonds
		if want == 0 {
			if len(out.Bonds[0]) != 0 {
				t.Fatal("zero bond kept in sparse row")
			}
			if ep < 150 {
				t.Fatalf("decayed too fast: %d epochs", ep)
			}
			return
		}
	}
	t.Fatal("bond never reached 0")
}

// A validator that lost its permit keeps decaying bonds and earns nothing.
func TestNoPermitNoDividends(t *testing.T) {
	in := newInput(100, 100, 0)
	in.Permit[0] = false
	in.Weights[0] = row(2, 1)
	in.Weights[1] = row(2, 1)
	in.Bonds = [][]Bond{{NewBond(2, Half)}, nil, nil}
	out := mustRun(t, in)
	if out.Dividends[0] != 0 || out.ValidatorEmission[0] != 0 || out.ActiveStake[0] != 0 {
		t.Fatal("validator without permit paid")
	}
	if got := bondOf(out.Bonds, 0, 2); got != in.Params.BondsMovingAverage.Mul(Half) {
		t.Fatalf("unpermitted bond %s", got)
	}
}

func TestNoUsableWeights(t *testing.T) {
	// No weights: validators by active stake, miners nothing.
	in := newInput(300, 100, 0)
	out := mustRun(t, in)
	if !out.StakeFallback || out.ValidatorEmission[0] != 750000 || out.ValidatorEmission[1] != 250000 || out.MinerEmission[2] != 0 {
		t.Fatalf("fallback by active stake: %+v", out)
	}
	// Weights only toward masked miners count as none.
	in.Weights[0] = row(2, 1)
	in.RegisteredAt[2] = 20
	if out = mustRun(t, in); !out.StakeFallback {
		t.Fatal("masked-only weights are not usable")
	}
	// Nobody active: by stake.
	in = newInput(300, 100, 0)
	in.Active = []bool{false, false, false}
	in.Weights[0] = row(2, 1)
	out = mustRun(t, in)
	if !out.StakeFallback || out.ValidatorEmission[0] != 750000 || out.ValidatorEmission[1] != 250000 {
		t.Fatalf("fallback by stake: %v", out.ValidatorEmission)
	}
	// No stake at all: unallocated.
	in = newInput(0, 0)
	out = mustRun(t, in)
	if out.Unallocated != in.Emission {
		t.Fatalf("unallocated %d", out.Unallocated)
	}
	// No UIDs.
	out = mustRun(t, Input{Emission: 5, Params: DefaultParams()})
	if out.Unallocated != 5 {
		t.Fatal("empty subnet")
	}
}

func TestLiquidAlphaBonds(t *testing.T) {
	in := newInput(60, 40, 0, 0, 0)
	in.Weights[0] = row(2, 3, 3, 1)
	in.Weights[1] = row(2, 1, 4, 1)
	in.Bonds = [][]Bond{{NewBond(2, FromRatio(1, 10)), NewBond(4, FromRatio(1, 2))}, {NewBond(3, FromRatio(1, 5))}, nil, nil, nil}
	plain := mustRun(t, in)
	in.Params.LiquidAlpha = true
	liquid := mustRun(t, in)
	if reflect.DeepEqual(plain.Bonds, liquid.Bonds) {
		t.Fatal("liquid alpha changed nothing")
	}
	e := run(&in)
	for i, r := range liquid.Bonds {
		for _, b := range r {
			old := bondOf(in.Bonds, i, b.UID())
			var w Fixed
			for _, x := range e.weightRow(i) {
				if entCol(x) == b.UID() {
					w = entWeight(x).Min(e.consensus[b.UID()])
				}
			}
			lo, hi := old.Min(w), max(old, w)
			if b.Value()+1 < lo || b.Value() > hi {
				t.Fatalf("bond %d→%d = %s outside [%s, %s]", i, b.UID(), b.Value(), lo, hi)
			}
		}
	}
}

func TestRunRejectsMalformedInput(t *testing.T) {
	base := func() Input {
		in := newInput(10, 10, 0)
		in.Weights[0] = row(2, 1)
		return in
	}
	cases := []struct {
		name   string
		mutate func(*Input)
		want   string
	}{
		{"permit length", func(in *Input) { in.Permit = in.Permit[:2] }, "permit has 2"},
		{"active length", func(in *Input) { in.Active = nil }, "active has 0"},
		{"registered length", func(in *Input) { in.RegisteredAt = in.RegisteredAt[:1] }, "registered_at"},
		{"last update length", func(in *Input) { in.LastUpdate = append(in.LastUpdate, 1) }, "last_update"},
		{"weights rows", func(in *Input) { in.Weights = in.Weights[:1] }, "weights has 1 rows"},
		{"bonds rows", func(in *Input) { in.Bonds = make([][]Bond, 5) }, "bonds has 5 rows"},
		{"uid out of range", func(in *Input) { in.Weights[1] = row(3, 1) }, "out of range"},
		{"unsorted", func(in *Input) { in.Weights[1] = row(2, 1, 0, 1) }, "strictly increasing"},
		{"duplicate", func(in *Input) { in.Weights[1] = row(2, 1, 2, 1) }, "strictly increasing"},
		{"bond above one", func(in *Input) { in.Bonds = [][]Bond{{NewBond(1, One+1)}, nil, nil} }, "above 1"},
		{"bond beyond 48 bits", func(in *Input) { in.Bonds = [][]Bond{{NewBond(1, Max)}, nil, nil} }, "above 1"},
		{"kappa", func(in *Input) { in.Params.Kappa = One + 1 }, "kappa"},
		{"bma", func(in *Input) { in.Params.BondsMovingAverage = Max }, "bonds_moving_average"},
		{"penalty", func(in *Input) { in.Params.BondsPenalty = 2 * One }, "bonds_penalty"},
		{"alpha order", func(in *Input) { in.Params.AlphaLow = One }, "alpha_low"},
		{"alpha high", func(in *Input) { in.Params.AlphaHigh = One + 1 }, "alpha_high"},
		{"too many", func(in *Input) { in.Stake = make([]uint64, MaxUIDs+1) }, "exceeds"},
	}
	for _, c := range cases {
		in := base()
		c.mutate(&in)
		_, err := Run(in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func TestRunIsPureAndDeterministic(t *testing.T) {
	in := denseInput(t, 64, 16, true)
	snapshot, err := EncodeScenario(in)
	if err != nil {
		t.Fatal(err)
	}
	a := mustRun(t, in)
	b := mustRun(t, in)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs differ")
	}
	after, _ := EncodeScenario(in)
	if string(after) != string(snapshot) {
		t.Fatal("Run modified its input")
	}
}

// Run checks the weight and bond rows while it reads them instead of in a
// separate pass; every malformed row, wherever the epoch would read it (or
// skip it), must give Validate's error.
func TestRunChecksRowsLikeValidate(t *testing.T) {
	base := func() Input {
		in := denseInput(t, 64, 16, false) // dense bonds: the aligned path
		in.Permit[3] = false               // a row the epoch skips
		in.RegisteredAt[5] = in.LastEpochBlock
		return in // UID 5's old bonds are not read
	}
	cases := []struct {
		name   string
		mutate func(*Input)
	}{
		{"weight uid out of range", func(in *Input) { in.Weights = set(in.Weights, 1, 63, Entry{64, One}) }},
		{"weight unsorted", func(in *Input) { in.Weights = set(in.Weights, 2, 10, Entry{9, One}) }},
		{"skipped weight row", func(in *Input) { in.Weights = set(in.Weights, 3, 0, Entry{200, One}) }},
		{"weight row of a non-validator", func(in *Input) { in.Weights[40] = []Entry{{2, 1}, {2, 1}} }},
		{"bond above one", func(in *Input) { in.Bonds = set(in.Bonds, 0, 7, NewBond(in.Bonds[0][7].UID(), One+1)) }},
		{"bond uid out of range", func(in *Input) {
			in.Bonds = set(in.Bonds, 1, len(in.Bonds[1])-1, NewBond(64, 1))
		}},
		{"bond duplicate", func(in *Input) { in.Bonds = set(in.Bonds, 2, 1, in.Bonds[2][0]) }},
		{"skipped bond row", func(in *Input) { in.Bonds = set(in.Bonds, 5, 0, NewBond(0, One+1)) }},
		{"bond row of a non-validator", func(in *Input) { in.Bonds[50] = []Bond{NewBond(1, One), NewBond(0, One)} }},
		{"liquid bond above one", func(in *Input) {
			in.Params.LiquidAlpha = true
			in.Bonds = set(in.Bonds, 0, 7, NewBond(in.Bonds[0][7].UID(), One+1))
		}},
	}
	for _, c := range cases {
		in := base()
		if _, err := Run(in); err != nil {
			t.Fatalf("base input rejected: %v", err)
		}
		c.mutate(&in)
		want := in.Validate()
		_, err := Run(in)
		if want == nil || err == nil || err.Error() != want.Error() {
			t.Errorf("%s: Run error %v, Validate %v", c.name, err, want)
		}
	}
}

// A validator that does not keep its permit for the next epoch has its bonds
// cleared, as in subtensor's epoch; one that keeps it keeps its bonds. The
// vector: validators 0 and 1 bond to miner 3; validator 1 falls out of the
// top-1 permit set (max_validators 1) and so leaves with no bonds.
func TestBondsClearedWhenPermitLost(t *testing.T) {
	in := newInput(60, 40, 0, 0)
	in.Params.MaxValidators = 1
	in.Permit = []bool{true, true, false, false}
	in.Weights[0] = row(3, 1)
	in.Weights[1] = row(3, 1)
	half := []Bond{NewBond(3, FromRatio(1, 2))}
	in.Bonds = [][]Bond{half, half, nil, nil}
	out := mustRun(t, in)
	if !out.NextPermit[0] || out.NextPermit[1] {
		t.Fatalf("next permits %v", out.NextPermit)
	}
	if len(out.Bonds[0]) == 0 {
		t.Fatal("the validator that keeps its permit lost its bonds")
	}
	if len(out.Bonds[1]) != 0 {
		t.Fatalf("the validator that lost its permit kept bonds %v", out.Bonds[1])
	}
	if out.Dividends[1] == 0 {
		t.Fatal("dividends of this epoch must still follow the bonds it held")
	}
}

// set returns rows with element k of row i replaced by e, rows and row i
// copied.
func set[T any](rows [][]T, i, k int, e T) [][]T {
	rows = append([][]T(nil), rows...)
	rows[i] = append([]T(nil), rows[i]...)
	rows[i][k] = e
	return rows
}

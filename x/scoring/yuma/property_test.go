package yuma

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// checkInvariants verifies the properties every epoch result must have.
func checkInvariants(t testing.TB, in *Input, out *Output) {
	t.Helper()
	n := len(in.Stake)
	for name, v := range map[string]int{
		"active_stake": len(out.ActiveStake), "consensus": len(out.Consensus),
		"incentive": len(out.Incentive), "dividends": len(out.Dividends),
		"validator_trust": len(out.ValidatorTrust), "bonds": len(out.Bonds),
		"miner_emission": len(out.MinerEmission), "validator_emission": len(out.ValidatorEmission),
		"next_permit": len(out.NextPermit),
	} {
		if v != n {
			t.Fatalf("%s has length %d, want %d", name, v, n)
		}
	}
	// Normalized vectors sum to 0, or to 1 within n ulps (never above).
	for name, v := range map[string][]Fixed{"incentive": out.Incentive, "dividends": out.Dividends, "active_stake": out.ActiveStake} {
		var s uint64
		for _, x := range v {
			s += uint64(x)
		}
		if s != 0 && (s > uint64(One) || s+uint64(n) < uint64(One)) {
			t.Fatalf("%s sums to %s", name, Fixed(s))
		}
	}
	for j := 0; j < n; j++ {
		if out.Consensus[j] > One || out.ValidatorTrust[j] > One {
			t.Fatalf("uid %d: consensus %s trust %s above 1", j, out.Consensus[j], out.ValidatorTrust[j])
		}
	}
	// Clipped ≤ original, consensus ≤ the largest stake-holding weight.
	e := run(in)
	colMax := make([]Fixed, n)
	for i := 0; i < n; i++ {
		var rowSum, clipSum Fixed
		for _, x := range e.weightRow(i) {
			w, c := entWeight(x), entWeight(x).Min(e.consensus[entCol(x)])
			if c > w {
				t.Fatal("clipped weight above original")
			}
			rowSum += w
			clipSum += c
			if e.activeStake[i] > 0 {
				colMax[entCol(x)] = max(colMax[entCol(x)], w)
			}
		}
		if rowSum > One || clipSum != out.ValidatorTrust[i] {
			t.Fatalf("row %d: sum %s, clipped %s, trust %s", i, rowSum, clipSum, out.ValidatorTrust[i])
		}
	}
	for j := 0; j < n; j++ {
		if out.Consensus[j] > colMax[j] {
			t.Fatalf("consensus %s above max weight %s", out.Consensus[j], colMax[j])
		}
	}
	if n <= 64 {
		verifyConsensus(t, e)
	}
	// Bonds: sparse, sorted, in (0, 1].
	for i, r := range out.Bonds {
		for k, b := range r {
			if b.Value() == 0 || b.Value() > One || int(b.UID()) >= n || (k > 0 && r[k-1].UID() >= b.UID()) {
				t.Fatalf("bad bond row %d: %v", i, r)
			}
		}
	}
	// Emission conserved exactly.
	var paid uint64
	var stake, minerW, valW uint64
	for i := 0; i < n; i++ {
		paid += out.MinerEmission[i] + out.ValidatorEmission[i]
		stake |= in.Stake[i]
		minerW += uint64(out.Incentive[i])
		valW += uint64(out.Dividends[i])
		if !out.StakeFallback && ((out.Incentive[i] == 0 && out.MinerEmission[i] != 0) || (out.Dividends[i] == 0 && out.ValidatorEmission[i] != 0)) {
			t.Fatalf("uid %d paid with zero share", i)
		}
		if out.StakeFallback && out.MinerEmission[i] != 0 {
			t.Fatal("miner paid in stake fallback")
		}
	}
	if paid+out.Unallocated != in.Emission {
		t.Fatalf("paid %d + unallocated %d != emission %d", paid, out.Unallocated, in.Emission)
	}
	if out.Unallocated != 0 && stake != 0 {
		t.Fatalf("unallocated %d with stake present", out.Unallocated)
	}
	if out.StakeFallback != (minerW == 0) {
		t.Fatal("fallback flag inconsistent with incentive")
	}
	var permits uint64
	for _, p := range out.NextPermit {
		if p {
			permits++
		}
	}
	if permits > uint64(in.Params.MaxValidators) {
		t.Fatalf("%d permits > max %d", permits, in.Params.MaxValidators)
	}
}

// verifyConsensus recomputes every column's quantile naively.
func verifyConsensus(t testing.TB, e *epoch) {
	t.Helper()
	thr := quantileThreshold(e.in.Params.Kappa, e.stakeSum)
	var stake []Fixed
	var rows []int
	for i := 0; i < e.n; i++ {
		if e.activeStake[i] > 0 {
			rows = append(rows, i)
			stake = append(stake, e.activeStake[i])
		}
	}
	ws := make([]Fixed, len(rows))
	for j := 0; j < e.n; j++ {
		any := false
		for r, i := range rows {
			ws[r] = 0
			for _, x := range e.weightRow(i) {
				if int(entCol(x)) == j {
					ws[r] = entWeight(x)
					any = true
				}
			}
		}
		want := Fixed(0)
		if any {
			want = naiveQuantile(ws, stake, thr)
			if thr == 0 {
				want = slices.Max(ws)
			}
		}
		if e.consensus[j] != want {
			t.Fatalf("consensus[%d] = %s, naive %s", j, e.consensus[j], want)
		}
	}
}

// randomInput builds a valid random scenario.
func randomInput(rng *rand.Rand) Input {
	n := rng.IntN(40)
	in := Input{
		Params:         DefaultParams(),
		Stake:          make([]uint64, n),
		Permit:         make([]bool, n),
		Active:         make([]bool, n),
		Weights:        make([][]Entry, n),
		RegisteredAt:   make([]uint64, n),
		LastUpdate:     make([]uint64, n),
		LastEpochBlock: rng.Uint64N(100),
		Emission:       rng.Uint64() >> rng.UintN(64),
	}
	p := &in.Params
	p.Kappa = Fixed(rng.Uint64N(uint64(One) + 1))
	p.BondsMovingAverage = Fixed(rng.Uint64N(uint64(One) + 1))
	p.BondsPenalty = Fixed(rng.Uint64N(uint64(One) + 1))
	p.MaxValidators = rng.Uint32N(20)
	p.LiquidAlpha = rng.IntN(2) == 0
	p.AlphaHigh = Fixed(rng.Uint64N(uint64(One) + 1))
	p.AlphaLow = Fixed(rng.Uint64N(uint64(p.AlphaHigh) + 1))
	p.AlphaSigmoidSteepness = Fixed(rng.Uint64() >> rng.UintN(64))
	if rng.IntN(4) == 0 {
		in.Bonds = make([][]Bond, n)
	}
	for i := 0; i < n; i++ {
		if rng.IntN(3) > 0 {
			in.Stake[i] = rng.Uint64() >> rng.UintN(64)
		}
		in.Permit[i] = rng.IntN(2) == 0
		in.Active[i] = rng.IntN(5) > 0
		in.RegisteredAt[i] = rng.Uint64N(120)
		in.LastUpdate[i] = rng.Uint64N(150)
		for j := 0; j < n; j++ {
			if rng.IntN(3) == 0 {
				var v Fixed
				switch rng.IntN(4) {
				case 0:
					v = FromUint(rng.Uint64N(65536))
				case 1:
					v = Fixed(rng.Uint64())
				default:
					v = Fixed(rng.Uint64N(uint64(One) + 1))
				}
				in.Weights[i] = append(in.Weights[i], Entry{UID: uint16(j), Value: v})
			}
			if in.Bonds != nil && rng.IntN(3) == 0 {
				in.Bonds[i] = append(in.Bonds[i], NewBond(uint16(j), Fixed(rng.Uint64N(uint64(One)+1))))
			}
		}
	}
	return in
}

func TestPropertiesRandomScenarios(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for k := 0; k < 1500; k++ {
		in := randomInput(rng)
		out, err := Run(in)
		if err != nil {
			t.Fatalf("case %d: %v", k, err)
		}
		checkInvariants(t, &in, &out)
		// Feeding the bonds back is always valid.
		in.Bonds = out.Bonds
		out2, err := Run(in)
		if err != nil {
			t.Fatalf("case %d second epoch: %v", k, err)
		}
		checkInvariants(t, &in, &out2)
		// Scenario encoding round-trips.
		data, err := EncodeScenario(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeScenario(data)
		if err != nil {
			t.Fatalf("case %d decode: %v", k, err)
		}
		out3, err := Run(back)
		if err != nil || !reflect.DeepEqual(out2, out3) {
			t.Fatalf("case %d: scenario round trip changed the result (%v)", k, err)
		}
	}
}

// More than 1024 validators use the two-pass gather; check it against the
// naive quantile on a sparse subnet.
func TestConsensusManyValidators(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n, v = 1300, 1100
	in := newInput(make([]uint64, n)...)
	in.Params.MaxValidators = v
	for i := 0; i < v; i++ {
		in.Stake[i] = 1 + rng.Uint64N(1000)
		in.Permit[i] = true
		used := map[int]bool{}
		for k := 0; k < 4; k++ {
			used[v+rng.IntN(n-v)] = true
			used[rng.IntN(n)] = true
		}
		var r []Entry
		for j := 0; j < n; j++ {
			if used[j] {
				r = append(r, Entry{UID: uint16(j), Value: FromUint(1 + rng.Uint64N(3))})
			}
		}
		in.Weights[i] = r
	}
	out := mustRun(t, in)
	e := run(&in)
	if !reflect.DeepEqual(e.consensus, out.Consensus) {
		t.Fatal("run and Run disagree")
	}
	verifyConsensus(t, e)
}

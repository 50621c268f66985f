package incentives_test

import (
	"testing"

	"github.com/meritnet/merit/x/scoring/yuma"
)

func yumaInput(stake ...uint64) yuma.Input {
	n := len(stake)
	in := yuma.Input{
		Params: yuma.DefaultParams(), Stake: stake, Permit: yuma.TopStakePermits(stake, 64),
		Active: make([]bool, n), Weights: make([][]yuma.Entry, n), RegisteredAt: make([]uint64, n),
		LastUpdate: make([]uint64, n), LastEpochBlock: 5, Emission: 1_000_000_000,
	}
	for i := range stake {
		in.Active[i], in.LastUpdate[i] = true, 10
	}
	return in
}

func weights(pairs ...uint64) []yuma.Entry {
	var r []yuma.Entry
	for k := 0; k+1 < len(pairs); k += 2 {
		r = append(r, yuma.Entry{UID: uint16(pairs[k]), Value: yuma.FromUint(pairs[k+1])})
	}
	return r
}

func run(t *testing.T, in yuma.Input) yuma.Output {
	t.Helper()
	out, err := yuma.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCoalitionBelowHalfCannotLift: validators holding 1–49% of the stake
// give all their weight to a miner the majority rates at 0.2 of its row. The
// miner's consensus stays exactly the majority's 0.2 and the coalition's
// weight on it is clipped to that: its rank is what 0.2 from everyone would
// give. (Its incentive share still grows by what the coalition withholds from
// the other miners: a coalition can only move weight it takes from others.)
func TestCoalitionBelowHalfCannotLift(t *testing.T) {
	var worstShare float64
	for pct := uint64(1); pct <= 49; pct++ {
		in := yumaInput(100-pct, pct, 0, 0)
		in.Weights[0] = weights(2, 1, 3, 4) // majority: miner 2 gets 0.2
		in.Weights[1] = weights(2, 1)       // coalition: miner 2 gets 1.0
		out := run(t, in)
		if out.Consensus[2] != yuma.FromRatio(1, 5) || out.ValidatorTrust[1] != yuma.FromRatio(1, 5) {
			t.Fatalf("coalition %d%%: consensus %s, coalition trust %s, want 0.2 and 0.2", pct, out.Consensus[2], out.ValidatorTrust[1])
		}
		// With weight clipped to consensus, miner 2's rank is 0.2·(all stake)
		// and miner 3's is 0.8·(majority stake): incentive share 0.2/(0.2+0.8(1−m)).
		m := float64(pct) / 100
		share := float64(out.Incentive[2].ToU16()) / 65535
		if want := 0.2 / (0.2 + 0.8*(1-m)); share > want+1e-4 {
			t.Fatalf("coalition %d%%: incentive share %.5f above the clipped bound %.5f", pct, share, want)
		}
		if share > worstShare {
			worstShare = share
		}
	}
	t.Logf("consensus of the favoured miner: 0.2 (the majority's) for every coalition of 1–49%%; its incentive share at most %.3f (at 49%%, all from weight the coalition withheld from the other miner)", worstShare)
}

// TestWeightCopyingEarnsLess: under commit-reveal a copier can only reveal
// the weights it saw one epoch earlier; while miner quality rotates, its
// dividends stay below those of the honest validator it copies (equal stake).
func TestWeightCopyingEarnsLess(t *testing.T) {
	const miners = 5
	perf := func(epoch int) []yuma.Entry {
		scores := []uint64{16, 8, 4, 2, 1}
		r := make([]yuma.Entry, miners)
		for j := 0; j < miners; j++ {
			r[j] = yuma.Entry{UID: uint16(3 + j), Value: yuma.FromUint(scores[(j+epoch)%miners])}
		}
		return r
	}
	in := yumaInput(40, 30, 30, 0, 0, 0, 0, 0) // 0 and 1 honest; 2 copies 1
	in.LastEpochBlock = 0
	var honest, copier uint64
	prev := perf(0)
	for ep := 0; ep < 30; ep++ {
		block := uint64(100 * (ep + 1))
		for i := range in.LastUpdate {
			in.LastUpdate[i] = block - 1
		}
		cur := perf(ep)
		in.Weights[0], in.Weights[1], in.Weights[2] = cur, cur, prev
		out := run(t, in)
		if ep >= 2 {
			honest += out.ValidatorEmission[1]
			copier += out.ValidatorEmission[2]
		}
		in.Bonds, in.LastEpochBlock, prev = out.Bonds, block, cur
	}
	ratio := float64(copier) / float64(honest)
	t.Logf("copier / honest validator dividends over 28 epochs: %.3f", ratio)
	if copier >= honest {
		t.Fatalf("copier earned %d, honest %d", copier, honest)
	}
}

// TestSybilMinersGainNothing: a miner's capacity served under one hotkey, or
// split across k hotkeys (each scored by the validators in proportion to the
// work it does), earns the same incentive at best; every extra hotkey pays a
// registration burn that doubles per registration, so splitting loses.
func TestSybilMinersGainNothing(t *testing.T) {
	const others = 3 // honest miners of equal capacity
	for k := 1; k <= 8; k *= 2 {
		n := 2 + others + k // two validators, the other miners, k sybils
		stake := make([]uint64, n)
		stake[0], stake[1] = 60, 40
		in := yumaInput(stake...)
		var row []yuma.Entry
		for j := 0; j < others; j++ {
			row = append(row, yuma.Entry{UID: uint16(2 + j), Value: yuma.FromUint(uint64(8 * 1024))})
		}
		for s := 0; s < k; s++ {
			row = append(row, yuma.Entry{UID: uint16(2 + others + s), Value: yuma.FromUint(uint64(8 * 1024 / k))})
		}
		in.Weights[0], in.Weights[1] = row, row
		out := run(t, in)
		var sybil uint64
		for s := 0; s < k; s++ {
			sybil += out.MinerEmission[2+others+s]
		}
		// Registration burns: the price doubles after each registration
		// (burn_increase_bps 20000) from min_burn 100000.
		burn := uint64(0)
		for s, price := 1, uint64(100_000); s < k; s, price = s+1, price*2 {
			burn += price
		}
		t.Logf("capacity split over %d hotkeys: miner emission %d per epoch (one hotkey: see k=1), extra registration burn %d", k, sybil, burn)
		if k > 1 {
			single := yumaInput(append([]uint64{60, 40}, make([]uint64, others+1)...)...)
			single.Weights[0] = append(append([]yuma.Entry{}, row[:others]...), yuma.Entry{UID: uint16(2 + others), Value: yuma.FromUint(8 * 1024)})
			single.Weights[1] = single.Weights[0]
			ref := run(t, single).MinerEmission[2+others]
			if sybil > ref {
				t.Fatalf("%d sybils earn %d per epoch, one hotkey %d", k, sybil, ref)
			}
		}
	}
}

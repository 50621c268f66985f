package validator

import (
	"errors"
	"math/rand/v2"
	"testing"

	scoringtypes "github.com/meritnet/merit/x/scoring/types"
)

func TestNormalizeBasic(t *testing.T) {
	uids, ws, err := NormalizeWeights(map[uint16]float64{3: 0.25, 1: 0.5, 2: 0, 0: 0.9}, WeightLimits{N: 5, Self: 0, MinAllowedWeights: 1, MaxWeightLimit: 65535})
	if err != nil {
		t.Fatal(err)
	}
	if len(uids) != 2 || uids[0] != 1 || uids[1] != 3 {
		t.Fatalf("uids %v: want sorted, without self (0) and zero scores", uids)
	}
	if ws[0] != 65535 || ws[1] != 32768 {
		t.Fatalf("weights %v", ws)
	}
}

func TestNormalizeNoScores(t *testing.T) {
	_, _, err := NormalizeWeights(map[uint16]float64{0: 1, 1: 0}, WeightLimits{N: 3, Self: 0, MaxWeightLimit: 65535})
	if !errors.Is(err, ErrNoScores) {
		t.Fatalf("got %v", err)
	}
}

func TestNormalizePadsToMinAllowed(t *testing.T) {
	lim := WeightLimits{N: 6, Self: 2, MinAllowedWeights: 4, MaxWeightLimit: 65535}
	uids, ws, err := NormalizeWeights(map[uint16]float64{5: 1}, lim)
	if err != nil {
		t.Fatal(err)
	}
	if len(uids) != 4 {
		t.Fatalf("%v %v", uids, ws)
	}
	for i, u := range uids {
		if u == 2 {
			t.Fatal("padded with the validator's own uid while others were free")
		}
		if u == 5 && ws[i] != 65535 || u != 5 && ws[i] != 1 {
			t.Fatalf("uids %v weights %v", uids, ws)
		}
	}
	if err := scoringtypes.CheckWeights(uids, ws, lim.Rules()); err != nil {
		t.Fatal(err)
	}
}

func TestNormalizeMaxWeightLimit(t *testing.T) {
	// One dominant miner capped at 40%: its excess goes to the others by score.
	lim := WeightLimits{N: 5, Self: 0, MinAllowedWeights: 1, MaxWeightLimit: 26214} // 0.4
	uids, ws, err := NormalizeWeights(map[uint16]float64{1: 10, 2: 1, 3: 1, 4: 2}, lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := scoringtypes.CheckWeights(uids, ws, lim.Rules()); err != nil {
		t.Fatalf("%v %v: %v", uids, ws, err)
	}
	var sum float64
	for _, w := range ws {
		sum += float64(w)
	}
	if share := float64(ws[0]) / sum; share > 0.4+1e-6 || share < 0.39 {
		t.Fatalf("capped share %v", share)
	}
	if !(ws[3] > ws[1] && ws[1] == ws[2]) {
		t.Fatalf("excess not spread by score: %v", ws)
	}
	// Cap too tight for the scored miners alone: the rest goes to other UIDs.
	lim = WeightLimits{N: 6, Self: 0, MinAllowedWeights: 1, MaxWeightLimit: 16384} // 0.25
	uids, ws, err = NormalizeWeights(map[uint16]float64{1: 1, 2: 1}, lim)
	if err != nil {
		t.Fatal(err)
	}
	if err := scoringtypes.CheckWeights(uids, ws, lim.Rules()); err != nil {
		t.Fatalf("%v %v: %v", uids, ws, err)
	}
}

func TestNormalizeAlwaysPassesChainRules(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		n := uint32(1 + r.IntN(40))
		self := r.IntN(int(n)+1) - 1
		lim := WeightLimits{N: n, Self: self, MinAllowedWeights: uint32(r.IntN(int(n) + 2)), MaxWeightLimit: uint32(1 + r.IntN(65535))}
		scores := map[uint16]float64{}
		for u := range n {
			if r.IntN(3) > 0 {
				scores[uint16(u)] = r.Float64() * float64(r.IntN(3))
			}
		}
		uids, ws, err := NormalizeWeights(scores, lim)
		if errors.Is(err, ErrNoScores) {
			continue
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		// The cap is unreachable only when even all UIDs together cannot
		// take the whole weight at the limit.
		if float64(n)*float64(lim.MaxWeightLimit)/65535 < 1 && len(uids) > 1 {
			continue
		}
		if err := scoringtypes.CheckWeights(uids, ws, lim.Rules()); err != nil {
			t.Fatalf("case %d (%+v, scores %v): %v %v: %v", i, lim, scores, uids, ws, err)
		}
	}
}

func TestNormalizeWeightsDropsScoresBelowOneUnit(t *testing.T) {
	lim := WeightLimits{N: 4, Self: 0, MinAllowedWeights: 1, MaxWeightLimit: u16Max}
	uids, weights, err := NormalizeWeights(map[uint16]float64{1: 0.9, 2: 0.9 * 0.7e-5, 3: 0.45}, lim)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range uids {
		if u == 2 {
			t.Fatalf("a miner decayed below one u16 unit still gets weight %d", weights[i])
		}
	}
	if len(uids) != 2 {
		t.Fatalf("uids %v weights %v", uids, weights)
	}
}

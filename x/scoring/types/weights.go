package types

import (
	"sort"

	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

// WeightRules are what a subnet asks of a weight vector. The chain applies
// them to every set and reveal; validators apply them before sending, so
// that a vector the chain would refuse never costs a transaction.
type WeightRules struct {
	// N is the number of UIDs in the subnet.
	N uint32
	// MinAllowedWeights is the fewest entries a vector must carry (at most N).
	MinAllowedWeights uint32
	// MaxWeightLimit is the largest share one UID may get, in u16 units.
	MaxWeightLimit uint32
}

// WeightRulesOf reads the rules of a subnet of n UIDs from its
// hyperparameters.
func WeightRulesOf(n uint32, h subnettypes.Hyperparams) WeightRules {
	return WeightRules{N: n, MinAllowedWeights: h.MinAllowedWeights, MaxWeightLimit: h.MaxWeightLimit}
}

// CheckWeights applies the rules to a vector as sent: as many weights as
// UIDs, within the subnet, enough of them, none twice, none above 65535,
// not all zero, and no UID's share above max_weight_limit (the integer test
// max·65535 ≤ limit·sum). Errors wrap ErrInvalidWeights.
func CheckWeights(uids, weights []uint32, r WeightRules) error {
	_, err := checkWeights(uids, weights, r)
	return err
}

// checkWeights is CheckWeights returning the largest weight as well.
func checkWeights(uids, weights []uint32, r WeightRules) (uint64, error) {
	if len(uids) != len(weights) {
		return 0, ErrInvalidWeights.Wrapf("%d uids but %d weights", len(uids), len(weights))
	}
	n := r.N
	if uint32(len(uids)) > n {
		return 0, ErrInvalidWeights.Wrapf("%d weights for a subnet of %d UIDs", len(uids), n)
	}
	if need := min(r.MinAllowedWeights, n); uint32(len(uids)) < need {
		return 0, ErrInvalidWeights.Wrapf("%d weights, at least %d required", len(uids), need)
	}
	seen := make([]bool, n)
	var maxW, sum uint64
	for i, uid := range uids {
		if uid >= n {
			return 0, ErrInvalidWeights.Wrapf("uid %d does not exist (subnet has %d)", uid, n)
		}
		if seen[uid] {
			return 0, ErrInvalidWeights.Wrapf("uid %d appears twice", uid)
		}
		seen[uid] = true
		if weights[i] > U16Max {
			return 0, ErrInvalidWeights.Wrapf("weight %d for uid %d exceeds %d", weights[i], uid, U16Max)
		}
		maxW = max(maxW, uint64(weights[i]))
		sum += uint64(weights[i])
	}
	if maxW == 0 {
		return 0, ErrInvalidWeights.Wrap("all weights are zero")
	}
	if r.MaxWeightLimit < U16Max && len(uids) > 1 && maxW*U16Max > uint64(r.MaxWeightLimit)*sum {
		return 0, ErrInvalidWeights.Wrapf("one uid gets more than max_weight_limit %d/65535 of the weight", r.MaxWeightLimit)
	}
	return maxW, nil
}

// BuildWeightsRow checks a vector against the rules and returns the row the
// chain stores: sorted by UID, zeros dropped, max-upscaled so the largest
// value is 65535.
func BuildWeightsRow(uids, weights []uint32, r WeightRules) (WeightsRow, error) {
	maxW, err := checkWeights(uids, weights, r)
	if err != nil {
		return WeightsRow{}, err
	}
	order := make([]int, 0, len(uids))
	for i := range uids {
		if weights[i] > 0 {
			order = append(order, i)
		}
	}
	sort.Slice(order, func(a, b int) bool { return uids[order[a]] < uids[order[b]] })
	row := WeightsRow{Uids: make([]uint32, len(order)), Values: make([]uint32, len(order))}
	for j, i := range order {
		row.Uids[j] = uids[i]
		row.Values[j] = uint32(uint64(weights[i]) * U16Max / maxW)
	}
	return row, nil
}

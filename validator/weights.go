package validator

import (
	"errors"
	"math"
	"sort"

	scoringtypes "github.com/meritnet/merit/x/scoring/types"
)

// u16Max is the largest weight value; the chain max-upscales rows to it.
const u16Max = scoringtypes.U16Max

// WeightLimits are the subnet rules a weight vector must satisfy.
type WeightLimits struct {
	// N is the number of UIDs in the subnet.
	N uint32
	// Self is the validator's own UID; it gets weight only when nothing else
	// can satisfy min_allowed_weights (the epoch masks self-weights anyway).
	Self int
	// MinAllowedWeights is the fewest entries a vector must carry.
	MinAllowedWeights uint32
	// MaxWeightLimit is the largest share of one UID in u16 units.
	MaxWeightLimit uint32
}

// Rules are the chain's part of the limits, for scoringtypes.CheckWeights.
func (l WeightLimits) Rules() scoringtypes.WeightRules {
	return scoringtypes.WeightRules{N: l.N, MinAllowedWeights: l.MinAllowedWeights, MaxWeightLimit: l.MaxWeightLimit}
}

// ErrNoScores is returned when no miner has a positive score: the chain
// refuses all-zero weights, so there is nothing to submit.
var ErrNoScores = errors.New("no miner has a positive score")

// NormalizeWeights turns scores (by UID) into the u16 vector to submit:
// sorted by UID, the largest value 65535, every share at most
// max_weight_limit, and at least min_allowed_weights entries.
//
// Shares are capped by water-filling (cap the largest, hand its excess to the
// rest in proportion to their scores, repeat). When the positively scored
// miners cannot absorb the whole weight under the cap, the remainder is
// spread evenly over other UIDs, which is also how short vectors are padded
// to min_allowed_weights (as Bittensor does, with the smallest weight that
// still counts).
func NormalizeWeights(scores map[uint16]float64, lim WeightLimits) (uids, weights []uint32, err error) {
	if lim.N == 0 {
		return nil, nil, errors.New("subnet has no UIDs")
	}
	pos := scoredMiners(scores, lim)
	if len(pos) == 0 {
		return nil, nil, ErrNoScores
	}
	limit := 1.0
	if lim.MaxWeightLimit > 0 && lim.MaxWeightLimit < u16Max {
		limit = float64(lim.MaxWeightLimit) / u16Max
	}
	fillers := fillerUIDs(pos, lim)
	waterFill(pos, limit)
	res, fillers := spreadRemainder(pos, fillers, limit)
	// Padding to min_allowed_weights with the smallest non-zero weight.
	for need := int(min(lim.MinAllowedWeights, lim.N)); len(res) < need && len(fillers) > 0; fillers = fillers[1:] {
		res = append(res, share{fillers[0], tinyShare})
	}
	uids, weights = scaleShares(res)
	fixMaxShare(weights, lim.MaxWeightLimit)
	return uids, weights, nil
}

// scored is a miner with a positive score and its share of the weight.
type scored struct {
	uid   uint32
	score float64
	share float64
}

// share is one entry of the vector before scaling to u16.
type share struct {
	uid   uint32
	share float64
}

// tinyShare marks an entry that gets weight 1 after scaling.
const tinyShare = -1.0

// scoredMiners are the UIDs with a usable positive score, by UID. A score
// too small to round to one u16 unit next to the best is no weight at all:
// flooring it to 1 would pay a dead miner forever.
func scoredMiners(scores map[uint16]float64, lim WeightLimits) []scored {
	var pos []scored
	for uid, s := range scores {
		if uint32(uid) >= lim.N || int(uid) == lim.Self || !(s > 0) || math.IsInf(s, 0) {
			continue
		}
		pos = append(pos, scored{uid: uint32(uid), score: s})
	}
	best := 0.0
	for _, e := range pos {
		best = math.Max(best, e.score)
	}
	kept := pos[:0]
	for _, e := range pos {
		if e.score/best*u16Max >= 0.5 {
			kept = append(kept, e)
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].uid < kept[j].uid })
	return kept
}

// fillerUIDs are the other UIDs, the validator's own last: they pad short
// vectors and take weight the capped miners cannot.
func fillerUIDs(pos []scored, lim WeightLimits) []uint32 {
	used := make(map[uint32]bool, len(pos))
	for _, e := range pos {
		used[e.uid] = true
	}
	var fillers []uint32
	for u := uint32(0); u < lim.N; u++ {
		if !used[u] && int(u) != lim.Self {
			fillers = append(fillers, u)
		}
	}
	if lim.Self >= 0 && uint32(lim.Self) < lim.N && !used[uint32(lim.Self)] {
		fillers = append(fillers, uint32(lim.Self))
	}
	return fillers
}

// waterFill sets shares proportional to scores, capped at limit: cap the
// largest, hand its excess to the uncapped in proportion to their scores,
// repeat. When everyone is capped the excess stays unassigned.
func waterFill(pos []scored, limit float64) {
	total := 0.0
	for _, e := range pos {
		total += e.score
	}
	for i := range pos {
		pos[i].share = pos[i].score / total
	}
	capped := make([]bool, len(pos))
	for range len(pos) + 1 {
		excess, freeScore := 0.0, 0.0
		for i := range pos {
			if !capped[i] && pos[i].share > limit {
				excess += pos[i].share - limit
				pos[i].share = limit
				capped[i] = true
			}
		}
		if excess == 0 {
			return
		}
		for i := range pos {
			if !capped[i] {
				freeScore += pos[i].score
			}
		}
		if freeScore == 0 {
			return // everyone is capped; the excess goes to fillers
		}
		for i := range pos {
			if !capped[i] {
				pos[i].share += excess * pos[i].score / freeScore
			}
		}
	}
}

// spreadRemainder lists the miners' shares and spreads what the cap left
// over as many fillers as the cap needs; it returns the fillers not used.
func spreadRemainder(pos []scored, fillers []uint32, limit float64) ([]share, []uint32) {
	rest := 1.0
	for _, e := range pos {
		rest -= e.share
	}
	res := make([]share, 0, len(pos)+len(fillers))
	for _, e := range pos {
		res = append(res, share{e.uid, e.share})
	}
	if rest > 1e-9 && len(fillers) > 0 {
		k := min(len(fillers), max(1, int(math.Ceil(rest/limit-1e-9))))
		for _, u := range fillers[:k] {
			res = append(res, share{u, rest / float64(k)})
		}
		fillers = fillers[k:]
	}
	return res, fillers
}

// scaleShares sorts the entries by UID and scales them to u16 with the
// largest at 65535 and none below 1.
func scaleShares(res []share) (uids, weights []uint32) {
	sort.Slice(res, func(i, j int) bool { return res[i].uid < res[j].uid })
	maxShare := 0.0
	for _, r := range res {
		maxShare = math.Max(maxShare, r.share)
	}
	uids = make([]uint32, len(res))
	weights = make([]uint32, len(res))
	for i, r := range res {
		uids[i] = r.uid
		if r.share == tinyShare {
			weights[i] = 1
			continue
		}
		w := math.Round(r.share / maxShare * u16Max)
		weights[i] = uint32(max(1, min(u16Max, w)))
	}
	return uids, weights
}

// fixMaxShare undoes rounding that pushed the largest share a hair over the
// limit, with the chain's own integer test (max·65535 ≤ limit·sum). Lowering
// the largest values by one unit lowers their share while others remain.
func fixMaxShare(w []uint32, limit uint32) {
	if limit == 0 || limit >= u16Max || len(w) < 2 {
		return
	}
	for range 4096 {
		var mx, sum uint64
		for _, v := range w {
			mx = max(mx, uint64(v))
			sum += uint64(v)
		}
		if mx*u16Max <= uint64(limit)*sum || mx <= 1 {
			return
		}
		for i, v := range w {
			if uint64(v) == mx {
				w[i]--
			}
		}
	}
}

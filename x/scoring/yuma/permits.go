package yuma

import (
	"cmp"
	"slices"
)

// TopStakePermits returns the validator permits for the next epoch: the k
// UIDs with the most stake, ties broken by the lower UID. UIDs with zero
// stake never get a permit, so fewer than k permits are handed out when fewer
// than k UIDs hold stake.
func TopStakePermits(stake []uint64, k uint32) []bool {
	permit := make([]bool, len(stake))
	if k == 0 || len(stake) == 0 {
		return permit
	}
	idx := make([]int, 0, len(stake))
	for i, s := range stake {
		if s > 0 {
			idx = append(idx, i)
		}
	}
	if uint64(len(idx)) <= uint64(k) {
		for _, i := range idx {
			permit[i] = true
		}
		return permit
	}
	// Total order: stake descending, then UID ascending.
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(stake[b], stake[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, i := range idx[:k] {
		permit[i] = true
	}
	return permit
}

package yuma

import (
	"slices"
	"testing"
)

func TestTopStakePermits(t *testing.T) {
	stake := []uint64{5, 9, 0, 9, 7, 5, 1}
	cases := []struct {
		k    uint32
		want []bool
	}{
		{0, []bool{false, false, false, false, false, false, false}},
		{2, []bool{false, true, false, true, false, false, false}},
		{4, []bool{true, true, false, true, true, false, false}}, // tie 5/5 → lower UID 0
		{6, []bool{true, true, false, true, true, true, true}},
		{100, []bool{true, true, false, true, true, true, true}}, // zero stake never
	}
	for _, c := range cases {
		if got := TopStakePermits(stake, c.k); !slices.Equal(got, c.want) {
			t.Errorf("k=%d: %v want %v", c.k, got, c.want)
		}
	}
	if got := TopStakePermits(nil, 3); len(got) != 0 {
		t.Fatal("empty")
	}
}

func TestActiveByCutoff(t *testing.T) {
	got := ActiveByCutoff([]uint64{0, 50, 100, ^uint64(0)}, 100, 50)
	if !slices.Equal(got, []bool{false, true, true, true}) {
		t.Fatal(got)
	}
}

package types

import (
	"errors"
	"reflect"
	"testing"
)

func TestBuildWeightsRow(t *testing.T) {
	r := WeightRules{N: 5, MinAllowedWeights: 2, MaxWeightLimit: U16Max}
	row, err := BuildWeightsRow([]uint32{3, 1, 4}, []uint32{100, 50, 0}, r)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by UID, the zero dropped, the largest upscaled to 65535.
	want := WeightsRow{Uids: []uint32{1, 3}, Values: []uint32{32767, 65535}}
	if !reflect.DeepEqual(row, want) {
		t.Fatalf("row %+v, want %+v", row, want)
	}
}

func TestCheckWeightsRefusals(t *testing.T) {
	r := WeightRules{N: 4, MinAllowedWeights: 2, MaxWeightLimit: U16Max / 2}
	cases := map[string]struct{ uids, weights []uint32 }{
		"lengths differ":  {[]uint32{0, 1}, []uint32{1}},
		"too many":        {[]uint32{0, 1, 2, 3, 0}, []uint32{1, 1, 1, 1, 1}},
		"too few":         {[]uint32{0}, []uint32{1}},
		"unknown uid":     {[]uint32{0, 4}, []uint32{1, 1}},
		"twice":           {[]uint32{1, 1}, []uint32{1, 1}},
		"above u16":       {[]uint32{0, 1}, []uint32{1, U16Max + 1}},
		"all zero":        {[]uint32{0, 1}, []uint32{0, 0}},
		"above the limit": {[]uint32{0, 1}, []uint32{3, 1}},
	}
	for name, c := range cases {
		if err := CheckWeights(c.uids, c.weights, r); !errors.Is(err, ErrInvalidWeights) {
			t.Errorf("%s: got %v", name, err)
		}
		if _, err := BuildWeightsRow(c.uids, c.weights, r); !errors.Is(err, ErrInvalidWeights) {
			t.Errorf("%s: row built: %v", name, err)
		}
	}
	// Exactly at the limit passes; min_allowed_weights above N asks for N.
	if err := CheckWeights([]uint32{0, 1}, []uint32{1, 1}, WeightRules{N: 2, MinAllowedWeights: 8, MaxWeightLimit: U16Max/2 + 1}); err != nil {
		t.Fatal(err)
	}
}

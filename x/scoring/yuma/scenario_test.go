package yuma

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestExampleScenario pins the documented example (docs/yuma.md) to its
// golden output. Regenerate with YUMA_UPDATE_GOLDEN=1 after an intended change.
func TestExampleScenario(t *testing.T) {
	data, err := os.ReadFile("testdata/example_scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Simulate(data)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, res, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	const golden = "testdata/example_output.json"
	if os.Getenv("YUMA_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("output differs from %s:\n%s", golden, pretty.String())
	}

	var out struct {
		Consensus         []json.Number     `json:"consensus"`
		Bonds             [][][]json.Number `json:"bonds"`
		MinerEmission     []uint64          `json:"miner_emission"`
		ValidatorEmission []uint64          `json:"validator_emission"`
	}
	if err := json.Unmarshal(res, &out); err != nil {
		t.Fatal(err)
	}
	// Miner 7 re-registered at block 95: V0's weight (block 90) is masked, V1
	// alone (30%) cannot carry it, and V1's old bond to it was reset.
	if out.Consensus[7] != "0" || len(out.Bonds[1]) != 3 {
		t.Fatalf("miner 7: consensus %s, V1 bonds %v", out.Consensus[7], out.Bonds[1])
	}
	var sum uint64
	for i := range out.MinerEmission {
		sum += out.MinerEmission[i] + out.ValidatorEmission[i]
	}
	if sum != 1000000 {
		t.Fatalf("emission sums to %d", sum)
	}
}

func TestScenarioDefaults(t *testing.T) {
	in, err := DecodeScenario([]byte(`{"stake":[30, 10, 0, 5], "weights":[[[2, 1]], [[2, 3], [3, 1]], [], []]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Input{
		Params:         DefaultParams(),
		Stake:          []uint64{30, 10, 0, 5},
		Permit:         []bool{true, true, false, true},
		Active:         []bool{true, true, true, true},
		Weights:        [][]Entry{{{2, One}}, {{2, FromUint(3)}, {3, One}}, {}, {}},
		RegisteredAt:   []uint64{0, 0, 0, 0},
		LastUpdate:     []uint64{1, 1, 1, 1},
		LastEpochBlock: 1,
		Emission:       1_000_000,
	}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", in, want)
	}
	// max_validators limits the default permits; activity_cutoff sets active.
	in, err = DecodeScenario([]byte(`{"stake":[30, 10, 0, 5], "weights":[[], [], [], []], "max_validators": 1,
		"last_update": [10, 50, 60, 100], "block": 100, "activity_cutoff": 50, "emission": 1e3}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.Permit, []bool{true, false, false, false}) ||
		!reflect.DeepEqual(in.Active, []bool{false, true, true, true}) || in.Emission != 1000 || in.LastEpochBlock != 100 {
		t.Fatalf("permit %v active %v emission %d", in.Permit, in.Active, in.Emission)
	}
	// Entries in any order are sorted; decimals and exponents parse exactly.
	in, err = DecodeScenario([]byte(`{"stake":[1, 1, 1], "weights":[[[2, 0.25], [1, 7.5e-1]], [], []],
		"bonds": [[], [[0, 1], [2, 0.5]], []], "kappa": 0.75, "liquid_alpha": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in.Weights[0], []Entry{{1, FromRatio(3, 4)}, {2, One / 4}}) ||
		!reflect.DeepEqual(in.Bonds[1], []Bond{NewBond(0, One), NewBond(2, Half)}) || in.Params.Kappa != FromRatio(3, 4) || !in.Params.LiquidAlpha {
		t.Fatalf("parsed %+v", in)
	}
}

func TestScenarioErrors(t *testing.T) {
	cases := []struct{ json, want string }{
		{`{"weights":[]}`, "stake is required"},
		{`{"stake":[1]}`, "weights is required"},
		{`{"stake":[-5],"weights":[[]]}`, `stake[0]: "-5": negative`},
		{`{"stake":[1.5],"weights":[[]]}`, "not an integer"},
		{`{"stake":[1,2],"weights":[[]]}`, "weights has 1 rows, stake has 2: lengths differ"},
		{`{"stake":[1,2],"weights":[[],[]],"active":[true]}`, "active has 1 entries, stake has 2"},
		{`{"stake":[1,2],"weights":[[],[]],"validator_permit":[true,false,true]}`, "validator_permit has 3 entries"},
		{`{"stake":[1,2],"weights":[[],[]],"registered_at":[0]}`, "registered_at has 1 entries"},
		{`{"stake":[1,2],"weights":[[],[]],"last_update":[0,1,2]}`, "last_update has 3 entries"},
		{`{"stake":[1,2],"weights":[[],[]],"bonds":[[]]}`, "bonds has 1 rows"},
		{`{"stake":[1,2],"weights":[[[2,1]],[]]}`, "weights[0][0]: uid 2 out of range (2 UIDs)"},
		{`{"stake":[1,2],"weights":[[[1,1],[1,2]],[]]}`, "weights[0]: uid 1 appears twice"},
		{`{"stake":[1,2],"weights":[[[1]],[]]}`, "want [uid, value]"},
		{`{"stake":[1,2],"weights":[[[1,-1]],[]]}`, "weights[0][0]: value \"-1\": negative"},
		{`{"stake":[1,2],"weights":[[[0.5,1]],[]]}`, "uid \"0.5\": not an integer"},
		{`{"stake":[1,2],"weights":[[[1,5e9]],[]]}`, "out of range"},
		{`{"stake":[1,2],"weights":[[],[]],"bonds":[[[1,1.5]],[]]}`, "above 1"},
		{`{"stake":[1],"weights":[[]],"kappa":2}`, "kappa 2 must be in [0, 1]"},
		{`{"stake":[1],"weights":[[]],"bonds_moving_average":1.1}`, "bonds_moving_average"},
		{`{"stake":[1],"weights":[[]],"alpha_low":0.95}`, "alpha_low 0.95 must not exceed alpha_high 0.9"},
		{`{"stake":[1],"weights":[[]],"max_validators":-1}`, "max_validators"},
		{`{"stake":[1],"weights":[[]],"block":5,"last_update":[6]}`, "last_update[0] = 6 is after block 5"},
		{`{"stake":[1],"weights":[[]],"block":5,"registered_at":[6]}`, "registered_at[0] = 6 is after block 5"},
		{`{"stake":[1],"weights":[[]],"block":5,"last_epoch_block":6}`, "last_epoch_block 6 is after block 5"},
		{`{"stake":[1],"weights":[[]],"active":[true],"activity_cutoff":5}`, "either active or activity_cutoff"},
		{`{"stake":[1],"weights":[[]],"active":[null]}`, "active[0]: null"},
		{`{"stake":[null],"weights":[[]]}`, "stake[0]"},
		{`{"stake":[1],"weights":[[]],"kapa":0.5}`, `unknown field "kapa"`},
		{`{"stake":[1],"weights":[[]]} {}`, "data after the scenario object"},
		{`{"stake":[1],"weights":[[]]`, "invalid JSON"},
		{`{"stake":"1","weights":[[]]}`, "invalid JSON"},
		{`[]`, "invalid JSON"},
		{``, "invalid JSON"},
	}
	for _, c := range cases {
		_, err := DecodeScenario([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s\n  err: %v\n want: %q", c.json, err, c.want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "scenario: ") {
			t.Errorf("error %q lacks the scenario prefix", err)
		}
	}
	if _, err := Simulate([]byte(`{"stake":[1,2],"weights":[[[2,1]],[]]}`)); err == nil {
		t.Error("Simulate accepted a bad scenario")
	}
}

func TestEncodeOutputShape(t *testing.T) {
	res, err := EncodeOutput(Output{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"consensus":[],"incentive":[],"dividends":[],"validator_trust":[],"bonds":[],"miner_emission":[],"validator_emission":[],"unallocated":0,"stake_fallback":false,"active_stake":[],"next_validator_permit":[]}`
	if string(res) != want {
		t.Fatalf("got %s", res)
	}
	res, err = Simulate([]byte(`{"stake":[3000,1000,0,0,0],"weights":[[[2,1],[3,1]],[[2,1],[4,1]],[],[],[]]}`))
	if err != nil {
		t.Fatal(err)
	}
	// The worked example of docs/yuma.md, verbatim.
	want = `{"consensus":[0,0,0.5,0.5,0],"incentive":[0,0,0.571428571,0.428571428,0],` +
		`"dividends":[0.882352941,0.117647059,0,0,0],"validator_trust":[1,0.5,0,0,0],` +
		`"bonds":[[[2,0.05],[3,0.05]],[[2,0.05]],[],[],[]],` +
		`"miner_emission":[0,0,285714,214286,0],"validator_emission":[441176,58824,0,0,0],` +
		`"unallocated":0,"stake_fallback":false,"active_stake":[0.75,0.25,0,0,0],` +
		`"next_validator_permit":[true,true,false,false,false]}`
	if string(res) != want {
		t.Fatalf("got\n%s\nwant\n%s", res, want)
	}
}

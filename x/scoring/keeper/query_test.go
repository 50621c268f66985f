package keeper_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meritnet/merit/testutil/keepertest"
	"github.com/meritnet/merit/x/scoring/types"
	subnettypes "github.com/meritnet/merit/x/subnet/types"
)

func TestSimulateQuery(t *testing.T) {
	f := keepertest.New(t)
	scenario, err := os.ReadFile("../yuma/testdata/example_scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.ScoringQuery.Simulate(f.Ctx, &types.QuerySimulateRequest{Scenario: string(scenario)})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal([]byte(res.Result), &out); err != nil {
		t.Fatalf("result is not JSON: %v", err)
	}
	for _, k := range []string{"consensus", "incentive", "dividends", "validator_trust", "bonds", "miner_emission", "validator_emission"} {
		if _, ok := out[k]; !ok {
			t.Errorf("result misses %q", k)
		}
	}
	for _, bad := range []string{`{"stake":[1,2],"weights":[[[5,1]],[]]}`, `{"stake":[-1],"weights":[[]]}`, `not json`, `{"stake":[1],"weights":[[]],"active":[true,false]}`} {
		_, err := f.ScoringQuery.Simulate(f.Ctx, &types.QuerySimulateRequest{Scenario: bad})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("scenario %s: got %v, want InvalidArgument", bad, err)
		}
	}
}

func TestScoringGenesisRoundTrip(t *testing.T) {
	n := newNet(t, true, nil)
	if _, err := n.commit(0, []uint32{2}, []uint32{7}, []byte("s")); err != nil {
		t.Fatal(err)
	}
	// Bonds from an epoch with weights, with commit-reveal off for a moment.
	n.f.EditHyperparams(n.netuid, n.owner, func(h *subnettypes.Hyperparams) { h.CommitRevealEnabled = false })
	n.f.Advance(3)
	for v := 0; v < 2; v++ {
		if err := n.setWeights(v, []uint32{2, 3}, []uint32{5, 9}); err != nil {
			t.Fatal(err)
		}
	}
	n.nextEpoch()
	exported, err := n.f.Scoring.ExportGenesis(n.f.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(exported.Weights) == 0 || len(exported.Bonds) == 0 || len(exported.Commits) == 0 || len(exported.Epochs) == 0 {
		t.Fatalf("export misses state: %+v", exported)
	}
	g := keepertest.New(t)
	if err := g.Scoring.InitGenesis(g.Ctx, exported); err != nil {
		t.Fatal(err)
	}
	again, err := g.Scoring.ExportGenesis(g.Ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := exported.Marshal()
	b, _ := again.Marshal()
	if !bytes.Equal(a, b) {
		t.Fatal("scoring genesis differs after import")
	}
}

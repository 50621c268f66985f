package sim_test

import (
	"os"
	"strings"
	"testing"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/x/emission/sim"
)

func load(t *testing.T) sim.Scenario {
	t.Helper()
	f, err := os.Open("testdata/two_subnets.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc, err := sim.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func num(t *testing.T, s string) sdkmath.Int {
	v, ok := sdkmath.NewIntFromString(s)
	if !ok {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

// TestPayingSubnetGainsShare: with equal stake, the subnet whose users pay
// takes a revenue part and a larger share while they pay; both subnets'
// epochs pay out; what was issued is accounted for.
func TestPayingSubnetGainsShare(t *testing.T) {
	sc := load(t)
	sc.Blocks = 1000
	res, err := sim.Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	paid, unused := res.Subnets[0], res.Subnets[1]
	if !num(t, paid.RevenuePart).IsPositive() || !num(t, unused.RevenuePart).IsZero() {
		t.Fatalf("revenue parts %s / %s", paid.RevenuePart, unused.RevenuePart)
	}
	if paid.FinalShareBps <= 5_000 || paid.Epochs != 10 || unused.Epochs != 10 {
		t.Fatalf("paying subnet share %d bps, epochs %d/%d", paid.FinalShareBps, paid.Epochs, unused.Epochs)
	}
	if paid.Miner[1] <= paid.Miner[2] || paid.Miner[1] == 0 {
		t.Fatalf("miner payouts %v do not follow the weights", paid.Miner)
	}
	t.Logf("share while paying: %d bps; stake part %s, revenue part %s", paid.FinalShareBps, paid.StakePart, paid.RevenuePart)
	// After the users stop, the revenue part decays and the shares return to even.
	sc.Blocks = 2000
	res, _ = sim.Run(sc)
	if s := res.Subnets[0].FinalShareBps; s > 5_010 {
		t.Fatalf("share 1000 blocks after the payments stopped: %d bps", s)
	}
}

func TestRevenueWeightingOff(t *testing.T) {
	sc := load(t)
	off := uint32(0)
	sc.Emission = &sim.EmissionParams{RevenueShareMaxBps: &off}
	res, err := sim.Run(sc)
	if err != nil {
		t.Fatal(err)
	}
	if !num(t, res.Subnets[0].RevenuePart).IsZero() || res.Subnets[0].FinalShareBps != 5_000 {
		t.Fatalf("with revenue weighting off: %+v", res.Subnets[0])
	}
}

func TestBadScenarios(t *testing.T) {
	for _, bad := range []string{
		`{"blocks": 0, "subnets": [{"validators": [{"stake": 1}], "miners": 1}]}`,
		`{"blocks": 10, "subnets": []}`,
		`{"blocks": 10, "subnets": [{"validators": [], "miners": 1}]}`,
		`{"blocks": 10, "subnets": [{"validators": [{"stake": 1, "weights": {"7": 1}}], "miners": 1}]}`,
		`{"blocks": 10, "subnets": [{"validators": [{"stake": 1}], "miners": 1}], "typo": 1}`,
		`{"blocks": 10, "burn_bps": 9000, "gateway_fee_bps": 2000, "subnets": [{"validators": [{"stake": 1}], "miners": 1}]}`,
	} {
		sc, err := sim.Decode(strings.NewReader(bad))
		if err == nil {
			_, err = sim.Run(sc)
		}
		if err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

package types_test

import (
	"slices"
	"testing"

	"github.com/meritnet/merit/x/payment/types"
)

// TestAllowedListGrace: a gateway the payer removes keeps settling until
// the deadline, removals within a grace add up, and the list stays bounded.
func TestAllowedListGrace(t *testing.T) {
	const grace, max = 100, 3
	may := func(a types.Account, gw string, h int64) bool { return a.MaySettle(gw, h) }

	// Every gateway allowed, then only A: B served while allowed, so B
	// (any gateway) may settle until the deadline, not after; A always.
	var a types.Account
	a.SetAllowedGateways([]string{"A"}, 10, 10+grace, max)
	if !a.Allows("A") || a.Allows("B") {
		t.Fatal("the new list is not in force")
	}
	if !may(a, "B", 10+grace) || may(a, "B", 11+grace) || !may(a, "A", 1_000) || !a.RevokedAny {
		t.Fatalf("grace after leaving an open list: %+v", a)
	}

	// [A B] → [A] → [C] within the grace: A and B may both settle until
	// the second deadline.
	a = types.Account{AllowedGateways: []string{"A", "B"}}
	a.SetAllowedGateways([]string{"A"}, 10, 10+grace, max)
	if !slices.Equal(a.RevokedGateways, []string{"B"}) || a.RevokedAny {
		t.Fatalf("revoked %v any %v, want [B]", a.RevokedGateways, a.RevokedAny)
	}
	a.SetAllowedGateways([]string{"C"}, 50, 50+grace, max)
	for _, gw := range []string{"A", "B"} {
		if !may(a, gw, 50+grace) || may(a, gw, 51+grace) {
			t.Fatalf("%s: grace %+v", gw, a)
		}
	}
	if may(a, "D", 60) {
		t.Fatal("a gateway never allowed may settle")
	}

	// Re-adding a gateway takes it off the revoked list, and a change that
	// removes no one keeps the running deadline.
	a.SetAllowedGateways([]string{"C", "B"}, 60, 60+grace, max)
	if !slices.Equal(a.RevokedGateways, []string{"A"}) || a.RevokedUntil != 50+grace {
		t.Fatalf("revoked %v until %d, want [A] until %d", a.RevokedGateways, a.RevokedUntil, 50+grace)
	}
	a.SetAllowedGateways([]string{"C", "B"}, 70, 70+grace, max)
	if a.RevokedUntil != 50+grace {
		t.Fatalf("setting the same list moved the deadline to %d", a.RevokedUntil)
	}

	// After the grace, an earlier removal no longer counts.
	a.SetAllowedGateways([]string{"C"}, 1_000, 1_000+grace, max)
	if !slices.Equal(a.RevokedGateways, []string{"B"}) || may(a, "A", 1_000) {
		t.Fatalf("an expired revocation came back: %+v", a)
	}

	// More removals than max within a grace: any gateway, bounded list.
	a = types.Account{AllowedGateways: []string{"A", "B", "C"}}
	a.SetAllowedGateways([]string{"D", "E", "F"}, 10, 10+grace, max)
	a.SetAllowedGateways([]string{"G"}, 11, 11+grace, max)
	if !a.RevokedAny || len(a.RevokedGateways) != 0 || !may(a, "A", 11+grace) || !may(a, "E", 11+grace) {
		t.Fatalf("over max: %+v", a)
	}

	// Back to an open list: nothing to settle by a deadline.
	a.SetAllowedGateways(nil, 20, 20+grace, max)
	if a.RevokedAny || a.RevokedGateways != nil || a.RevokedUntil != 0 || !a.Allows("Z") {
		t.Fatalf("open list kept a grace: %+v", a)
	}

	// Adding a gateway revokes nothing.
	a = types.Account{AllowedGateways: []string{"A"}}
	a.SetAllowedGateways([]string{"A", "B"}, 10, 10+grace, max)
	if a.RevokedUntil != 0 || a.RevokedAny || len(a.RevokedGateways) != 0 {
		t.Fatalf("an addition revoked: %+v", a)
	}
}

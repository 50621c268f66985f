package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	sdkmath "cosmossdk.io/math"

	"github.com/meritnet/merit/validator/billing"
	paymenttypes "github.com/meritnet/merit/x/payment/types"
)

// TestUsageReadsTheLedger: `usage` shows what a gateway's ledger holds,
// as a table and as JSON, without a node.
func TestUsageReadsTheLedger(t *testing.T) {
	home := t.TempDir()
	l, err := billing.OpenLedger(home)
	if err != nil {
		t.Fatal(err)
	}
	m := billing.NewMeter(l)
	m.SetBook(billing.NewBook([]paymenttypes.Account{{Id: 5, Netuid: 1, KeyHash: strings.Repeat("ab", 32),
		Balance: sdkmath.NewInt(1_000_000), SpendLimitPerEpoch: sdkmath.ZeroInt(), EpochSpent: sdkmath.ZeroInt()}}, 1, "gw", 2_000_000, 0, 3))
	// The key whose sha256 is "abab…" is unknown; settle counters directly.
	if err := m.SetSettled(paymenttypes.Settlement{AccountId: 5, Tokens: 300, Requests: 2, Charged: sdkmath.NewInt(600), Shortfall: sdkmath.ZeroInt(), UpdatedAt: 4}); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()

	var out bytes.Buffer
	app := NewAppWithDialer(nil)
	app.Writer = &out
	if err := app.Run([]string{"merit-validator", "usage", "--home", home}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "account") || !strings.Contains(out.String(), "600") {
		t.Fatalf("table:\n%s", out.String())
	}
	out.Reset()
	if err := app.Run([]string{"merit-validator", "usage", "--home", home, "-o", "json"}); err != nil {
		t.Fatal(err)
	}
	var r UsageReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || len(r.Accounts) != 1 || r.Totals.Charged != 600 || r.Totals.Tokens != 300 {
		t.Fatalf("%v %s", err, out.String())
	}
	if err := app.Run([]string{"merit-validator", "usage", "--home", t.TempDir()}); err == nil || !strings.Contains(err.Error(), "no usage ledger") {
		t.Fatalf("empty home: %v", err)
	}
}

package localnet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meritnet/merit/internal/localnet"
)

func TestStartQueryRestart(t *testing.T) {
	c := localnet.Start(t, localnet.Options{Accounts: []string{"alice"}})
	out, err := c.Exec("q", "bank", "balances", c.Address("alice"), "--output", "json")
	if err != nil || !strings.Contains(out, "1000000000000") {
		t.Fatalf("alice balance: %v %s", err, out)
	}
	h, err := c.Height()
	if err != nil {
		t.Fatal(err)
	}
	c.Restart(30 * time.Second)
	c.WaitHeight(h+2, 30*time.Second)
}

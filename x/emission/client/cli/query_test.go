package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/meritnet/merit/x/emission/sim"
)

// TestSimulateNeedsNoNode runs the command as a user would, with no node.
func TestSimulateNeedsNoNode(t *testing.T) {
	for _, args := range [][]string{
		{"--file", "../../sim/testdata/two_subnets.json", "--blocks", "300"},
		{"--file", "../../sim/testdata/two_subnets.json", "--blocks", "300", "--output", "json"},
	} {
		cmd := SimulateCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if args[len(args)-1] == "json" {
			var res sim.Result
			if err := json.Unmarshal(out.Bytes(), &res); err != nil || res.Blocks != 300 || len(res.Subnets) != 2 {
				t.Fatalf("json output: %v %s", err, out.String())
			}
		} else if !strings.Contains(out.String(), "300 blocks") || !strings.Contains(out.String(), "paid") {
			t.Fatalf("text output:\n%s", out.String())
		}
	}
	cmd := SimulateCmd()
	cmd.SetArgs(nil)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--file") {
		t.Fatalf("no --file: %v", err)
	}
}

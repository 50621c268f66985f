package cli_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/meritnet/merit/x/scoring/client/cli"
	"github.com/meritnet/merit/x/scoring/yuma"
)

const example = "../../yuma/testdata/example_scenario.json"

// runSimulate executes the simulate command as the CLI would, with no node
// and no client context.
func runSimulate(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := cli.SimulateCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// The one-epoch simulation is pure computation: it must run without a node
// and print exactly what the chain's code computes.
func TestSimulateRunsWithoutANode(t *testing.T) {
	scenario, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	want, err := yuma.Simulate(scenario)
	if err != nil {
		t.Fatal(err)
	}
	got, err := runSimulate(t, "", "--file", example, "--output", "json")
	if err != nil {
		t.Fatalf("simulate without a node: %v", err)
	}
	if got != string(want)+"\n" {
		t.Fatalf("--output json printed\n%s\nwant\n%s", got, want)
	}

	// Standard input, default (text) output: the same JSON, indented, which
	// is the pinned example output of docs/yuma.md.
	got, err = runSimulate(t, string(scenario), "--file", "-")
	if err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("../../yuma/testdata/example_output.json")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(golden) {
		t.Fatalf("text output\n%s\nwant\n%s", got, golden)
	}
}

func TestSimulateErrors(t *testing.T) {
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", nil, "--file is required"},
		{"", []string{"--file", "/nonexistent/scenario.json"}, "read scenario"},
		{`{"stake": [1, 2], "weights": [[]]}`, []string{"--file", "-"}, "scenario: weights has 1 rows, stake has 2"},
		{`{"stake": [1], "weights": [[]], "kapa": 1}`, []string{"--file", "-"}, `unknown field "kapa"`},
	} {
		_, err := runSimulate(t, c.stdin, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

// --node sends the scenario to that node instead: with nothing listening
// there, the command fails (rather than quietly computing locally).
func TestSimulateOnNodeUsesTheNode(t *testing.T) {
	_, err := runSimulate(t, "", "--file", example, "--node", "tcp://127.0.0.1:1")
	if err == nil {
		t.Fatal("simulate --node with no node there succeeded")
	}
	if strings.Contains(err.Error(), "scenario") {
		t.Fatalf("error %v comes from local decoding, not from the node", err)
	}
}

func TestSimulateHelp(t *testing.T) {
	cmd := cli.SimulateCmd()
	if f := cmd.Flags().Lookup("node"); f == nil || f.DefValue != "" || !strings.Contains(f.Usage, "instead of locally") {
		t.Fatalf("--node flag: %+v", f)
	}
	if f := cmd.Flags().Lookup("height"); f == nil || !f.Hidden {
		t.Fatal("--height should be hidden: the simulation reads no state")
	}
}

package cmd

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// execute runs meritd in-process with a throwaway home.
func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root, err := NewRootCmdFor(args)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--home", t.TempDir()))
	err = svrcmd.Execute(root, "MERIT", t.TempDir())
	return out.String(), err
}

func TestPositionalArgumentErrorNamesTheArgument(t *testing.T) {
	addr := sdk.AccAddress(make([]byte, 20)).String()
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"q", "scoring", "weights", "1", "merit1qqqq"}, []string{`argument 2 [uid]: "merit1qqqq" is not a non-negative integer`, "usage: meritd query scoring weights [netuid] [uid]"}},
		{[]string{"q", "subnet", "neuron", "1", "abc"}, []string{`argument 2 [uid]: "abc" is not a non-negative integer`}},
		{[]string{"q", "subnet", "subnet", "99999999999"}, []string{`argument 1 [netuid]: "99999999999" is out of range`}},
		{[]string{"tx", "subnet", "add-stake", "x", addr, "5", "--from", addr, "--generate-only"}, []string{`argument 1 [netuid]: "x" is not a non-negative integer`}},
		{[]string{"q", "scoring", "weights", "1"}, []string{"accepts 2 arg(s), received 1", "usage: meritd query scoring weights [netuid] [uid]"}},
	} {
		_, err := execute(t, tc.args...)
		if err == nil {
			t.Fatalf("%v: no error", tc.args)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not contain %q", tc.args, err, w)
			}
		}
		if strings.Contains(err.Error(), `"--`) {
			t.Errorf("%v: error still names a positional flag: %q", tc.args, err)
		}
	}
}

func TestArgNames(t *testing.T) {
	for use, want := range map[string]string{
		"weights [netuid] [uid]":                    "netuid,uid",
		"send <from> <to> <amount>":                 "from,to,amount",
		"commit-weights [netuid] [uids]... [flags]": "netuid,uids",
		"params": "",
	} {
		if got := strings.Join(argNames(use), ","); got != want {
			t.Errorf("argNames(%q) = %q, want %q", use, got, want)
		}
	}
}

// TestLightTreeMatchesFull guards the start-up shortcut: a command served by
// the tree without modules must be the same command as in the full tree.
func TestLightTreeMatchesFull(t *testing.T) {
	full, err := NewRootCmd()
	if err != nil {
		t.Fatal(err)
	}
	for name := range lightCommands {
		light, err := NewRootCmdFor([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		lc, _, err := light.Find([]string{name})
		if err != nil || lc == light {
			t.Fatalf("light tree has no %q", name)
		}
		fc, _, err := full.Find([]string{name})
		if err != nil || fc == full {
			t.Fatalf("full tree has no %q", name)
		}
		if a, b := signature(lc), signature(fc); a != b {
			t.Errorf("%s differs between the light and the full tree:\nlight:\n%s\nfull:\n%s", name, a, b)
		}
	}
	for _, args := range [][]string{{"tx"}, {"q", "subnet"}, {"--home", "x", "keys"}, {"help"}, {}} {
		if !needsModules(args) {
			t.Errorf("needsModules(%q) = false", args)
		}
	}
}

// signature lists a command tree's paths and flags.
func signature(c *cobra.Command) string {
	var lines []string
	walk(c, func(c *cobra.Command) {
		var fl []string
		c.Flags().VisitAll(func(f *pflag.Flag) { fl = append(fl, f.Name+"="+f.DefValue) })
		sort.Strings(fl)
		lines = append(lines, fmt.Sprintf("%s %v", c.CommandPath(), fl))
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

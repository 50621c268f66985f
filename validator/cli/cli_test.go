package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/chain"
	"github.com/meritnet/merit/validator"
)

// The run action is replaced by one that records the resolved flags:
// command line > MERIT_* environment > config file > defaults.
func TestConfigFilePrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "v.yaml")
	if err := os.WriteFile(cfg, []byte("netuid: 3\nprobe-interval: 7s\nspot-check: 0.5\nhotkey: fromfile\nlisten: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got struct {
		netuid  uint
		iv      time.Duration
		spot    float64
		hotkey  string
		listen  string
		timeout time.Duration
	}
	app := NewAppWithDialer(nil)
	for _, c := range app.Commands {
		if c.Name == "run" {
			c.Action = func(c *cli.Context) error {
				got.netuid, got.iv, got.spot = c.Uint("netuid"), c.Duration("probe-interval"), c.Float64("spot-check")
				got.hotkey, got.listen, got.timeout = c.String("hotkey"), c.String("listen"), c.Duration("probe-timeout")
				return nil
			}
		}
	}
	t.Setenv("MERIT_SPOT_CHECK", "0.25")
	if err := app.Run([]string{"merit-validator", "run", "--config", cfg, "--hotkey", "cli"}); err != nil {
		t.Fatal(err)
	}
	if got.netuid != 3 || got.iv != 7*time.Second || got.spot != 0.25 || got.hotkey != "cli" || got.listen != "" || got.timeout != 20*time.Second {
		t.Fatalf("%+v", got)
	}
	if err := os.WriteFile(cfg, []byte("netuidd: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := app.Run([]string{"merit-validator", "run", "--config", cfg}); err == nil || !strings.Contains(err.Error(), "unknown setting") {
		t.Fatalf("typo accepted: %v", err)
	}
}

func TestRunNeedsHotkey(t *testing.T) {
	app := NewAppWithDialer(func(context.Context, chain.Config) (chain.Chain, error) { return nil, errors.New("unused") })
	var out bytes.Buffer
	app.ErrWriter = &out
	err := app.Run([]string{"merit-validator", "run", "--home", t.TempDir(), "--listen", ""})
	if err == nil || !strings.Contains(err.Error(), "--hotkey is required") {
		t.Fatalf("%v", err)
	}
}

func TestStatusOffline(t *testing.T) {
	home := t.TempDir()
	if err := validator.SaveState(home, &validator.SavedState{Netuid: 1, Hotkey: "merit1abc", Round: 9, Scores: []validator.MinerScore{{UID: 2, Hotkey: "merit1m", Score: 0.75, LastResult: "ok"}}}); err != nil {
		t.Fatal(err)
	}
	app := NewAppWithDialer(func(context.Context, chain.Config) (chain.Chain, error) { return nil, errors.New("node down") })
	var out bytes.Buffer
	app.Writer = &out
	// No keyring: the saved state names the hotkey.
	if err := app.Run([]string{"merit-validator", "status", "--home", home, "--keyring-backend", "test", "--hotkey", "nobody"}); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"merit1abc", "unreachable: node down", "round 9", "0.7500"} {
		if !strings.Contains(s, want) {
			t.Errorf("status lacks %q:\n%s", want, s)
		}
	}
	out.Reset()
	if err := app.Run([]string{"merit-validator", "weights", "show", "--home", home, "--keyring-backend", "test", "--hotkey", "nobody", "-o", "json"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"weight": 65535`) {
		t.Fatalf("weights show:\n%s", out.String())
	}
}

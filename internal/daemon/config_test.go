package daemon

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The precedence is command line > MERIT_* environment > file > default.
func TestConfigFilePrecedence(t *testing.T) {
	cfg := writeFile(t, "d.yaml", "hotkey: file\nnetuid: 3\nlisten: \"\"\nchain-id: from-file\nallow: [a, b]\noutput: json\n")
	t.Setenv("MERIT_CHAIN_ID", "from-env")
	c, err := run(t, "serve", "--config", cfg, "--hotkey", "cli")
	if err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{
		FlagHotkey: "cli", "listen": "", FlagChainID: "from-env", FlagGRPC: "127.0.0.1:9090",
	} {
		if got := c.String(flag); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
	if c.Uint(FlagNetuid) != 3 {
		t.Errorf("--netuid = %d", c.Uint(FlagNetuid))
	}
	if got := c.StringSlice("allow"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("--allow = %v", got)
	}
	// status has no listen or allow: serve's keys in the shared file are skipped.
	if c, err = run(t, "status", "--config", cfg); err != nil || c.String("output") != "json" {
		t.Fatalf("status: %v", err)
	}
}

func TestConfigFileJSON(t *testing.T) {
	cfg := writeFile(t, "d.json", `{"netuid": 1048576, "hotkey": "h", "listen": "0.0.0.0:1"}`)
	c, err := run(t, "serve", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.Uint(FlagNetuid) != 1048576 || c.String(FlagHotkey) != "h" {
		t.Fatalf("netuid %d hotkey %q", c.Uint(FlagNetuid), c.String(FlagHotkey))
	}
}

func TestConfigFileRefusals(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"typo.yaml", "hotkee: x\n", `unknown setting "hotkee" (keys are merit-test flag names`},
		{"self.yaml", "config: other.yaml\n", `"config" cannot be set inside a config file`},
		{"list.yaml", "hotkey: [a, b]\n", "hotkey takes one value, got a list"},
		{"null.yaml", "listen:\n", "listen: empty value"},
		{"map.yaml", "listen: {a: 1}\n", "is not a string, number, boolean or list"},
		{"bad.yaml", "listen: [\n", "--config"},
		{"d.toml", "listen = 1\n", "unknown format"},
		{"netuid.yaml", "netuid: many\n", "netuid"},
	} {
		_, err := run(t, "serve", "--config", writeFile(t, tc.name, tc.content))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := run(t, "serve", "--config", filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing config file was accepted")
	}
}

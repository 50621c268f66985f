package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/meritnet/merit/client/identity"
)

// testKeyring makes a test-backend keyring in a new directory holding key name.
func testKeyring(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	kr, err := identity.Open(identity.BackendTest, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := kr.NewMnemonic(name, keyring.English, sdk.FullFundraiserPath, "", hd.Secp256k1); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadHotkey(t *testing.T) {
	dir := testKeyring(t, "hot")
	load := func(args ...string) (*identity.Identity, error) {
		t.Helper()
		c, err := run(t, append([]string{"status", "--keyring-backend", "test"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return LoadHotkey(c, identity.WithCachedKey())
	}
	if id, err := load("--keyring-dir", dir, "--hotkey", "hot"); err != nil || id.Name() != "hot" {
		t.Fatalf("--keyring-dir: %v", err)
	}
	// Without --keyring-dir the keyring is in --home.
	if _, err := load("--home", dir, "--hotkey", "hot"); err != nil {
		t.Fatalf("--home: %v", err)
	}
	if _, err := load("--keyring-dir", dir); err == nil || !strings.Contains(err.Error(), "--hotkey is required: the name of merit-test's key") {
		t.Errorf("no hotkey: %v", err)
	}
	if _, err := load("--keyring-dir", dir, "--hotkey", "cold"); err == nil ||
		!strings.Contains(err.Error(), "meritd keys add cold --keyring-backend test --keyring-dir "+dir) {
		t.Errorf("missing key: %v", err)
	}
}

func TestOpenKeyringPassphrase(t *testing.T) {
	c, err := run(t, "status", "--keyring-backend", "file", "--keyring-dir", t.TempDir(),
		"--keyring-passphrase-file", filepath.Join(t.TempDir(), "missing"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenKeyring(c); err == nil || !strings.Contains(err.Error(), "--keyring-passphrase-file") {
		t.Errorf("missing passphrase file: %v", err)
	}
	pass := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pass, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = run(t, "status", "--keyring-backend", "file", "--keyring-dir", t.TempDir(), "--keyring-passphrase-file", pass); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenKeyring(c); err != nil {
		t.Errorf("file keyring with a passphrase file: %v", err)
	}
}

func TestExpandHome(t *testing.T) {
	t.Setenv("HOME", "/home/op")
	for in, want := range map[string]string{"~": "/home/op", "~/.merit": "/home/op/.merit", "/abs": "/abs", "rel/~": "rel/~", "~x": "~x"} {
		if got, err := ExpandHome(in); err != nil || got != want {
			t.Errorf("ExpandHome(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meritnet/merit/x/payment/types"
)

func TestAPIKeys(t *testing.T) {
	k1, h1, err := NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _, _ := NewAPIKey()
	if k1 == k2 || !strings.HasPrefix(k1, APIKeyPrefix) || len(k1) != len(APIKeyPrefix)+48 {
		t.Fatalf("keys %q %q", k1, k2)
	}
	if h1 != HashAPIKey(k1) || types.ValidateKeyHash(h1) != nil {
		t.Fatalf("hash %q of %q", h1, k1)
	}
	// The same digest as `printf %s KEY | sha256sum`.
	if got := HashAPIKey("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("sha256(abc) = %s", got)
	}
}

func TestKeyFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte("sk-merit-mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte(" \n"), 0o600)
	for _, tc := range []struct {
		args     []string
		required bool
		hash     string
		err      string
	}{
		{[]string{"--key-file", file}, true, HashAPIKey("sk-merit-mine"), ""},
		{[]string{"--new-key", "--key-file", file}, true, "", "exclude each other"},
		{nil, true, "", "give --new-key"},
		{nil, false, "", ""},
		{[]string{"--key-file", empty}, true, "", "is empty"},
		{[]string{"--key-file", filepath.Join(dir, "missing")}, true, "", "no such file"},
	} {
		cmd := OpenAccountCmd()
		if err := cmd.Flags().Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		key, hash, err := keyFromFlags(cmd, tc.required)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || hash != tc.hash || key != "" {
			t.Errorf("%v: %q %q %v", tc.args, key, hash, err)
		}
	}
	cmd := OpenAccountCmd()
	_ = cmd.Flags().Parse([]string{"--new-key"})
	if key, hash, err := keyFromFlags(cmd, true); err != nil || HashAPIKey(key) != hash {
		t.Fatalf("--new-key: %q %q %v", key, hash, err)
	}
}

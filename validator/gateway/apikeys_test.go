package gateway

import (
	"path/filepath"
	"testing"

	"github.com/meritnet/merit/validator/internal/validatortest"
)

func TestAPIKeysFile(t *testing.T) {
	p := validatortest.KeysFile(t, "alice "+testKey+"\n\n# comment\nsk-second-key-abcdefghij\n")
	k, err := LoadAPIKeys(p)
	if err != nil || k.Len() != 2 {
		t.Fatal(err)
	}
	if name, ok := k.Check(testKey); !ok || name != "alice" {
		t.Fatal(name, ok)
	}
	if _, ok := k.Check("sk-second-key-abcdefghij"); !ok {
		t.Fatal("second key")
	}
	if _, ok := k.Check(""); ok {
		t.Fatal("empty key accepted")
	}
	for _, bad := range []string{"short\n", "a b c\n"} {
		if _, err := LoadAPIKeys(validatortest.KeysFile(t, bad)); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
	if _, err := LoadAPIKeys(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}

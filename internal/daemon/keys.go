package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/identity"
)

// ExpandHome turns a leading ~ into the user's home directory, as a shell
// would: paths in config files and systemd units reach the daemon
// unexpanded.
func ExpandHome(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand %s: %w", p, err)
		}
		return filepath.Join(h, strings.TrimPrefix(p, "~")), nil
	}
	return p, nil
}

// HomeDir is --home with a leading ~ expanded.
func HomeDir(c *cli.Context) (string, error) {
	return ExpandHome(c.String(FlagHome))
}

// OpenKeyring opens the keyring the flags name and returns it with its
// directory (--keyring-dir, else --home). The passphrase comes from
// --keyring-passphrase-file or MERIT_KEYRING_PASSPHRASE, never from a
// prompt: a daemon must not hang waiting on a terminal.
func OpenKeyring(c *cli.Context) (keyring.Keyring, string, error) {
	dir := c.String(FlagKeyringDir)
	if dir == "" {
		dir = c.String(FlagHome)
	}
	dir, err := ExpandHome(dir)
	if err != nil {
		return nil, "", err
	}
	var opts []identity.Option
	if p := c.String(FlagKeyringPassphrase); p != "" {
		if p, err = ExpandHome(p); err != nil {
			return nil, "", fmt.Errorf("--%s: %w", FlagKeyringPassphrase, err)
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, "", fmt.Errorf("--%s: %w", FlagKeyringPassphrase, err)
		}
		defer f.Close() // identity.Open reads the passphrase before returning
		opts = append(opts, identity.WithPassphraseReader(f))
	} else if p, ok := os.LookupEnv(EnvKeyringPassphrase); ok {
		opts = append(opts, identity.WithPassphrase(p))
	}
	kr, err := identity.Open(c.String(FlagKeyringBackend), dir, opts...)
	if errors.Is(err, identity.ErrPassphraseRequired) {
		return nil, "", fmt.Errorf("%w: pass --%s FILE or set %s", err, FlagKeyringPassphrase, EnvKeyringPassphrase)
	}
	if err != nil {
		return nil, "", err
	}
	return kr, dir, nil
}

// LoadHotkey loads --hotkey from the keyring of the flags. A daemon that
// signs often passes identity.WithCachedKey(): the file keyring would
// otherwise spend ~5 ms decrypting the key for each signature.
func LoadHotkey(c *cli.Context, opts ...identity.LoadOption) (*identity.Identity, error) {
	name := c.String(FlagHotkey)
	if name == "" {
		return nil, fmt.Errorf("--%s is required: the name of %s's key in the keyring (create one with `meritd keys add NAME`)",
			FlagHotkey, c.App.Name)
	}
	kr, dir, err := OpenKeyring(c)
	if err != nil {
		return nil, err
	}
	id, err := identity.Load(kr, name, opts...)
	if errors.Is(err, identity.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w; create it with `meritd keys add %s --keyring-backend %s --keyring-dir %s` or check --%s/--%s",
			err, name, c.String(FlagKeyringBackend), dir, FlagKeyringBackend, FlagKeyringDir)
	}
	return id, err
}

package miner

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

// homeDir is --home with a leading ~ expanded.
func homeDir(c *cli.Context) (string, error) {
	return expandHome(c.String(flagHome))
}

func expandHome(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("expand %s: %w", p, err)
		}
		return filepath.Join(h, strings.TrimPrefix(p, "~")), nil
	}
	return p, nil
}

// openKeyring opens the keyring the flags name. The passphrase comes from
// --keyring-passphrase-file or MERIT_KEYRING_PASSPHRASE, never from a
// prompt: a daemon must not hang waiting on a terminal.
func openKeyring(c *cli.Context) (keyring.Keyring, string, error) {
	dir := c.String(flagKeyringDir)
	if dir == "" {
		var err error
		if dir, err = homeDir(c); err != nil {
			return nil, "", err
		}
	} else {
		var err error
		if dir, err = expandHome(dir); err != nil {
			return nil, "", err
		}
	}
	backend := c.String(flagKeyringBackend)
	var opts []identity.Option
	if p := c.String(flagKeyringPassphrase); p != "" {
		f, err := os.Open(p)
		if err != nil {
			return nil, "", fmt.Errorf("--%s: %w", flagKeyringPassphrase, err)
		}
		defer f.Close()
		opts = append(opts, identity.WithPassphraseReader(f))
	} else if p, ok := os.LookupEnv(envKeyringPassphrase); ok {
		opts = append(opts, identity.WithPassphrase(p))
	}
	kr, err := identity.Open(backend, dir, opts...)
	if errors.Is(err, identity.ErrPassphraseRequired) {
		return nil, "", fmt.Errorf("%w: pass --%s FILE or set %s", err, flagKeyringPassphrase, envKeyringPassphrase)
	}
	if err != nil {
		return nil, "", err
	}
	return kr, dir, nil
}

// loadHotkey loads --hotkey, keeping the decrypted key in memory: the miner
// signs every response, and the file keyring would otherwise spend ~5 ms
// decrypting the key for each signature.
func loadHotkey(c *cli.Context) (*identity.Identity, error) {
	name := c.String(flagHotkey)
	if name == "" {
		return nil, fmt.Errorf("--%s is required: the name of the miner's key in the keyring (create one with `meritd keys add NAME`)", flagHotkey)
	}
	kr, dir, err := openKeyring(c)
	if err != nil {
		return nil, err
	}
	id, err := identity.Load(kr, name, identity.WithCachedKey())
	if errors.Is(err, identity.ErrKeyNotFound) {
		backend := c.String(flagKeyringBackend)
		return nil, fmt.Errorf("%w; create it with `meritd keys add %s --keyring-backend %s --keyring-dir %s` or check --%s/--%s",
			err, name, backend, dir, flagKeyringBackend, flagKeyringDir)
	}
	return id, err
}

// resolveAddress accepts a merit1… address or the name of a key in the
// keyring (e.g. the owner's coldkey kept beside the hotkey).
func resolveAddress(c *cli.Context, s string) (string, error) {
	if strings.HasPrefix(s, identity.Bech32Prefix+"1") {
		if _, err := addressCodec.StringToBytes(s); err != nil {
			return "", fmt.Errorf("%q is not a valid merit address: %w", s, err)
		}
		return s, nil
	}
	kr, _, err := openKeyring(c)
	if err != nil {
		return "", err
	}
	rec, err := kr.Key(s)
	if err != nil {
		return "", fmt.Errorf("%q is neither a merit1… address nor a key in the keyring: %w", s, err)
	}
	addr, err := rec.GetAddress()
	if err != nil {
		return "", fmt.Errorf("key %q: %w", s, err)
	}
	return addressCodec.BytesToString(addr)
}

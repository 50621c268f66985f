package miner

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/identity"
	"github.com/meritnet/merit/internal/daemon"
)

// resolveAddress accepts a merit1… address or the name of a key in the
// keyring (e.g. the owner's coldkey kept beside the hotkey).
func resolveAddress(c *cli.Context, s string) (string, error) {
	if strings.HasPrefix(s, identity.Bech32Prefix+"1") {
		if _, err := addressCodec.StringToBytes(s); err != nil {
			return "", fmt.Errorf("%q is not a valid merit address: %w", s, err)
		}
		return s, nil
	}
	kr, _, err := daemon.OpenKeyring(c)
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

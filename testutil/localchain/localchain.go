// Package localchain gives tests a real single-node meritd on free loopback
// ports. It is internal/localnet under the name tests have always used;
// programs (the demo, devnetgen, the topology) import internal/localnet.
package localchain

import "github.com/meritnet/merit/internal/localnet"

type (
	// Chain is a running single-node chain.
	Chain = localnet.Chain
	// Options shape the chain.
	Options = localnet.Options
	// FundedKey is a key created and funded at genesis.
	FundedKey = localnet.FundedKey
	// Process is a started binary with its log.
	Process = localnet.Process
	// Runner satisfies TB for programs.
	Runner = localnet.Runner
	// TB is the part of testing.TB the chain needs.
	TB = localnet.TB
	// Fataler is the part of testing.TB that fails.
	Fataler = localnet.Fataler
)

// Start starts a chain; it stops when t's test ends.
func Start(t TB, o Options) *Chain { return localnet.Start(t, o) }

// Binary is a meritd built from this checkout: $MERITD_BIN when set, else
// one go build per test process.
func Binary(t Fataler) string { return localnet.Binary(t) }

// FreePort is a free loopback TCP port.
func FreePort(t Fataler) int { return localnet.FreePort(t) }

// RepoRoot is the repository's root directory.
func RepoRoot() string { return localnet.RepoRoot() }

// AddFundedKeys creates keys and funds them in genesis.
func AddFundedKeys(bin, home, keyringDir string, keys []FundedKey) (map[string]string, error) {
	return localnet.AddFundedKeys(bin, home, keyringDir, keys)
}

// SetTOML edits keys of a TOML file in place.
func SetTOML(path string, edits map[string]string) error { return localnet.SetTOML(path, edits) }

// StartProcess starts bin with args, logging to log.
func StartProcess(bin string, args []string, log string) (*Process, error) {
	return localnet.StartProcess(bin, args, log)
}

// Tail is the last n lines of the file at path.
func Tail(path string, n int) string { return localnet.Tail(path, n) }

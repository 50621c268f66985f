// Package daemon is the command-line plumbing merit-miner and
// merit-validator share: the flags every chain-facing command takes, the
// --config file, the logger, the hotkey and the chain connection. Both
// daemons are started alike by operators, scripts and the end-to-end suite,
// so these names, defaults and environment variables are one interface kept
// in one place.
package daemon

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/client/chain"
)

// Names of the common flags. Other programs start the daemons with these
// names, so they are part of the daemons' interface.
const (
	FlagConfig            = "config"
	FlagHome              = "home"
	FlagKeyringBackend    = "keyring-backend"
	FlagKeyringDir        = "keyring-dir"
	FlagKeyringPassphrase = "keyring-passphrase-file"
	FlagHotkey            = "hotkey"
	FlagNetuid            = "netuid"
	FlagGRPC              = "grpc"
	FlagRPC               = "rpc"
	FlagChainID           = "chain-id"
	FlagGasPrice          = "gas-price"
	FlagLogFormat         = "log-format"
	FlagLogLevel          = "log-level"
)

// EnvKeyringPassphrase holds the file keyring's passphrase when no
// --keyring-passphrase-file is given.
const EnvKeyringPassphrase = "MERIT_KEYRING_PASSPHRASE"

// Help categories of the common flags, so that `CMD --help` reads by topic.
// A daemon files its own chain flags (poll intervals) under CategoryChain.
const (
	CategoryKeys    = "Keys"
	CategoryChain   = "Chain"
	CategoryLogging = "Logging"
)

// EnvOf is the environment variable of a flag: MERIT_<UPPER_SNAKE>.
func EnvOf(name string) []string {
	return []string{"MERIT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

// FlagUsage is the help text of the common flags whose meaning depends on
// the daemon (what its state holds, what its hotkey signs). An empty field
// keeps a neutral text.
type FlagUsage struct {
	Home     string // --home, e.g. "miner state `DIR`; also the default keyring directory"
	Hotkey   string // --hotkey
	Netuid   string // --netuid
	GasPrice string // --gas-price
}

// CommonFlags are the flags of every command that loads the hotkey and dials
// the chain. Each call returns new flags: urfave/cli keeps parse state in a
// flag, so commands must not share one.
func CommonFlags(defaultHome string, usage FlagUsage) []cli.Flag {
	or := func(s, neutral string) string {
		if s == "" {
			return neutral
		}
		return s
	}
	return []cli.Flag{
		&cli.StringFlag{
			Name: FlagConfig, EnvVars: EnvOf(FlagConfig), TakesFile: true,
			Usage: "read flag values from a JSON (.json) or YAML (.yaml, .yml) `FILE` whose keys are flag names; " +
				"command-line flags and MERIT_* variables override it",
		},
		&cli.StringFlag{
			Name: FlagHome, EnvVars: EnvOf(FlagHome), Value: defaultHome, TakesFile: true,
			Usage: or(usage.Home, "state `DIR`; also the default keyring directory"),
		},
		&cli.StringFlag{
			Name: FlagKeyringBackend, EnvVars: EnvOf(FlagKeyringBackend), Value: "os", Category: CategoryKeys,
			Usage: "keyring `BACKEND`: os (the OS secret store), file (encrypted files, needs a passphrase) or test (unencrypted, local networks only)",
		},
		&cli.StringFlag{
			Name: FlagKeyringDir, EnvVars: EnvOf(FlagKeyringDir), TakesFile: true, Category: CategoryKeys,
			Usage: "keyring `DIR`, laid out as meritd's --keyring-dir (default: --home)",
		},
		&cli.StringFlag{
			Name: FlagKeyringPassphrase, EnvVars: EnvOf(FlagKeyringPassphrase), TakesFile: true, Category: CategoryKeys,
			Usage: "`FILE` whose first line is the passphrase of the file keyring (or set " + EnvKeyringPassphrase + ")",
		},
		&cli.StringFlag{
			Name: FlagHotkey, EnvVars: EnvOf(FlagHotkey), Category: CategoryKeys,
			Usage: or(usage.Hotkey, "`NAME` of the hotkey in the keyring (required)"),
		},
		&cli.UintFlag{
			Name: FlagNetuid, EnvVars: EnvOf(FlagNetuid), Value: 1, Category: CategoryChain,
			Usage: or(usage.Netuid, "`NETUID` of the subnet"),
		},
		&cli.StringFlag{
			Name: FlagGRPC, EnvVars: EnvOf(FlagGRPC), Value: chain.DefaultGRPCAddr, Category: CategoryChain,
			Usage: "`HOST:PORT` of a meritd gRPC server",
		},
		&cli.StringFlag{
			Name: FlagRPC, EnvVars: EnvOf(FlagRPC), Value: chain.DefaultRPCAddr, Category: CategoryChain,
			Usage: "CometBFT RPC `URL` of the same node (block stream)",
		},
		&cli.StringFlag{
			Name: FlagChainID, EnvVars: EnvOf(FlagChainID), Category: CategoryChain,
			Usage: "expected chain `ID`; refuse to run against another chain (default: whatever the node says)",
		},
		&cli.StringFlag{
			Name: FlagGasPrice, EnvVars: EnvOf(FlagGasPrice), Value: chain.DefaultGasPrice, Category: CategoryChain,
			Usage: or(usage.GasPrice, "gas `PRICE` in umerit per gas unit for transactions"),
		},
		&cli.StringFlag{
			Name: FlagLogFormat, EnvVars: EnvOf(FlagLogFormat), Value: "console", Category: CategoryLogging,
			Usage: "log `FORMAT`: console (human readable) or json (one object per line)",
		},
		&cli.StringFlag{
			Name: FlagLogLevel, EnvVars: EnvOf(FlagLogLevel), Value: "info", Category: CategoryLogging,
			Usage: "log `LEVEL`: debug, info, warn or error",
		},
	}
}

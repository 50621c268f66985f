package miner

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Flag names of the commands that talk to the chain (register, serve,
// status). Other daemons and the end-to-end suite start merit-miner with
// these names, so they are part of its interface.
const (
	flagConfig            = "config"
	flagHome              = "home"
	flagKeyringBackend    = "keyring-backend"
	flagKeyringDir        = "keyring-dir"
	flagKeyringPassphrase = "keyring-passphrase-file"
	flagHotkey            = "hotkey"
	flagNetuid            = "netuid"
	flagGRPC              = "grpc"
	flagRPC               = "rpc"
	flagChainID           = "chain-id"
	flagGasPrice          = "gas-price"
	flagLogFormat         = "log-format"
	flagLogLevel          = "log-level"
)

const (
	defaultHome = "~/.merit-miner"
	// envKeyringPassphrase holds the file keyring's passphrase when no
	// --keyring-passphrase-file is given.
	envKeyringPassphrase = "MERIT_KEYRING_PASSPHRASE"
)

// Help categories, so that `serve --help` reads by topic.
const (
	categoryKeys           = "Keys"
	categoryChain          = "Chain"
	categoryLogging        = "Logging"
	categoryModel          = "Model"
	categoryAccess         = "Access and limits"
	categoryServe          = "Serving"
	categoryRegistration   = "Registration"
	categoryStatusOutput   = "Output"
	categoryUpstreamEngine = "OpenAI-compatible upstream (--engine openai)"
	categoryTesting        = "Testing knobs (never on a real network)"
)

// envOf is the environment variable of a flag: MERIT_<UPPER_SNAKE>.
func envOf(name string) []string {
	return []string{"MERIT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
}

// nodeFlags are shared by every command that loads the hotkey and dials the
// chain.
func nodeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{
			Name: flagConfig, EnvVars: envOf(flagConfig), TakesFile: true,
			Usage: "read flag values from a JSON (.json) or YAML (.yaml, .yml) `FILE` whose keys are flag names; " +
				"command-line flags and MERIT_* variables override it",
		},
		&cli.StringFlag{
			Name: flagHome, EnvVars: envOf(flagHome), Value: defaultHome, TakesFile: true,
			Usage: "miner state `DIR`; also the default keyring directory",
		},
		&cli.StringFlag{
			Name: flagKeyringBackend, EnvVars: envOf(flagKeyringBackend), Value: "os", Category: categoryKeys,
			Usage: "keyring `BACKEND`: os (the OS secret store), file (encrypted files, needs a passphrase) or test (unencrypted, local networks only)",
		},
		&cli.StringFlag{
			Name: flagKeyringDir, EnvVars: envOf(flagKeyringDir), TakesFile: true, Category: categoryKeys,
			Usage: "keyring `DIR`, laid out as meritd's --keyring-dir (default: --home)",
		},
		&cli.StringFlag{
			Name: flagKeyringPassphrase, EnvVars: envOf(flagKeyringPassphrase), TakesFile: true, Category: categoryKeys,
			Usage: "`FILE` whose first line is the passphrase of the file keyring (or set " + envKeyringPassphrase + ")",
		},
		&cli.StringFlag{
			Name: flagHotkey, EnvVars: envOf(flagHotkey), Category: categoryKeys,
			Usage: "`NAME` of the miner's hotkey in the keyring (required); it signs transactions and every response",
		},
		&cli.UintFlag{
			Name: flagNetuid, EnvVars: envOf(flagNetuid), Value: 1, Category: categoryChain,
			Usage: "`NETUID` of the subnet to mine on",
		},
		&cli.StringFlag{
			Name: flagGRPC, EnvVars: envOf(flagGRPC), Value: "127.0.0.1:9090", Category: categoryChain,
			Usage: "`HOST:PORT` of a meritd gRPC server",
		},
		&cli.StringFlag{
			Name: flagRPC, EnvVars: envOf(flagRPC), Value: "http://127.0.0.1:26657", Category: categoryChain,
			Usage: "CometBFT RPC `URL` of the same node (block stream)",
		},
		&cli.StringFlag{
			Name: flagChainID, EnvVars: envOf(flagChainID), Category: categoryChain,
			Usage: "expected chain `ID`; refuse to run against another chain (default: whatever the node says)",
		},
		&cli.StringFlag{
			Name: flagGasPrice, EnvVars: envOf(flagGasPrice), Value: "0", Category: categoryChain,
			Usage: "gas `PRICE` in umerit per gas unit for the miner's transactions",
		},
		&cli.StringFlag{
			Name: flagLogFormat, EnvVars: envOf(flagLogFormat), Value: "console", Category: categoryLogging,
			Usage: "log `FORMAT`: console (human readable) or json (one object per line)",
		},
		&cli.StringFlag{
			Name: flagLogLevel, EnvVars: envOf(flagLogLevel), Value: "info", Category: categoryLogging,
			Usage: "log `LEVEL`: debug, info, warn or error",
		},
	}
}

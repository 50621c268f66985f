package miner

import (
	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/internal/daemon"
)

const defaultHome = "~/.merit-miner"

// Help categories of the miner's own flags, so that `serve --help` reads by
// topic (the common flags bring Keys, Chain and Logging).
const (
	categoryModel          = "Model"
	categoryBatching       = "Batching (--engine builtin)"
	categoryAccess         = "Access and limits"
	categoryServe          = "Serving"
	categoryRegistration   = "Registration"
	categoryStatusOutput   = "Output"
	categoryUpstreamEngine = "OpenAI-compatible upstream (--engine openai)"
	categoryTesting        = "Testing knobs (never on a real network)"
)

// nodeFlags are shared by every command that loads the hotkey and dials the
// chain; merit-validator takes the same ones.
func nodeFlags() []cli.Flag {
	return daemon.CommonFlags(defaultHome, daemon.FlagUsage{
		Home:     "miner state `DIR`; also the default keyring directory",
		Hotkey:   "`NAME` of the miner's hotkey in the keyring (required); it signs transactions and every response",
		Netuid:   "`NETUID` of the subnet to mine on",
		GasPrice: "gas `PRICE` in umerit per gas unit for the miner's transactions",
	})
}

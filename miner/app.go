// Package miner is the merit-miner daemon: its command-line application,
// the HTTP server validators call (Server), its access rules (Access), the
// metagraph it keeps (Watcher) and the endpoint it publishes (Publisher).
// docs/miner.md is the operator's guide.
package miner

import (
	"github.com/urfave/cli/v2"

	"github.com/meritnet/merit/internal/daemon"
)

// NewApp returns the merit-miner command-line application. Commands are
// listed here; each lives in its own file.
func NewApp() *cli.App { return NewAppWithDialer(daemon.DialChain) }

// NewAppWithDialer is NewApp with another way to reach the chain (tests,
// harnesses that hold a chain client already).
func NewAppWithDialer(dial daemon.Dialer) *cli.App {
	return &cli.App{
		Name:  "merit-miner",
		Usage: "serve model inference on a Merit subnet and earn MERIT",
		Description: "merit-miner runs a model (the built-in merit-tiny, a llama2.c checkpoint, or an " +
			"OpenAI-compatible upstream) for validators of a Merit subnet.\n\n" +
			"Every flag can also be set by an environment variable MERIT_<FLAG_IN_UPPER_SNAKE_CASE> " +
			"(--hotkey: MERIT_HOTKEY) or in the --config file; the command line wins over the environment, " +
			"which wins over the file. See docs/miner.md.",
		Commands: []*cli.Command{
			registerCommand(dial),
			serveCommand(dial),
			statusCommand(dial),
			generateCommand(),
			modelCommand(),
		},
	}
}

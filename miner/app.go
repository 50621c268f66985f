// Package miner is the merit-miner daemon: its command-line application and
// the commands behind it.
package miner

import "github.com/urfave/cli/v2"

// NewApp returns the merit-miner command-line application. Commands are
// listed here; each lives in its own file.
func NewApp() *cli.App {
	return &cli.App{
		Name:  "merit-miner",
		Usage: "serve model inference on a Merit subnet and earn MERIT",
		Description: "merit-miner runs a model (the built-in merit-tiny, a llama2.c checkpoint, or an " +
			"OpenAI-compatible upstream) for validators of a Merit subnet.",
		Commands: []*cli.Command{
			generateCommand(),
			modelCommand(),
		},
	}
}

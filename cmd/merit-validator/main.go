// Command merit-validator is the Merit validator daemon; see package validator.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/meritnet/merit/validator/cli"
)

func main() { os.Exit(run()) }

// run is main with an exit code, so that its defers run before os.Exit.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.NewApp().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "merit-validator:", err)
		return 1
	}
	return 0
}

// Command merit-miner is the Merit miner daemon; see package miner and
// docs/miner.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/meritnet/merit/miner"
)

func main() {
	// The first SIGINT or SIGTERM cancels the context: serve stops
	// accepting, finishes in-flight requests and exits 0. Signal handling
	// then reverts to the default, so a second one ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	if err := miner.NewApp().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "merit-miner:", err)
		stop()
		os.Exit(1)
	}
	stop()
}

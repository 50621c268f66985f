// Command merit-miner is the Merit miner daemon; see package miner.
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := miner.NewApp().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "merit-miner:", err)
		stop()
		os.Exit(1)
	}
}

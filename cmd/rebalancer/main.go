// Command rebalancer is the one binary of the rebalancer: each target (balancewatcher, planner,
// executor, all, devnet) is a service, and the operator commands (replay, pending, plan, config
// check) share the same configuration. `rebalancer --help` lists them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errHelp):
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, "rebalancer:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "rebalancer:", err)
		os.Exit(1)
	}
}

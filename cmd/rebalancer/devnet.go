//go:build !nodevnet

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
)

func init() {
	register(target{name: "devnet", summary: "run everything on this machine: embedded NATS, Redis, simulated chains and venues", run: runDevnet})
}

func runDevnet(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var d app.DevnetOptions
	fs.DurationVar(&d.Duration, "duration", 0, "stop after this long (default: until interrupted)")
	fs.StringVar(&d.ReportPath, "report", "", "write a JSON report here when devnet stops")
	fs.Uint64Var(&d.Seed, "seed", 0, "seed for the starting imbalance and the load (default: random)")
	fs.DurationVar(&d.BlockInterval, "block-interval", 300*time.Millisecond, "block time of the simulated chains")
	fs.DurationVar(&d.LoadInterval, "load-interval", time.Second, "time between two relayer fills")
	noView := fs.Bool("no-view", false, "do not draw the live view")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*noView {
		d.View = e.stdout
		d.Clear = isTerminal(e.stdout)
	}
	o := app.Options{Log: e.log, ShutdownBudget: 5 * time.Second}
	report, err := app.Devnet(ctx, o, d)
	fmt.Fprintf(e.stderr, "devnet: %d intents emitted, %d completed, %d need attention, %d invariant violations in %d checks\n",
		report.IntentsEmitted, report.IntentsCompleted, report.IntentsNeedsAttention, report.LedgerInvariantViolations, report.LedgerInvariantChecks)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

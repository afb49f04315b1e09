package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
	"github.com/rebalancer-dev/rebalancer/services/planner"
)

func init() {
	register(target{name: "planner", summary: "decide rebalance intents from snapshots and targets", run: serviceTarget("planner", app.Planner)})
	register(target{name: "plan", summary: "dry-run the planner on a snapshot file", run: plannerCommand(planner.PlanCommand)})
	register(target{name: "replay", summary: "re-run the planner over a stream range (what-if with --config)", run: plannerCommand(planner.ReplayCommand)})
}

// plannerCommand adapts the planner's operator commands, mapping its usage errors to exit code 2.
func plannerCommand(cmd func(context.Context, []string, io.Writer) error) func(context.Context, env, []string) error {
	return func(ctx context.Context, e env, args []string) error {
		err := cmd(ctx, args, e.stdout)
		if errors.Is(err, planner.ErrUsage) {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		return err
	}
}

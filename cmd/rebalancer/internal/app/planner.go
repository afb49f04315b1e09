package app

import (
	"context"
	"fmt"
	"os"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/ops"
	"github.com/rebalancer-dev/rebalancer/services/planner"
)

// RunPlanner runs the planner on b until ctx ends. Each replica names itself after its pod
// (POD_NAME) so that its durable consumer survives its restarts.
func RunPlanner(ctx context.Context, cfg *config.Config, o Options, b *bus.Bus, srv *ops.Server) error {
	s, err := planner.New(cfg, planner.Deps{
		Stream:   b,
		Log:      o.Log.With().Str("service", "planner").Logger(),
		Metrics:  srv.Registry(),
		Instance: os.Getenv("POD_NAME"),
	})
	if err != nil {
		return fmt.Errorf("planner: %w", err)
	}
	srv.AddCheck(ops.Check{Name: "planner-caught-up", Fn: s.Ready})
	return s.Start(ctx)
}

// Planner is the planner target.
func Planner(ctx context.Context, cfg *config.Config, o Options) error {
	return Serve(ctx, "planner", o, func(ctx context.Context, b *bus.Bus, srv *ops.Server) error {
		return RunPlanner(ctx, cfg, o, b, srv)
	})
}

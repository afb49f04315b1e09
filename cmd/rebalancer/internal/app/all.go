package app

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/rebalancer-dev/rebalancer/internal/config"
)

// All runs the three services in one process, sharing one bus connection, one ops server and the
// chain clients: for a single machine against real endpoints.
func All(ctx context.Context, cfg *config.Config, o Options) error {
	return withExecutorDeps(ctx, cfg, o, "rebalancer", func(ctx context.Context, d ExecutorDeps) error {
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return RunWatcher(ctx, cfg, o, WatcherDeps{Bus: d.Bus, Chains: d.Chains, Ops: d.Ops}) })
		g.Go(func() error { return RunPlanner(ctx, cfg, o, d.Bus, d.Ops) })
		g.Go(func() error { return RunExecutor(ctx, cfg, o, d) })
		return g.Wait()
	})
}

package app

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/ops"
)

// Serve runs one or more services sharing one bus connection and one ops server, until ctx ends
// or one of them fails; then it shuts down in order within the budget: stop the services (their
// consumers stop fetching and finish what they hold), drain the bus, stop the ops server.
func Serve(ctx context.Context, name string, o Options, run func(ctx context.Context, b *bus.Bus, srv *ops.Server) error) error {
	srv := ops.New(ops.Config{Addr: o.OpsAddr}, o.Log)
	if err := srv.Listen(); err != nil {
		return err
	}
	nc := o.NATS
	nc.Name = name
	if nc.URL == "" {
		return errors.New("no NATS: set NATS_URL (or pass --nats)")
	}
	b, err := bus.Connect(ctx, nc, o.Log.With().Str("component", "bus").Logger(), srv.Registry())
	if err != nil {
		return fmt.Errorf("connect bus: %w", err)
	}
	srv.AddCheck(ops.Condition("nats", b.Connected, "not connected to NATS"))

	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	opsDone := make(chan error, 1)
	go func() { opsDone <- srv.Start(opsCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return run(gctx, b, srv) })
	runErr := g.Wait()

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownBudget)
	defer cancel()
	closeErr := b.Close(sctx)
	stopOps()
	opsErr := <-opsDone
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return errors.Join(closeErr, opsErr)
}

// Watcher is the balancewatcher target: dial the chains and run the watcher.
func Watcher(ctx context.Context, cfg *config.Config, o Options) error {
	return Serve(ctx, "balancewatcher", o, func(ctx context.Context, b *bus.Bus, srv *ops.Server) error {
		chains, err := DialChains(ctx, cfg, o.Log)
		if err != nil {
			return err
		}
		defer func() {
			for _, c := range chains {
				c.Close()
			}
		}()
		return RunWatcher(ctx, cfg, o, WatcherDeps{Bus: b, Chains: chains, Ops: srv})
	})
}

package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/ops"
)

// All runs the three services in one process, sharing one bus connection, one ops server and the
// chain clients: for a single machine against real endpoints.
func All(ctx context.Context, cfg *config.Config, o Options) error {
	secrets, err := LoadExecutorSecrets()
	if err != nil {
		return err
	}
	if o.RedisURL == "" {
		return errors.New("no Redis: set REDIS_URL")
	}
	ropt, err := redis.ParseURL(o.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	return Serve(ctx, "rebalancer", o, func(ctx context.Context, b *bus.Bus, srv *ops.Server) error {
		chains, err := DialChains(ctx, cfg, o.Log)
		if err != nil {
			return err
		}
		defer func() {
			for _, c := range chains {
				c.Close()
			}
		}()
		g, ctx := errgroup.WithContext(ctx)
		g.Go(func() error { return RunWatcher(ctx, cfg, o, WatcherDeps{Bus: b, Chains: chains, Ops: srv}) })
		g.Go(func() error { return RunPlanner(ctx, cfg, o, b, srv) })
		g.Go(func() error {
			return RunExecutor(ctx, cfg, o, ExecutorDeps{Bus: b, Redis: rdb, Chains: chains, Secrets: secrets, Ops: srv})
		})
		return g.Wait()
	})
}

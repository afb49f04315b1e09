//go:build !nodevnet

package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"gopkg.in/yaml.v3"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/devnet"
	"github.com/rebalancer-dev/rebalancer/internal/ops"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
	"github.com/rebalancer-dev/rebalancer/services/balancewatcher"
)

// DevnetOptions configure `rebalancer devnet`.
type DevnetOptions struct {
	// Duration stops devnet after this long (0: until interrupted).
	Duration time.Duration
	// ReportPath, when set, receives the JSON report.
	ReportPath string
	// Seed fixes the starting imbalance and the load (0: random).
	Seed uint64
	// BlockInterval of the simulated chains (300ms).
	BlockInterval time.Duration
	// LoadInterval between two relayer fills (1s).
	LoadInterval time.Duration
	// StopAfterCompleted stops devnet early once this many intents completed and every intent
	// emitted is terminal (0: run for Duration).
	StopAfterCompleted int
	// View receives the live view every second (nil: none); Clear redraws in place.
	View  io.Writer
	Clear bool
}

// ErrInvariant is returned when the ledger's conservation check failed during the run.
var ErrInvariant = errors.New("ledger invariant violated")

// Devnet runs the whole system on this machine: devnet's infrastructure, the three services each
// with its own bus connection and ops server as in production, the load, the live view and the
// conservation check. It returns the report, and ErrInvariant if any check failed.
func Devnet(ctx context.Context, o Options, d DevnetOptions) (devnet.Report, error) {
	log := o.Log
	in, err := devnet.Start(ctx, devnet.Options{BlockInterval: d.BlockInterval, Seed: d.Seed, Log: log})
	if err != nil {
		return devnet.Report{}, fmt.Errorf("devnet: %w", err)
	}
	defer in.Close()
	started := time.Now()
	cfg := in.Config
	if err := setDevnetExecutor(ctx, cfg, in); err != nil {
		return devnet.Report{}, err
	}
	relayer := crypto.PubkeyToAddress(in.Relayer.PublicKey)
	log.Info().Str("account", relayer.Hex()).Uint64("seed", in.Seed).Str("nats", in.NATS.URL()).Str("redis", string(in.RedisSource)).
		Str("binance", in.BinanceURL).Str("hyperliquid", in.HyperliquidURL).Int("chains", len(in.Chains)).Msg("devnet is up")

	so := o
	so.NATS = bus.Config{URL: in.NATS.URL()}
	so.RedisURL = in.RedisURL
	so.OpsAddr = "127.0.0.1:0"
	so.ShutdownBudget = 5 * time.Second
	creds := binance.NewCredentials(in.BinanceKey, in.BinanceSecret)
	secrets := ExecutorSecrets{Relayer: in.Relayer, Binance: &creds, Hyperliquid: in.Relayer}

	ropt, err := redis.ParseURL(in.RedisURL)
	if err != nil {
		return devnet.Report{}, err
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	clients, err := DialChains(ctx, cfg, log)
	if err != nil {
		return devnet.Report{}, err
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()

	viewBus, err := bus.Connect(ctx, bus.Config{URL: in.NATS.URL(), Name: "devnet-view"}, log, nil)
	if err != nil {
		return devnet.Report{}, err
	}
	defer func() { _ = viewBus.Close(context.WithoutCancel(ctx)) }()
	tracker := devnet.NewTracker(cfg)
	load := &devnet.Load{Chains: in.Chains, Config: cfg, Relayer: in.Relayer, User: in.User, Interval: d.LoadInterval, Seed: in.Seed, Log: log}
	checker := &devnet.Checker{Config: cfg, Account: relayer, Clients: clients, Redis: rdb, Tracker: tracker, Load: load}
	if err := checker.Baseline(ctx); err != nil {
		return devnet.Report{}, fmt.Errorf("devnet baseline: %w", err)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	if d.Duration > 0 {
		runCtx, stop = context.WithTimeout(ctx, d.Duration)
		defer stop()
	}
	g, gctx := errgroup.WithContext(runCtx)
	serve := func(name string, run func(ctx context.Context, b *bus.Bus, srv *ops.Server) error) {
		g.Go(func() error {
			err := Serve(gctx, name, so, run)
			if err != nil && !errors.Is(err, context.Canceled) && gctx.Err() == nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	serve("balancewatcher", func(ctx context.Context, b *bus.Bus, srv *ops.Server) error {
		venues, err := devnetVenueReaders(ctx, cfg, so, rdb, clients, secrets, relayer, srv)
		if err != nil {
			return err
		}
		return RunWatcher(ctx, cfg, so, WatcherDeps{Bus: b, Chains: clients, Venues: venues, Ops: srv})
	})
	serve("planner", func(ctx context.Context, b *bus.Bus, srv *ops.Server) error { return RunPlanner(ctx, cfg, so, b, srv) })
	serve("executor", func(ctx context.Context, b *bus.Bus, srv *ops.Server) error {
		return RunExecutor(ctx, cfg, so, ExecutorDeps{Bus: b, Redis: rdb, Chains: clients, Secrets: secrets, Ops: srv})
	})
	g.Go(func() error { return load.Start(gctx) })
	if d.StopAfterCompleted > 0 {
		g.Go(func() error {
			return every(gctx, 500*time.Millisecond, func() (bool, error) {
				emitted, states := tracker.Counts()
				terminal := states[events.StateCompleted] + states[events.StateRejected] + states[events.StateNeedsAttention]
				checks, _, _ := checker.Results()
				if states[events.StateCompleted] >= d.StopAfterCompleted && terminal == emitted && checks > 0 {
					stop()
					return true, nil
				}
				return false, nil
			})
		})
	}
	g.Go(func() error { return tracker.Follow(gctx, viewBus, 250*time.Millisecond) })
	g.Go(func() error {
		return every(gctx, 2*time.Second, func() (bool, error) {
			if _, err := checker.Check(gctx); err != nil && gctx.Err() == nil {
				log.Warn().Err(err).Msg("conservation check could not run")
			}
			return false, nil
		})
	})
	if d.View != nil {
		view := &devnet.View{Tracker: tracker, Config: cfg, Ledger: pending.NewReader(rdb), Account: relayer.Hex(), Started: started, Clear: d.Clear}
		g.Go(func() error {
			return every(gctx, time.Second, func() (bool, error) {
				if err := view.Render(gctx, d.View); err != nil && gctx.Err() == nil {
					return true, err
				}
				return false, nil
			})
		})
	}
	runErr := g.Wait()
	// One last check on the final state.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = checker.Check(fctx)
	checks, violations, samples := checker.Results()
	report := devnet.BuildReport(tracker, in.Seed, started, time.Now(), checks, violations, samples, in.RedisSource)
	if d.ReportPath != "" {
		if err := report.Write(d.ReportPath); err != nil {
			return report, fmt.Errorf("write report: %w", err)
		}
	}
	if runErr != nil {
		return report, runErr
	}
	if violations > 0 {
		return report, fmt.Errorf("%w: %d of %d checks failed, e.g. %v", ErrInvariant, violations, checks, samples)
	}
	return report, nil
}

// every calls fn each interval until ctx ends, fn says done, or fn fails.
func every(ctx context.Context, interval time.Duration, fn func() (done bool, err error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if done, err := fn(); done || err != nil {
			return err
		}
	}
}

// setDevnetExecutor fills the executor section with the simulators' URLs and addresses (the same
// section test/e2e writes for the separate processes).
func setDevnetExecutor(ctx context.Context, cfg *config.Config, in *devnet.Infra) error {
	sec, err := in.ExecutorSection(ctx)
	if err != nil {
		return err
	}
	raw, err := yaml.Marshal(sec)
	if err != nil {
		return err
	}
	var node yaml.Node
	if err := yaml.Unmarshal(raw, &node); err != nil {
		return err
	}
	cfg.Executor = *node.Content[0]
	_, err = ResolveExecutor(cfg)
	return err
}

// devnetVenueReaders builds the watcher's venue readers from the same adapters the executor uses,
// counting their requests on the watcher's own metrics.
func devnetVenueReaders(ctx context.Context, cfg *config.Config, o Options, rdb redis.UniversalClient, clients map[uint64]*chain.Client, secrets ExecutorSecrets, relayer common.Address, srv *ops.Server) ([]balancewatcher.VenueReader, error) {
	sec, err := ResolveExecutor(cfg)
	if err != nil {
		return nil, err
	}
	venues, err := BuildVenues(ctx, cfg, sec, ExecutorDeps{Redis: rdb, Chains: clients, Secrets: secrets, Ops: srv}, o)
	if err != nil {
		return nil, err
	}
	var out []balancewatcher.VenueReader
	for name, v := range venues {
		b, ok := v.(venue.Balancer)
		if !ok {
			continue
		}
		out = append(out, balancewatcher.VenueAccounts{Name: name, Accounts: map[common.Address]venue.Balancer{relayer: b}})
	}
	return out, nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
	"github.com/rebalancer-dev/rebalancer/internal/config"
)

func init() {
	register(target{name: "balancewatcher", summary: "watch balances on chains and venues; publish snapshots", run: serviceTarget("balancewatcher", app.Watcher)})
	register(target{name: "config check", summary: "validate a configuration file", run: runConfigCheck})
}

// serviceFlags parses the flags every service target takes.
func serviceFlags(name string, e env, args []string) (*config.Config, app.Options, error) {
	o := app.OptionsFromEnv(e.log)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cfgPath := fs.String("config", "", "configuration file (required)")
	fs.StringVar(&o.OpsAddr, "ops-addr", o.OpsAddr, "ops HTTP address: /livez /readyz /metrics /debug/pprof")
	fs.StringVar(&o.NATS.URL, "nats", o.NATS.URL, "NATS URL (default $NATS_URL)")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: rebalancer %s --config FILE [--ops-addr :8080] [--nats URL]\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, o, err
	}
	if fs.NArg() > 0 {
		return nil, o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := app.LoadConfig(*cfgPath)
	if err != nil {
		return nil, o, err
	}
	return cfg, o, nil
}

func serviceTarget(name string, run func(context.Context, *config.Config, app.Options) error) func(context.Context, env, []string) error {
	return func(ctx context.Context, e env, args []string) error {
		cfg, o, err := serviceFlags(name, e, args)
		if err != nil {
			return err
		}
		e.log.Info().Str("network", cfg.Network).Str("config_hash", cfg.Hash()).Int("chains", len(cfg.Chains)).Msg("starting")
		err = run(ctx, cfg, o)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
}

func runConfigCheck(_ context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprintln(e.stderr, "Usage: rebalancer config check FILE") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: config check takes one file", errUsage)
	}
	cfg, err := config.Load(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	// The executor section as the executor itself resolves it: a file that passes here starts it.
	sec, err := app.ResolveExecutor(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	fmt.Fprintf(e.stdout, "%s: ok (network %s, %d chains, %d tokens, %d venues, %d accounts, config hash %s)\n",
		fs.Arg(0), cfg.Network, len(cfg.Chains), len(cfg.Tokens), len(cfg.Venues), len(cfg.Accounts), cfg.Hash())
	fmt.Fprintf(e.stdout, "executor: maxPerIntent %s, dryRun %t, binance %s, hyperliquid %s network %q\n",
		sec.MaxPerIntent, sec.DryRun, sec.Binance.BaseURL, sec.Hyperliquid.BaseURL, sec.Hyperliquid.Network)
	return nil
}

func init() {
	register(target{name: "executor", summary: "carry out intents on the venues; keep the pending ledger", run: serviceTarget("executor", app.Executor)})
	register(target{name: "all", summary: "run the three services in one process", run: serviceTarget("all", app.All)})
}

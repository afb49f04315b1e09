package app

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/ops"
	"github.com/rebalancer-dev/rebalancer/services/balancewatcher"
)

// WatcherConfig derives the watcher's configuration from the file: every configured chain, with
// the tokens configured on it, for every account.
func WatcherConfig(cfg *config.Config) balancewatcher.Config {
	wc := balancewatcher.Config{Accounts: Accounts(cfg)}
	for _, c := range cfg.Chains {
		cc := balancewatcher.ChainConfig{ID: c.ID, Name: c.Name, PollInterval: c.PollInterval.Duration, StaleAfter: c.StaleAfter.Duration}
		for _, t := range cfg.Tokens {
			for _, tc := range t.Chains {
				if tc.Chain == c.ID {
					cc.Tokens = append(cc.Tokens, balancewatcher.Token{Symbol: t.Symbol, Address: common.HexToAddress(tc.Address), Decimals: tc.Decimals})
				}
			}
		}
		wc.Chains = append(wc.Chains, cc)
	}
	return wc
}

// WatcherDeps are what RunWatcher needs that a caller may share with other services.
type WatcherDeps struct {
	Bus    *bus.Bus
	Chains map[uint64]*chain.Client
	Venues []balancewatcher.VenueReader
	Ops    *ops.Server
}

// RunWatcher runs the balance watcher until ctx ends.
func RunWatcher(ctx context.Context, cfg *config.Config, o Options, d WatcherDeps) error {
	readers := map[uint64]balancewatcher.ChainReader{}
	for id, c := range d.Chains {
		readers[id] = balancewatcher.ChainClient{C: c}
	}
	wc := WatcherConfig(cfg)
	for _, v := range d.Venues {
		wc.Venues = append(wc.Venues, v.Venue())
	}
	w, err := balancewatcher.New(wc, balancewatcher.Deps{
		Chains:  readers,
		Venues:  d.Venues,
		Stream:  balancewatcher.BusStream{B: d.Bus},
		Log:     o.Log.With().Str("service", "balancewatcher").Logger(),
		Metrics: d.Ops.Registry(),
	})
	if err != nil {
		return fmt.Errorf("balancewatcher: %w", err)
	}
	d.Ops.AddCheck(ops.Check{Name: "chains-fresh", Fn: w.Ready})
	return w.Start(ctx)
}

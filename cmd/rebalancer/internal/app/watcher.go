package app

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/ops"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
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
	// Venues are the venue readers; nil builds read-only ones from the environment (WatcherVenues).
	Venues []balancewatcher.VenueReader
	Ops    *ops.Server
}

// RunWatcher runs the balance watcher until ctx ends.
func RunWatcher(ctx context.Context, cfg *config.Config, o Options, d WatcherDeps) error {
	readers := map[uint64]balancewatcher.ChainReader{}
	for id, c := range d.Chains {
		readers[id] = balancewatcher.ChainClient{C: c}
	}
	if d.Venues == nil {
		var err error
		if d.Venues, err = WatcherVenues(cfg, o, d.Ops.Registry()); err != nil {
			return fmt.Errorf("balancewatcher: %w", err)
		}
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

// Environment the watcher's venue readers take, beside binance.EnvAPIKey/EnvAPISecret (and their
// _FILE variants), which should name a read-only Binance key: the watcher only reads balances.
const (
	// EnvVenueAccount names the configured account the venue credentials belong to; it may be
	// left unset when the configuration has one account.
	EnvVenueAccount = "VENUE_ACCOUNT"
	// EnvHyperliquidAccount is the Hyperliquid account's address when it is not the relayer
	// account itself (the executor signs with HYPERLIQUID_PRIVATE_KEY, whose address it is).
	EnvHyperliquidAccount = "HYPERLIQUID_ACCOUNT"
)

// WatcherVenues builds read-only venue readers for the configured venues: Binance with the API
// key from the environment (a venue without one is left out, with a warning: the planner then
// routes nothing through it), Hyperliquid by address only. Clients connect on their first read,
// so a venue that is down at start costs its own snapshots (read errors, stale), never the
// chains'. No key material reaches a log line or an error.
func WatcherVenues(cfg *config.Config, o Options, reg prometheus.Registerer) ([]balancewatcher.VenueReader, error) {
	_, hasBinance := cfg.Venue(events.VenueBinance)
	_, hasHL := cfg.Venue(events.VenueHyperliquid)
	if !hasBinance && !hasHL {
		return nil, nil
	}
	sec, err := ResolveExecutor(cfg) // the same base URLs and network the executor uses
	if err != nil {
		return nil, err
	}
	account, err := venueAccount(cfg)
	if err != nil {
		return nil, err
	}
	var out []balancewatcher.VenueReader
	if hasBinance {
		log := o.Log.With().Str("venue", events.VenueBinance).Logger()
		if os.Getenv(binance.EnvAPIKey) == "" && os.Getenv(binance.EnvAPIKeyFile) == "" {
			log.Warn().Msgf("no Binance read key (%s or %s): no Binance snapshots, so the planner routes nothing through Binance", binance.EnvAPIKeyFile, binance.EnvAPIKey)
		} else {
			creds, err := binance.LoadCredentials()
			if err != nil {
				return nil, err // names the variable, never its value
			}
			bc := binance.Config{BaseURL: sec.Binance.BaseURL, Credentials: creds, Networks: BinanceNetworks(cfg), Log: log, Metrics: reg}
			out = append(out, balancewatcher.VenueAccounts{Name: events.VenueBinance, Accounts: map[common.Address]venue.Balancer{
				account: &lazyBalancer{connect: func(ctx context.Context) (venue.Balancer, error) { return binance.New(ctx, bc) }},
			}})
			log.Info().Str("account", account.Hex()).Msg("reading Binance balances with the read key")
		}
	}
	if hasHL {
		network, _ := wire.ParseNetwork(sec.Hyperliquid.Network) // ResolveExecutor checked it
		user := account
		if a := strings.TrimSpace(os.Getenv(EnvHyperliquidAccount)); a != "" {
			if !common.IsHexAddress(a) {
				return nil, fmt.Errorf("%s: not an address", EnvHyperliquidAccount)
			}
			user = common.HexToAddress(a)
		}
		hc := hyperliquid.Config{BaseURL: sec.Hyperliquid.BaseURL, Network: network,
			Log: o.Log.With().Str("venue", events.VenueHyperliquid).Logger(), Metrics: reg}
		out = append(out, balancewatcher.VenueAccounts{Name: events.VenueHyperliquid, Accounts: map[common.Address]venue.Balancer{
			account: &lazyBalancer{connect: func(ctx context.Context) (venue.Balancer, error) {
				return hyperliquid.NewReadOnly(ctx, hc, user, hyperliquid.VenueConfig{})
			}},
		}})
		o.Log.Info().Str("venue", events.VenueHyperliquid).Str("account", account.Hex()).Str("hyperliquid_account", user.Hex()).Msg("reading Hyperliquid balances by address")
	}
	return out, nil
}

// venueAccount is the configured account the venue accounts belong to.
func venueAccount(cfg *config.Config) (common.Address, error) {
	if a := strings.TrimSpace(os.Getenv(EnvVenueAccount)); a != "" {
		for _, c := range cfg.Accounts {
			if strings.EqualFold(c, a) {
				return common.HexToAddress(c), nil
			}
		}
		return common.Address{}, fmt.Errorf("%s %s is not one of the configured accounts", EnvVenueAccount, a)
	}
	if len(cfg.Accounts) != 1 {
		return common.Address{}, fmt.Errorf("%d accounts configured: set %s to the one the venue credentials belong to", len(cfg.Accounts), EnvVenueAccount)
	}
	return common.HexToAddress(cfg.Accounts[0]), nil
}

// lazyBalancer connects on the first read and again after a failed connection, so that a venue
// unreachable at start shows as read errors of its own location.
type lazyBalancer struct {
	connect func(ctx context.Context) (venue.Balancer, error)
	mu      sync.Mutex
	b       venue.Balancer
}

func (l *lazyBalancer) Balances(ctx context.Context) (venue.Snapshot, error) {
	l.mu.Lock()
	b := l.b
	if b == nil {
		var err error
		if b, err = l.connect(ctx); err != nil {
			l.mu.Unlock()
			return venue.Snapshot{}, fmt.Errorf("connect: %w", err)
		}
		l.b = b
	}
	l.mu.Unlock()
	return b.Balances(ctx)
}

package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/ops"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/services/executor"
)

// ExecutorSection is the configuration file's `executor:` section.
type ExecutorSection struct {
	// MaxPerIntent caps one intent, in whole tokens ("50000").
	MaxPerIntent string `yaml:"maxPerIntent"`
	// MaxPerDay caps each venue's notional in a rolling 24 h window, in whole tokens.
	MaxPerDay map[string]string `yaml:"maxPerDay"`
	// StepTimeout bounds one state before it escalates to needs_attention (default 30m).
	StepTimeout config.Duration `yaml:"stepTimeout"`
	// LeaseTTL of the (venue, account) lease (default 6s).
	LeaseTTL config.Duration `yaml:"leaseTTL"`
	// DryRun decides and logs but sends nothing.
	DryRun  bool `yaml:"dryRun"`
	Binance struct {
		// BaseURL of the API (default https://api.binance.com).
		BaseURL string `yaml:"baseURL"`
	} `yaml:"binance"`
	Hyperliquid struct {
		// BaseURL of the API (default https://api.hyperliquid.xyz).
		BaseURL string `yaml:"baseURL"`
		// Network is "mainnet" or "testnet": required, never inferred from the URL.
		Network string `yaml:"network"`
		// Bridge2 overrides the network's Bridge2 contract on Arbitrum (devnets, forks).
		Bridge2 string `yaml:"bridge2"`
		// CoreDepositWallet on HyperEVM, where HyperEVM USDC enters HyperCore; without it that
		// gateway is not used.
		CoreDepositWallet string `yaml:"coreDepositWallet"`
		// HyperEVMPayer overrides the sender of HyperEVM payouts (the token's system address on
		// the venue), by which the executor finds a spotSend's landing. Simulators only: their
		// chains cannot sign as a system address.
		HyperEVMPayer string `yaml:"hyperEVMPayer"`
	} `yaml:"hyperliquid"`
}

// ParseExecutorSection decodes the `executor:` section strictly: an unknown key is an error.
func ParseExecutorSection(cfg *config.Config) (ExecutorSection, error) {
	var s ExecutorSection
	if cfg.Executor.Kind == 0 {
		return s, nil
	}
	raw, err := yaml.Marshal(&cfg.Executor)
	if err != nil {
		return s, fmt.Errorf("executor: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("executor: %w", err)
	}
	for v := range s.MaxPerDay {
		if !events.IsKnownVenue(v) {
			return s, fmt.Errorf("executor.maxPerDay: unknown venue %q", v)
		}
	}
	if s.Hyperliquid.Network != "" {
		if _, err := wire.ParseNetwork(s.Hyperliquid.Network); err != nil {
			return s, fmt.Errorf("executor.hyperliquid.network: %w", err)
		}
	}
	return s, nil
}

// ExecutorRoutes derives the executable routes from the venues' legs and the tokens' contracts.
func ExecutorRoutes(cfg *config.Config) []executor.RouteConfig {
	var out []executor.RouteConfig
	for _, v := range cfg.Venues {
		for _, l := range v.Legs {
			tc, ok := cfg.TokenOn(l.Token, l.Chain)
			if !ok {
				continue
			}
			out = append(out, executor.RouteConfig{Venue: v.Name, Token: l.Token, ChainID: l.Chain, Network: l.Network, TokenAddress: tc.Address, Decimals: tc.Decimals})
		}
	}
	return out
}

// BinanceNetworks derives the Binance adapter's networks from the binance venue's legs.
func BinanceNetworks(cfg *config.Config) []binance.Network {
	v, ok := cfg.Venue(events.VenueBinance)
	if !ok {
		return nil
	}
	byName := map[string]*binance.Network{}
	var order []string
	for _, l := range v.Legs {
		tc, ok := cfg.TokenOn(l.Token, l.Chain)
		if !ok {
			continue
		}
		n := byName[l.Network]
		if n == nil {
			n = &binance.Network{Name: l.Network, ChainID: l.Chain}
			byName[l.Network] = n
			order = append(order, l.Network)
		}
		n.Tokens = append(n.Tokens, binance.Token{Symbol: l.Token, Decimals: tc.Decimals, Address: tc.Address})
	}
	out := make([]binance.Network, 0, len(order))
	for _, name := range order {
		out = append(out, *byName[name])
	}
	return out
}

// ExecutorSecrets are the keys the executor signs with. They come from the environment or files
// named there, never from the configuration file, and never reach a log line.
type ExecutorSecrets struct {
	// Relayer signs the relayer's chain transactions (deposits).
	Relayer *ecdsa.PrivateKey
	// Binance are the API key and secret.
	Binance *binance.Credentials
	// Hyperliquid signs venue actions (the relayer's key unless another is given).
	Hyperliquid *ecdsa.PrivateKey
}

// LoadExecutorSecrets reads EVM_PRIVATE_KEY(_FILE), BINANCE_API_KEY/SECRET(_FILE) and
// HYPERLIQUID_PRIVATE_KEY(_FILE). A venue without credentials is left out.
func LoadExecutorSecrets() (ExecutorSecrets, error) {
	var s ExecutorSecrets
	k, err := keyFromEnvOrFile("EVM_PRIVATE_KEY")
	if err != nil {
		return s, err
	}
	if k == nil {
		return s, errors.New("no relayer key: set EVM_PRIVATE_KEY_FILE (or EVM_PRIVATE_KEY)")
	}
	s.Relayer = k
	if os.Getenv("BINANCE_API_KEY") != "" || os.Getenv("BINANCE_API_KEY_FILE") != "" {
		c, err := binance.LoadCredentials()
		if err != nil {
			return s, err
		}
		s.Binance = &c
	}
	if s.Hyperliquid, err = keyFromEnvOrFile("HYPERLIQUID_PRIVATE_KEY"); err != nil {
		return s, err
	}
	if s.Hyperliquid == nil {
		s.Hyperliquid = s.Relayer
	}
	return s, nil
}

func keyFromEnvOrFile(name string) (*ecdsa.PrivateKey, error) {
	if os.Getenv(name) != "" {
		return chain.KeyFromEnv(name)
	}
	if f := os.Getenv(name + "_FILE"); f != "" {
		return chain.KeyFromFile(f)
	}
	return nil, nil
}

// ExecutorDeps are the connections RunExecutor builds on.
type ExecutorDeps struct {
	Bus     *bus.Bus
	Redis   redis.UniversalClient
	Chains  map[uint64]*chain.Client
	Secrets ExecutorSecrets
	Ops     *ops.Server
}

// BuildVenues connects the venue adapters the configuration enables and the secrets allow.
func BuildVenues(ctx context.Context, cfg *config.Config, sec ExecutorSection, d ExecutorDeps, o Options) (map[string]executor.Venue, error) {
	venues := map[string]executor.Venue{}
	if _, ok := cfg.Venue(events.VenueBinance); ok && d.Secrets.Binance != nil {
		c, err := binance.New(ctx, binance.Config{
			BaseURL:     sec.Binance.BaseURL,
			Credentials: *d.Secrets.Binance,
			Networks:    BinanceNetworks(cfg),
			Log:         o.Log.With().Str("venue", events.VenueBinance).Logger(),
		})
		if err != nil {
			return nil, fmt.Errorf("binance: %w", err)
		}
		venues[events.VenueBinance] = c
	}
	if _, ok := cfg.Venue(events.VenueHyperliquid); ok && d.Secrets.Hyperliquid != nil {
		if sec.Hyperliquid.Network == "" {
			return nil, errors.New("executor.hyperliquid.network: required (mainnet or testnet), never inferred from the URL")
		}
		network, _ := wire.ParseNetwork(sec.Hyperliquid.Network)
		signer := crypto.PubkeyToAddress(d.Secrets.Hyperliquid.PublicKey)
		prefix := "rebal:v1:{" + strings.ToLower(signer.Hex()) + "}:hl:"
		c, err := hyperliquid.New(ctx, hyperliquid.Config{
			BaseURL: sec.Hyperliquid.BaseURL,
			Network: network,
			Key:     hyperliquid.NewKey(d.Secrets.Hyperliquid),
			Nonces:  RedisNonces{R: d.Redis, Key: prefix + "nonce"},
			Log:     o.Log.With().Str("venue", events.VenueHyperliquid).Logger(),
		})
		if err != nil {
			return nil, fmt.Errorf("hyperliquid: %w", err)
		}
		vc := hyperliquid.VenueConfig{Store: RedisPrepared{R: d.Redis, Prefix: prefix + "prepared:"}}
		if arb, ok := cfg.TokenOn("USDC", 42161); ok {
			vc.ArbitrumUSDC = commonAddress(arb.Address)
		}
		if sec.Hyperliquid.Bridge2 != "" {
			vc.Bridge2 = commonAddress(sec.Hyperliquid.Bridge2)
		}
		if sec.Hyperliquid.CoreDepositWallet != "" {
			vc.CoreDepositWallet = commonAddress(sec.Hyperliquid.CoreDepositWallet)
		}
		if sec.Hyperliquid.HyperEVMPayer != "" {
			vc.HyperEVMPayer = commonAddress(sec.Hyperliquid.HyperEVMPayer)
		}
		v, err := hyperliquid.NewVenue(c, vc)
		if err != nil {
			return nil, fmt.Errorf("hyperliquid: %w", err)
		}
		venues[events.VenueHyperliquid] = v
	}
	return venues, nil
}

// ExecutorConfig builds the executor's configuration from the file.
func ExecutorConfig(cfg *config.Config, sec ExecutorSection) executor.Config {
	ec := executor.Config{
		ReplicaID:          os.Getenv("POD_NAME"),
		Accounts:           cfg.Accounts,
		Routes:             ExecutorRoutes(cfg),
		MaxPerIntent:       sec.MaxPerIntent,
		MaxPerDay:          sec.MaxPerDay,
		DefaultStepTimeout: sec.StepTimeout.Duration,
		LeaseTTL:           sec.LeaseTTL.Duration,
		DryRun:             sec.DryRun,
	}
	if ec.DefaultStepTimeout == 0 {
		ec.DefaultStepTimeout = 30 * time.Minute
	}
	return ec
}

// RunExecutor runs the executor until ctx ends.
func RunExecutor(ctx context.Context, cfg *config.Config, o Options, d ExecutorDeps) error {
	sec, err := ParseExecutorSection(cfg)
	if err != nil {
		return err
	}
	venues, err := BuildVenues(ctx, cfg, sec, d, o)
	if err != nil {
		return err
	}
	account := crypto.PubkeyToAddress(d.Secrets.Relayer.PublicKey)
	found := false
	for _, a := range cfg.Accounts {
		found = found || strings.EqualFold(a, account.Hex())
	}
	if !found {
		return fmt.Errorf("the relayer key's address %s is not one of the configured accounts", account.Hex())
	}
	chains := map[uint64]executor.Chain{}
	for id, c := range d.Chains {
		chains[id] = c
	}
	signers := map[string]chain.Signer{account.Hex(): chain.NewKeySigner(d.Secrets.Relayer)}
	d.Ops.AddCheck(ops.RedisPing(d.Redis))
	return executor.Run(ctx, ExecutorConfig(cfg, sec), executor.Deps{
		Bus:     d.Bus,
		Redis:   d.Redis,
		Chains:  chains,
		Senders: executor.NewSenders(d.Redis, d.Chains, signers),
		Venues:  venues,
		Log:     o.Log.With().Str("service", "executor").Logger(),
		Metrics: d.Ops.Registry(),
	})
}

// Executor is the executor target.
func Executor(ctx context.Context, cfg *config.Config, o Options) error {
	return withExecutorDeps(ctx, cfg, o, "executor", func(ctx context.Context, d ExecutorDeps) error {
		return RunExecutor(ctx, cfg, o, d)
	})
}

// withExecutorDeps loads the executor's secrets, opens Redis, connects the bus and the chains, and
// runs fn with them as one service named name.
func withExecutorDeps(ctx context.Context, cfg *config.Config, o Options, name string, fn func(ctx context.Context, d ExecutorDeps) error) error {
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
	return Serve(ctx, name, o, func(ctx context.Context, b *bus.Bus, srv *ops.Server) error {
		chains, err := DialChains(ctx, cfg, o.Log)
		if err != nil {
			return err
		}
		defer func() {
			for _, c := range chains {
				c.Close()
			}
		}()
		return fn(ctx, ExecutorDeps{Bus: b, Redis: rdb, Chains: chains, Secrets: secrets, Ops: srv})
	})
}

package app

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/prometheus/client_golang/prometheus"
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

// ExecutorSection is the configuration file's `executor:` section, as ResolveExecutor returns it:
// defaults filled in, every field checked.
type ExecutorSection struct {
	// MaxPerIntent caps one intent, in whole tokens ("50000"). Required.
	MaxPerIntent string `yaml:"maxPerIntent"`
	// MaxPerDay caps each venue's notional in a rolling 24 h window, in whole tokens; a venue
	// left out has no daily cap.
	MaxPerDay map[string]string `yaml:"maxPerDay"`
	// StepTimeout bounds one state before it escalates to needs_attention (default 30m).
	StepTimeout config.Duration `yaml:"stepTimeout"`
	// LeaseTTL of the (venue, account) lease (default 6s).
	LeaseTTL config.Duration `yaml:"leaseTTL"`
	// DryRun decides and logs but sends nothing.
	DryRun  bool `yaml:"dryRun"`
	Binance struct {
		// BaseURL of the API (default DefaultBinanceURL).
		BaseURL string `yaml:"baseURL"`
	} `yaml:"binance"`
	Hyperliquid struct {
		// BaseURL of the API (default DefaultHyperliquidURL).
		BaseURL string `yaml:"baseURL"`
		// Network is "mainnet" or "testnet": required when the hyperliquid venue is configured,
		// never inferred from the URL.
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

// Venue API roots used when the executor section names none.
const (
	DefaultBinanceURL     = "https://api.binance.com"
	DefaultHyperliquidURL = "https://api.hyperliquid.xyz"
)

// ResolveExecutor reads the configuration's `executor:` section the one way every user of it does
// (the executor, the balance watcher's venue readers, `rebalancer config check`): decoded strictly
// (an unknown key is an error), defaults filled in (the venues' production API roots, the step
// timeout, the lease TTL), and every field checked, so that a file it accepts is one the executor
// starts with. A missing section is a section without maxPerIntent: an error. Problems come back
// as config.Errors, each naming its field by path ("executor.maxPerIntent").
func ResolveExecutor(cfg *config.Config) (ExecutorSection, error) {
	var s ExecutorSection
	var p config.Errors
	add := func(path, format string, args ...any) {
		p = append(p, &config.FieldError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	if cfg.Executor.Kind != 0 {
		unknownKeys(&cfg.Executor, reflect.TypeFor[ExecutorSection](), "executor", add)
		if len(p) > 0 {
			return s, p
		}
		if err := cfg.Executor.Decode(&s); err != nil {
			return s, fmt.Errorf("executor: %w", err)
		}
	}
	if err := checkCap(s.MaxPerIntent); err != "" {
		add("executor.maxPerIntent", "%s", err)
	}
	for _, v := range slices.Sorted(maps.Keys(s.MaxPerDay)) {
		if !events.IsKnownVenue(v) {
			add("executor.maxPerDay."+v, "unknown venue (%s, %s)", events.VenueBinance, events.VenueHyperliquid)
		} else if err := checkCap(s.MaxPerDay[v]); err != "" {
			add("executor.maxPerDay."+v, "%s", err)
		}
	}
	if s.StepTimeout.Duration < 0 {
		add("executor.stepTimeout", "negative")
	} else if s.StepTimeout.Duration == 0 {
		s.StepTimeout.Duration = executor.DefaultTimeout
	}
	if s.LeaseTTL.Duration < 0 {
		add("executor.leaseTTL", "negative")
	} else if s.LeaseTTL.Duration == 0 {
		s.LeaseTTL.Duration = executor.DefaultLeaseTTL
	}
	s.Binance.BaseURL = or(s.Binance.BaseURL, DefaultBinanceURL)
	if err := checkBaseURL(s.Binance.BaseURL); err != "" {
		add("executor.binance.baseURL", "%s", err)
	}
	s.Hyperliquid.BaseURL = or(s.Hyperliquid.BaseURL, DefaultHyperliquidURL)
	if err := checkBaseURL(s.Hyperliquid.BaseURL); err != "" {
		add("executor.hyperliquid.baseURL", "%s", err)
	}
	if _, hl := cfg.Venue(events.VenueHyperliquid); hl && s.Hyperliquid.Network == "" {
		add("executor.hyperliquid.network", "required (mainnet or testnet) with the hyperliquid venue: it is never inferred from the URL")
	} else if s.Hyperliquid.Network != "" {
		if _, err := wire.ParseNetwork(s.Hyperliquid.Network); err != nil {
			add("executor.hyperliquid.network", "%q: %v", s.Hyperliquid.Network, err)
		}
	}
	for _, a := range []struct{ field, v string }{
		{"bridge2", s.Hyperliquid.Bridge2}, {"coreDepositWallet", s.Hyperliquid.CoreDepositWallet}, {"hyperEVMPayer", s.Hyperliquid.HyperEVMPayer},
	} {
		if a.v != "" && !common.IsHexAddress(a.v) {
			add("executor.hyperliquid."+a.field, "%q is not a 0x-prefixed 20-byte hex address", a.v)
		}
	}
	if s.Hyperliquid.CoreDepositWallet == "" {
		// HyperEVM USDC enters HyperCore only through CoreDepositWallet (a plain transfer there is
		// lost): a leg that allows those deposits without it would be planned and never executed.
		for i, v := range cfg.Venues {
			if v.Name != events.VenueHyperliquid {
				continue
			}
			for j, l := range v.Legs {
				if l.Network == "hyperevm" && l.Token == "USDC" && l.Deposit {
					add(fmt.Sprintf("venues[%d].legs[%d].deposit", i, j),
						"HyperEVM USDC deposits need executor.hyperliquid.coreDepositWallet: set it, or set deposit: false")
				}
			}
		}
	}
	if len(p) > 0 {
		return s, p
	}
	return s, nil
}

// unknownKeys reports every key of the mapping n that t (a struct with yaml tags) does not have,
// descending into nested structs, with the file's line: yaml.Node.Decode has no strict mode.
func unknownKeys(n *yaml.Node, t reflect.Type, path string, add func(path, format string, args ...any)) {
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return
	}
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name != "" && name != "-" {
			fields[name] = f.Type
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		ft, ok := fields[k.Value]
		if !ok {
			add(path+"."+k.Value, "unknown key (line %d)", k.Line)
			continue
		}
		unknownKeys(n.Content[i+1], ft, path+"."+k.Value, add)
	}
}

// checkCap says what is wrong with a cap in whole tokens, by the rule the executor applies: an
// exact positive decimal, no exponent or fraction.
func checkCap(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "required (a cap in whole tokens, e.g. \"25000\")"
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 || strings.ContainsAny(s, "eE/") {
		return fmt.Sprintf("%q is not a positive decimal", s)
	}
	return ""
}

// checkBaseURL says what is wrong with a venue's API root.
func checkBaseURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return fmt.Sprintf("%q is not an http(s) URL", s)
	}
	return ""
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
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

// VenueConfigs are the venue adapters' configurations, as BuildVenues connects them. A nil
// adapter configuration is a venue the configuration or the secrets leave out.
type VenueConfigs struct {
	Binance          *binance.Config
	Hyperliquid      *hyperliquid.Config
	HyperliquidVenue hyperliquid.VenueConfig
}

// ExecutorVenueConfigs builds the adapters' configurations from a resolved section (ResolveExecutor)
// and the secrets, without I/O. The adapters count their requests on d.Ops' registry; without an
// ops server (devnet's watcher readers) they count privately.
func ExecutorVenueConfigs(cfg *config.Config, sec ExecutorSection, d ExecutorDeps, o Options) VenueConfigs {
	var reg prometheus.Registerer // stays a nil interface without an ops server
	if d.Ops != nil {
		reg = d.Ops.Registry()
	}
	var vc VenueConfigs
	if _, ok := cfg.Venue(events.VenueBinance); ok && d.Secrets.Binance != nil {
		vc.Binance = &binance.Config{
			BaseURL:     sec.Binance.BaseURL,
			Credentials: *d.Secrets.Binance,
			Networks:    BinanceNetworks(cfg),
			Log:         o.Log.With().Str("venue", events.VenueBinance).Logger(),
			Metrics:     reg,
		}
	}
	if _, ok := cfg.Venue(events.VenueHyperliquid); ok && d.Secrets.Hyperliquid != nil {
		network, _ := wire.ParseNetwork(sec.Hyperliquid.Network) // ResolveExecutor checked it
		signer := crypto.PubkeyToAddress(d.Secrets.Hyperliquid.PublicKey)
		prefix := "rebal:v1:{" + strings.ToLower(signer.Hex()) + "}:hl:"
		vc.Hyperliquid = &hyperliquid.Config{
			BaseURL: sec.Hyperliquid.BaseURL,
			Network: network,
			Key:     hyperliquid.NewKey(d.Secrets.Hyperliquid),
			Nonces:  RedisNonces{R: d.Redis, Key: prefix + "nonce"},
			Log:     o.Log.With().Str("venue", events.VenueHyperliquid).Logger(),
			Metrics: reg,
		}
		vc.HyperliquidVenue = hyperliquid.VenueConfig{Store: RedisPrepared{R: d.Redis, Prefix: prefix + "prepared:"}}
		if arb, ok := cfg.TokenOn("USDC", 42161); ok {
			vc.HyperliquidVenue.ArbitrumUSDC = commonAddress(arb.Address)
		}
		if sec.Hyperliquid.Bridge2 != "" {
			vc.HyperliquidVenue.Bridge2 = commonAddress(sec.Hyperliquid.Bridge2)
		}
		if sec.Hyperliquid.CoreDepositWallet != "" {
			vc.HyperliquidVenue.CoreDepositWallet = commonAddress(sec.Hyperliquid.CoreDepositWallet)
		}
		if sec.Hyperliquid.HyperEVMPayer != "" {
			vc.HyperliquidVenue.HyperEVMPayer = commonAddress(sec.Hyperliquid.HyperEVMPayer)
		}
	}
	return vc
}

// BuildVenues connects the venue adapters the configuration enables and the secrets allow; sec
// must come from ResolveExecutor. Both adapters talk to their venue here (clock, symbol rules,
// spot metadata), so an unreachable venue fails the start.
func BuildVenues(ctx context.Context, cfg *config.Config, sec ExecutorSection, d ExecutorDeps, o Options) (map[string]executor.Venue, error) {
	vc := ExecutorVenueConfigs(cfg, sec, d, o)
	venues := map[string]executor.Venue{}
	if vc.Binance != nil {
		c, err := binance.New(ctx, *vc.Binance)
		if err != nil {
			return nil, fmt.Errorf("binance: %w", err)
		}
		venues[events.VenueBinance] = c
	}
	if vc.Hyperliquid != nil {
		c, err := hyperliquid.New(ctx, *vc.Hyperliquid)
		if err != nil {
			return nil, fmt.Errorf("hyperliquid: %w", err)
		}
		v, err := hyperliquid.NewVenue(c, vc.HyperliquidVenue)
		if err != nil {
			return nil, fmt.Errorf("hyperliquid: %w", err)
		}
		venues[events.VenueHyperliquid] = v
	}
	return venues, nil
}

// ExecutorConfig builds the executor's configuration from the file and its resolved section.
func ExecutorConfig(cfg *config.Config, sec ExecutorSection) executor.Config {
	return executor.Config{
		ReplicaID:          os.Getenv("POD_NAME"),
		Accounts:           cfg.Accounts,
		Routes:             ExecutorRoutes(cfg),
		MaxPerIntent:       sec.MaxPerIntent,
		MaxPerDay:          sec.MaxPerDay,
		DefaultStepTimeout: sec.StepTimeout.Duration,
		LeaseTTL:           sec.LeaseTTL.Duration,
		DryRun:             sec.DryRun,
	}
}

// RunExecutor runs the executor until ctx ends.
func RunExecutor(ctx context.Context, cfg *config.Config, o Options, d ExecutorDeps) error {
	sec, err := ResolveExecutor(cfg)
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
	ec := ExecutorConfig(cfg, sec)
	if o.DryRun && !ec.DryRun {
		ec.DryRun = true
		o.Log.Warn().Str("service", "executor").Msgf("dry run forced by %s: the executor decides and logs, and sends nothing", EnvDryRun)
	}
	return executor.Run(ctx, ec, executor.Deps{
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
	// A bad executor section fails before anything is connected; RunExecutor resolves it again.
	if _, err := ResolveExecutor(cfg); err != nil {
		return err
	}
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

package devnet

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// Options configure the infrastructure.
type Options struct {
	// BlockInterval seals a block on every chain this often (default 300ms).
	BlockInterval time.Duration
	// Seed fixes the starting imbalance and the load (0: random).
	Seed uint64
	Log  zerolog.Logger
}

// Infra is everything devnet runs besides the three services.
type Infra struct {
	Dir         string
	NATS        *localinfra.NATS
	RedisURL    string
	RedisSource RedisSource
	Chains      simchain.Set
	Config      *config.Config
	// Relayer is the relayer account's key, made for this run and never written to disk.
	Relayer *ecdsa.PrivateKey
	// User stands for the relayer's users: the load driver's refills come from it.
	User *ecdsa.PrivateKey

	Binance       *simbinance.Sim
	BinanceURL    string
	BinanceKey    string
	BinanceSecret string

	Hyperliquid    *hlsim.Sim
	HyperliquidURL string
	// Bridge2 is the simulated Bridge2 address on Arbitrum.
	Bridge2 common.Address
	// HyperEVMPayer sends the simulator's HyperEVM payouts (the venue sends them from the token's
	// system address, which a simulated chain cannot sign for).
	HyperEVMPayer common.Address

	Seed    uint64
	stops   []func()
	started time.Time
}

// Start brings up NATS, Redis, the chains and the venue simulators, funds the relayer with a
// deliberate imbalance around its targets and returns the configuration the services use: the
// embedded devnet file with URLs pointing at what was started.
func Start(ctx context.Context, o Options) (_ *Infra, err error) {
	if o.BlockInterval <= 0 {
		o.BlockInterval = 300 * time.Millisecond
	}
	if o.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		o.Seed = new(big.Int).SetBytes(b[:]).Uint64()
	}
	dir, err := os.MkdirTemp("", "rebalancer-devnet-")
	if err != nil {
		return nil, err
	}
	in := &Infra{Dir: dir, Seed: o.Seed, started: time.Now()}
	in.stops = append(in.stops, func() { _ = os.RemoveAll(dir) })
	defer func() {
		if err != nil {
			in.Close()
		}
	}()

	if in.NATS, err = localinfra.StartNATS(localinfra.NATSOptions{StoreDir: dir + "/nats"}); err != nil {
		return nil, err
	}
	in.stops = append(in.stops, in.NATS.Stop)
	url, src, stopRedis, err := startRedis(ctx, dir, o.Log)
	if err != nil {
		return nil, err
	}
	in.RedisURL, in.RedisSource = url, src
	in.stops = append(in.stops, stopRedis)

	keys := map[string]*ecdsa.PrivateKey{}
	for _, name := range []string{"relayer", "user", "binance-hot", "hl-bridge2", "hl-payer"} {
		if keys[name], err = crypto.GenerateKey(); err != nil {
			return nil, err
		}
	}
	in.Relayer, in.User = keys["relayer"], keys["user"]
	var cfgs []simchain.Config
	for _, c := range simchain.DefaultChains() {
		c = simchain.WithDevnetDefaults(c, o.BlockInterval)
		// The configuration calls USDT0 by the token it stands for, USDT (DESIGN §2).
		for i, t := range c.Tokens {
			if t.Symbol == "USDT0" {
				c.Tokens[i].Symbol, c.Tokens[i].Name = "USDT", "USDT0"
			}
		}
		for _, k := range keys {
			c.Funded = append(c.Funded, crypto.PubkeyToAddress(k.PublicKey))
		}
		cfgs = append(cfgs, c)
	}
	if in.Chains, err = simchain.StartAll(cfgs); err != nil {
		return nil, err
	}
	in.stops = append(in.stops, func() { _ = in.Chains.Close() })

	cfg := config.Default()
	relayer := crypto.PubkeyToAddress(in.Relayer.PublicKey)
	cfg.Accounts = []string{relayer.Hex()}
	var chains []config.Chain
	for _, c := range cfg.Chains {
		sc := in.Chains.ByID(c.ID)
		if sc == nil {
			continue
		}
		c.RPC = []string{sc.RPCURL()}
		// Devnet blocks are final as soon as they exist, and come fast.
		c.Confirmations = 0
		c.Tag = ""
		c.PollInterval = config.Duration{Duration: o.BlockInterval}
		chains = append(chains, c)
	}
	cfg.Chains = chains
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("devnet config: %w", err)
	}
	in.Config = cfg

	if err := in.fund(ctx, keys, o.Seed); err != nil {
		return nil, err
	}
	if err := in.startBinance(ctx, keys["binance-hot"], o); err != nil {
		return nil, err
	}
	if err := in.startHyperliquid(ctx, keys["hl-bridge2"], keys["hl-payer"], o); err != nil {
		return nil, err
	}
	return in, nil
}

// fund gives the relayer a deliberate imbalance around its targets: for every token one chain
// starts in deficit (10–35% of target, below any sane threshold), one in excess (210–300%, above
// max), and the rest anywhere in those bands or near the target, all from the seed. The venues' hot
// wallets and the load's user get deep pockets.
func (in *Infra) fund(ctx context.Context, keys map[string]*ecdsa.PrivateKey, seed uint64) error {
	rng := mrand.New(mrand.NewPCG(seed, seed^0x5bd1e995)) //nolint:gosec // a seeded sequence is the point: runs are repeatable
	relayer := crypto.PubkeyToAddress(in.Relayer.PublicKey)
	bands := [][2]int{{10, 35}, {210, 300}, {60, 140}}
	seen := map[string]int{}
	targets := append([]config.Target(nil), in.Config.Targets...)
	rng.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
	for _, t := range targets {
		c := in.Chains.ByID(t.Chain)
		tc, ok := in.Config.TokenOn(t.Token, t.Chain)
		if c == nil || !ok {
			continue
		}
		target, err := t.Target.Units(tc.Decimals)
		if err != nil {
			return err
		}
		band := bands[rng.IntN(len(bands))]
		if n := seen[t.Token]; n < 2 {
			band = bands[n] // the first chain of each token in deficit, the second in excess
		}
		seen[t.Token]++
		pct := band[0] + rng.IntN(band[1]-band[0]+1)
		amt := new(big.Int).Mul(target, big.NewInt(int64(pct)))
		amt.Quo(amt, big.NewInt(100))
		if err := c.Mint(ctx, t.Token, relayer, amt); err != nil {
			return fmt.Errorf("fund relayer %s on %d: %w", t.Token, t.Chain, err)
		}
		// Venue wallets: a hundred times the target, enough for any devnet run.
		deep := new(big.Int).Mul(target, big.NewInt(100))
		for _, name := range []string{"user", "binance-hot", "hl-bridge2", "hl-payer"} {
			if err := c.Mint(ctx, t.Token, crypto.PubkeyToAddress(keys[name].PublicKey), deep); err != nil {
				return fmt.Errorf("fund %s %s on %d: %w", name, t.Token, t.Chain, err)
			}
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (in *Infra) startBinance(ctx context.Context, hot *ecdsa.PrivateKey, o Options) error {
	in.BinanceKey, in.BinanceSecret = randomHex(32), randomHex(32)
	var networks []simbinance.Network
	for _, c := range in.Chains {
		if n, ok := simbinance.DevnetNetwork(c); ok {
			networks = append(networks, n)
		}
	}
	sim, err := simbinance.New(simbinance.Config{
		Accounts:     []simbinance.Account{{APIKey: in.BinanceKey, Secret: in.BinanceSecret}},
		Networks:     networks,
		HotWallet:    hot,
		PollInterval: o.BlockInterval,
	})
	if err != nil {
		return fmt.Errorf("binance simulator: %w", err)
	}
	url, err := sim.Listen("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("binance simulator: %w", err)
	}
	in.Binance, in.BinanceURL = sim, url
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sim.Start(sctx); err != nil && !errors.Is(err, context.Canceled) {
			o.Log.Error().Err(err).Msg("binance simulator stopped")
		}
	}()
	in.stops = append(in.stops, func() { cancel(); <-done; _ = sim.Close() })
	return nil
}

func (in *Infra) startHyperliquid(ctx context.Context, bridge, payer *ecdsa.PrivateKey, o Options) error {
	arb, evm := in.Chains.ByID(42161), in.Chains.ByID(999)
	if arb == nil || evm == nil {
		return errors.New("hyperliquid simulator needs the Arbitrum and HyperEVM chains")
	}
	levels := func(side int) []hlsim.Level {
		if side < 0 {
			return []hlsim.Level{{Px: "0.9998", Sz: "200000"}, {Px: "0.9995", Sz: "500000"}, {Px: "0.999", Sz: "1000000"}}
		}
		return []hlsim.Level{{Px: "1.0002", Sz: "200000"}, {Px: "1.0005", Sz: "500000"}, {Px: "1.001", Sz: "1000000"}}
	}
	tokens, pairs := hlsim.MainnetLikeTokens(evm.TokenAddress("USDC"), evm.TokenAddress("USDT"), levels(-1), levels(1))
	sim, err := hlsim.New(hlsim.Config{
		Network:      wire.Mainnet,
		Tokens:       tokens,
		Pairs:        pairs,
		Arbitrum:     &hlsim.Arbitrum{RPCURL: arb.RPCURL(), USDC: arb.TokenAddress("USDC"), BridgeKey: bridge},
		HyperEVM:     &hlsim.HyperEVM{RPCURL: evm.RPCURL(), PayerKey: payer},
		PollInterval: o.BlockInterval,
	}, o.Log.With().Str("sim", "hyperliquid").Logger())
	if err != nil {
		return fmt.Errorf("hyperliquid simulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	in.Hyperliquid, in.HyperliquidURL = sim, "http://"+ln.Addr().String()
	in.Bridge2 = crypto.PubkeyToAddress(bridge.PublicKey)
	in.HyperEVMPayer = crypto.PubkeyToAddress(payer.PublicKey)
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sim.Serve(sctx, ln); err != nil && !errors.Is(err, context.Canceled) {
			o.Log.Error().Err(err).Msg("hyperliquid simulator stopped")
		}
	}()
	in.stops = append(in.stops, func() { cancel(); <-done })
	return nil
}

// Close stops everything Start started, in reverse order.
func (in *Infra) Close() {
	for i := len(in.stops) - 1; i >= 0; i-- {
		in.stops[i]()
	}
	in.stops = nil
}

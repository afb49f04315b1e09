package executor

import (
	"context"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// hlChains are the Hyperliquid route's chains: Arbitrum (Bridge2, withdraw3) and HyperEVM
// (CoreDepositWallet and system addresses, spotSend).
var hlChains = []uint64{simchain.Arbitrum, simchain.HyperEVM}

// hlWorld is the Hyperliquid side of a harness: the simulator (over HTTP, bridging the simulated
// chains) and the real adapter the executor drives.
type hlWorld struct {
	sim    *hlsim.Sim
	venue  *hyperliquid.Venue
	payer  common.Address
	bridge common.Address
	// prepared is the adapter's store of signed actions (the venue-inclusive check reads it).
	prepared *hyperliquid.FilePreparedStore
}

// Unattributed venue balances the account starts with: the executor must never take them.
var hlUnattributed = map[string]*big.Int{"USDC": big.NewInt(250_00000000), "USDT0": big.NewInt(120_00000000)}

// newHLHarness builds a harness whose executor drives the Hyperliquid venue: simulated Arbitrum and
// HyperEVM (USDT0 called USDT, as in the configuration), the Hyperliquid simulator reached through
// the real adapter, redis-server (withAOF: append-only, for restarts) and JetStream.
func newHLHarness(t *testing.T, opts ...harnessOption) (*harness, *hlWorld) {
	t.Helper()
	var o harnessOptions
	for _, f := range opts {
		f(&o)
	}
	h := &harness{t: t, chains: map[uint64]*simchain.Chain{}, clients: map[uint64]*chain.Client{}, intents: map[string]*events.RebalanceIntent{},
		key: simchain.DevKey("relayer"), log: testLogger(t), venueName: events.VenueHyperliquid, chainIDs: hlChains, feesFromLegs: true}
	h.account = crypto.PubkeyToAddress(h.key.PublicKey)
	bridgeKey, payerKey := simchain.DevKey("hl-bridge2"), simchain.DevKey("hl-payer")
	w := &hlWorld{payer: crypto.PubkeyToAddress(payerKey.PublicKey), bridge: crypto.PubkeyToAddress(bridgeKey.PublicKey)}
	var cfgRoutes []RouteConfig
	for _, id := range hlChains {
		cc, ok := simchain.DefaultChain(id)
		require.True(t, ok)
		cc.AutoMine = true
		cc.Funded = []common.Address{h.account, w.payer, w.bridge}
		for i := range cc.Tokens {
			if cc.Tokens[i].Symbol == "USDT0" {
				cc.Tokens[i].Symbol, cc.Tokens[i].Name = "USDT", "USDT0"
			}
			unit := pow10(cc.Tokens[i].Decimals)
			cc.Tokens[i].Balances = map[common.Address]*big.Int{
				h.account: new(big.Int).Mul(big.NewInt(initialTokens), unit),
				w.payer:   new(big.Int).Mul(big.NewInt(100*initialTokens), unit),
				w.bridge:  new(big.Int).Mul(big.NewInt(100*initialTokens), unit),
			}
		}
		sim, err := simchain.New(cc)
		require.NoError(t, err)
		t.Cleanup(func() { _ = sim.Close() })
		h.chains[id] = sim
		c, err := chain.Dial(context.Background(), chain.Config{ChainID: id, Name: cc.Name, RPCURLs: sim.Endpoints(),
			Multicall: contracts.MulticallAddress, Finality: chain.FinalityLatest, CallTimeout: 5 * time.Second,
			Retry: chain.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}})
		require.NoError(t, err)
		t.Cleanup(c.Close)
		h.clients[id] = c
		network := map[uint64]string{simchain.Arbitrum: "bridge2", simchain.HyperEVM: "hyperevm"}[id]
		for _, tok := range cc.Tokens {
			if id == simchain.Arbitrum && tok.Symbol != "USDC" {
				continue // Hyperliquid takes native USDC only on Arbitrum
			}
			cfgRoutes = append(cfgRoutes, RouteConfig{Venue: events.VenueHyperliquid, Token: tok.Symbol, ChainID: id, Network: network,
				TokenAddress: tok.Address.Hex(), Decimals: tok.Decimals})
		}
	}
	arb, evm := h.chains[simchain.Arbitrum], h.chains[simchain.HyperEVM]
	levels := func(side int) []hlsim.Level {
		if side < 0 {
			return []hlsim.Level{{Px: "0.9998", Sz: "2000000"}, {Px: "0.9995", Sz: "5000000"}}
		}
		return []hlsim.Level{{Px: "1.0002", Sz: "2000000"}, {Px: "1.0005", Sz: "5000000"}}
	}
	tokens, pairs := hlsim.MainnetLikeTokens(evm.TokenAddress("USDC"), evm.TokenAddress("USDT"), levels(-1), levels(1))
	sim, err := hlsim.New(hlsim.Config{Network: wire.Mainnet, Tokens: tokens, Pairs: pairs,
		Arbitrum:        &hlsim.Arbitrum{RPCURL: arb.RPCURL(), USDC: arb.TokenAddress("USDC"), BridgeKey: bridgeKey},
		HyperEVM:        &hlsim.HyperEVM{RPCURL: evm.RPCURL(), PayerKey: payerKey},
		WeightPerMinute: 1 << 30, PollInterval: 20 * time.Millisecond}, testLogger(t))
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sim.Start(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { return sim.CoreDepositWallet() != common.Address{} }, 10*time.Second, 10*time.Millisecond)
	for tok, amt := range hlUnattributed {
		require.NoError(t, sim.Credit(h.account, tok, amt))
	}
	w.sim = sim

	dir := t.TempDir()
	nonces, err := hyperliquid.NewFileNonces(dir+"/nonce", nil)
	require.NoError(t, err)
	store, err := hyperliquid.NewFilePreparedStore(dir + "/prepared")
	require.NoError(t, err)
	ctx, cancelNew := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelNew()
	client, err := hyperliquid.New(ctx, hyperliquid.Config{BaseURL: srv.URL, Network: wire.Mainnet, Key: hyperliquid.NewKey(h.key),
		Nonces: nonces, LookupLag: 100 * time.Millisecond, Timeout: 2 * time.Second, WeightPerMinute: 1 << 30, Log: h.log,
		Sleep: func(ctx context.Context, d time.Duration) error {
			// Back-off is the adapter's business; bound it so tests do not wait the venue's windows.
			t := time.NewTimer(min(d, 10*time.Millisecond))
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}})
	require.NoError(t, err)
	v, err := hyperliquid.NewVenue(client, hyperliquid.VenueConfig{ArbitrumChainID: simchain.Arbitrum, ArbitrumUSDC: arb.TokenAddress("USDC"),
		Bridge2: sim.Bridge2(), HyperEVMChainID: simchain.HyperEVM, CoreDepositWallet: sim.CoreDepositWallet(),
		HyperEVMPayer: w.payer, Store: store})
	require.NoError(t, err)
	w.venue = v
	w.prepared = store
	h.real = v
	h.venueRead = h.hlVenueRead(w)

	if o.aof {
		h.redis = testenv.StartRedis(t, testenv.WithAOF())
	} else {
		h.redis = testenv.StartRedis(t)
	}
	h.rdb = h.redis.Client(t)
	h.nats = testenv.NATS(t)
	h.pub = h.connect("planner")
	h.cfg = Config{
		Accounts: []string{h.account.Hex()}, Routes: cfgRoutes, MaxPerIntent: "100000",
		MaxPerDay: map[string]string{events.VenueHyperliquid: "10000000"}, DefaultStepTimeout: 5 * time.Minute,
		LeaseTTL: time.Second, Tick: 20 * time.Millisecond, Poll: 60 * time.Millisecond, ResubmitLag: 300 * time.Millisecond,
		GC: pending.GCPolicy{Retention: time.Hour},
	}
	return h, w
}

// hlIntent builds a Hyperliquid intent of whole tokens; minAmountOut leaves room for the book's
// spread, the taker fee and withdraw3's 1 USDC.
func (h *harness) hlIntent(srcChain uint64, src string, dstChain uint64, dst string, whole int64) *events.RebalanceIntent {
	sdec, ddec := h.decimals(srcChain, src), h.decimals(dstChain, dst)
	in := venue.NewAmount(new(big.Int).Mul(big.NewInt(whole), pow10(sdec)), sdec)
	r := new(big.Rat).Mul(in.Rat(), big.NewRat(99, 100))
	r.Sub(r, big.NewRat(2, 1))
	out, _ := venue.FromRat(r, ddec, venue.Down)
	id := randomID()
	it := &events.RebalanceIntent{
		Meta:    events.NewMeta(events.TypeRebalanceIntent, id, "", "planner", time.Now()),
		Basis:   events.Basis{Seq: 1, ConfigHash: "cfg"},
		Account: h.account.Hex(), Venue: events.VenueHyperliquid,
		Route:    events.Route{SrcChain: srcChain, SrcToken: src, SrcDecimals: sdec, DstChain: dstChain, DstToken: dst, DstDecimals: ddec},
		AmountIn: events.NewAmount(in.Units), MinAmountOut: events.NewAmount(out.Units),
		MaxFee:   events.NewAmount(new(big.Int).Quo(in.Units, big.NewInt(20))),
		Deadline: time.Now().Add(time.Hour),
		Why:      events.Justification{Excess: events.AmountFromInt64(0), Deficit: events.AmountFromInt64(0), CostEstimate: events.AmountFromInt64(0)},
	}
	h.mu.Lock()
	h.intents[id] = it
	h.mu.Unlock()
	return it
}

// venueHoldings is the account's HyperCore balances per token (spot, plus perp USDC), in wei.
func (w *hlWorld) venueHoldings(account common.Address) map[string]*big.Int {
	usdc := new(big.Int).Add(w.sim.SpotBalance(account, "USDC"), w.sim.PerpBalance(account))
	return map[string]*big.Int{"USDC": usdc, "USDT0": w.sim.SpotBalance(account, "USDT0")}
}

func hlKey(chainID uint64, token string) venue.Key { return venue.Key{Token: token, ChainID: chainID} }

package hyperliquid_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// The contract suite runs the adapter against the simulator over real HTTP: every operation, the
// look-ups before resubmission, partial fills and each injected fault.

var (
	defaultBids = []hlsim.Level{{Px: "0.9995", Sz: "5000"}, {Px: "0.999", Sz: "5000"}}
	defaultAsks = []hlsim.Level{{Px: "1.0001", Sz: "300"}, {Px: "1.0003", Sz: "300"}, {Px: "1.001", Sz: "10000"}}
)

type env struct {
	sim    *hlsim.Sim
	url    string
	key    *ecdsa.PrivateKey
	user   common.Address
	client *hyperliquid.Client
}

type envOpts struct {
	network  wire.Network // the simulator's network
	tokens   []hlsim.Token
	pairs    []hlsim.Pair
	arbitrum *hlsim.Arbitrum
	hyperEVM *hlsim.HyperEVM
	weight   int
	delay    uint64
}

func usd(s string) *big.Int { // a decimal in 8-decimal HyperCore wei
	v, err := wire.ParseDecimal(s, 8)
	if err != nil {
		panic(err)
	}
	return v
}

func newSim(t testing.TB, o envOpts) (*hlsim.Sim, string) {
	t.Helper()
	if o.network == 0 {
		o.network = wire.Mainnet
	}
	if o.tokens == nil {
		o.tokens, o.pairs = hlsim.MainnetLikeTokens(common.HexToAddress("0xb88339CB7199b77E23DB6E890353E22632Ba630f"),
			common.HexToAddress("0xB8CE59FC3717ada4C02eaDF9682A9e934F625ebb"), defaultBids, defaultAsks)
	}
	sim, err := hlsim.New(hlsim.Config{Network: o.network, Tokens: o.tokens, Pairs: o.pairs, Arbitrum: o.arbitrum,
		HyperEVM: o.hyperEVM, PollInterval: 20 * time.Millisecond, WeightPerMinute: o.weight, CreditDelayBlocks: o.delay}, zerolog.Nop())
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func newClient(t testing.TB, url string, key *ecdsa.PrivateKey, network wire.Network, mutate ...func(*hyperliquid.Config)) *hyperliquid.Client {
	t.Helper()
	nonces, err := hyperliquid.NewFileNonces(t.TempDir()+"/nonce", nil)
	require.NoError(t, err)
	cfg := hyperliquid.Config{BaseURL: url, Network: network, Key: hyperliquid.NewKey(key), Nonces: nonces,
		LookupLag: 300 * time.Millisecond, Timeout: 2 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := hyperliquid.New(ctx, cfg)
	require.NoError(t, err)
	return c
}

func newEnv(t *testing.T, o envOpts, mutate ...func(*hyperliquid.Config)) *env {
	t.Helper()
	sim, url := newSim(t, o)
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	e := &env{sim: sim, url: url, key: key, user: crypto.PubkeyToAddress(key.PublicKey)}
	require.NoError(t, sim.Credit(e.user, "USDC", usd("1000")))
	network := o.network
	if network == 0 {
		network = wire.Mainnet
	}
	e.client = newClient(t, url, key, network, mutate...)
	return e
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func rat(s string) *big.Rat {
	r, err := wire.ParseRat(s)
	if err != nil {
		panic(err)
	}
	return r
}

func TestMetaResolvedFromSpotMeta(t *testing.T) {
	e := newEnv(t, envOpts{})
	m := e.client.Meta()
	require.Equal(t, uint32(10166), m.Asset)
	require.Equal(t, "@166", m.Coin)
	require.Equal(t, uint32(268), m.Base.Index)
	require.Equal(t, 2, m.Base.SzDecimals)
	require.Equal(t, 8, m.Base.WeiDecimals)
	require.Equal(t, 6, m.Base.EVMDecimals)
	require.Equal(t, "USDT0:0x25faedc3f054130dbb4e4203aca63567", m.Base.Wire())
	require.Equal(t, common.HexToAddress("0x200000000000000000000000000000000000010c"), m.Base.SystemAddress())
	require.Equal(t, common.HexToAddress("0x2000000000000000000000000000000000000000"), m.Quote.SystemAddress())

	// Another universe index is discovered, not assumed.
	tokens, pairs := hlsim.MainnetLikeTokens(common.Address{1}, common.Address{2}, defaultBids, defaultAsks)
	pairs[0].Index = 42
	sim, url := newSim(t, envOpts{tokens: tokens, pairs: pairs})
	_ = sim
	key, _ := crypto.GenerateKey()
	c := newClient(t, url, key, wire.Mainnet)
	require.Equal(t, uint32(10042), c.Meta().Asset)
	require.Equal(t, "@42", c.Meta().Coin)
}

func TestBalancesBookFees(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := ctxT(t)
	b, err := e.client.Balance(ctx, "USDC")
	require.NoError(t, err)
	require.Equal(t, usd("1000"), b.Total)
	require.Equal(t, usd("1000"), b.Available)
	z, err := e.client.Balance(ctx, "USDT0")
	require.NoError(t, err)
	require.Zero(t, z.Total.Sign())

	book, err := e.client.Book(ctx)
	require.NoError(t, err)
	require.Len(t, book.Asks, 3)
	require.Equal(t, 0, book.Asks[0].Px.Cmp(rat("1.0001")))
	require.Equal(t, usd("300"), book.Asks[0].Sz)
	require.Equal(t, 0, book.Bids[0].Px.Cmp(rat("0.9995")))

	fees, err := e.client.Fees(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, fees.Taker.Cmp(big.NewRat(7, 10000)))
}

// checkBalancesMoved asserts the account's balances moved by exactly the order's amounts.
func checkBalancesMoved(t *testing.T, e *env, res hyperliquid.OrderResult, usdcBefore, usdtBefore *big.Int, isBuy bool) {
	t.Helper()
	usdc := e.sim.SpotBalance(e.user, "USDC")
	usdt := e.sim.SpotBalance(e.user, "USDT0")
	if isBuy {
		require.Equal(t, new(big.Int).Sub(usdcBefore, res.Quote), usdc)
		require.Equal(t, new(big.Int).Add(usdtBefore, res.Received()), usdt)
		return
	}
	require.Equal(t, new(big.Int).Add(usdcBefore, res.Received()), usdc)
	require.Equal(t, new(big.Int).Sub(usdtBefore, res.Base), usdt)
}

func TestIOCOrders(t *testing.T) {
	tests := []struct {
		name      string
		isBuy     bool
		size      string
		limit     string
		status    string
		base      string // filled
		quote     string // paid or received
		fee       string
		feeToken  string
		reason    string
		fundUSDT0 string
	}{
		{name: "buy fills one level", isBuy: true, size: "100", limit: "1.0001", status: hyperliquid.OrderFilled,
			base: "100", quote: "100.01", fee: "0.07", feeToken: "USDT0"},
		{name: "buy walks levels", isBuy: true, size: "500", limit: "1.001", status: hyperliquid.OrderFilled,
			// 300 @ 1.0001 + 200 @ 1.0003 = 300.03 + 200.06
			base: "500", quote: "500.09", fee: "0.35", feeToken: "USDT0"},
		{name: "buy partly fills within the limit", isBuy: true, size: "700", limit: "1.0003", status: hyperliquid.OrderPartial,
			base: "600", quote: "600.12", fee: "0.42", feeToken: "USDT0"},
		{name: "buy below the best ask is rejected", isBuy: true, size: "100", limit: "1", status: hyperliquid.OrderRejected,
			base: "0", quote: "0", fee: "0", reason: "could not immediately match"},
		{name: "sell fills", isBuy: false, size: "20", limit: "0.999", status: hyperliquid.OrderFilled, fundUSDT0: "50",
			// 20 × 0.9995 = 19.99, fee 19.99 × 0.0007 = 0.013993 rounded up to 8 decimals
			base: "20", quote: "19.99", fee: "0.013993", feeToken: "USDC"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			ctx := ctxT(t)
			if tc.fundUSDT0 != "" {
				require.NoError(t, e.sim.Credit(e.user, "USDT0", usd(tc.fundUSDT0)))
			}
			usdcBefore, usdtBefore := e.sim.SpotBalance(e.user, "USDC"), e.sim.SpotBalance(e.user, "USDT0")
			res, err := e.client.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "intent-" + tc.name, Attempt: i,
				IsBuy: tc.isBuy, Size: usd(tc.size), LimitPx: rat(tc.limit)})
			require.NoError(t, err)
			require.Equal(t, tc.status, res.Status)
			require.Equal(t, usd(tc.base), res.Base)
			require.Equal(t, usd(tc.quote), res.Quote)
			require.Equal(t, usd(tc.fee), res.Fee)
			if tc.reason != "" {
				require.Contains(t, res.Reason, tc.reason)
				require.Equal(t, usdcBefore, e.sim.SpotBalance(e.user, "USDC"))
				return
			}
			require.Equal(t, tc.feeToken, res.FeeToken)
			checkBalancesMoved(t, e, res, usdcBefore, usdtBefore, tc.isBuy)
		})
	}
}

func TestOrderValidation(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := ctxT(t)
	_, err := e.client.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "small", IsBuy: true, Size: usd("9"), LimitPx: rat("1.0001")})
	require.ErrorIs(t, err, hyperliquid.ErrBelowMinimum)
	_, err = e.client.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "frac", IsBuy: true, Size: usd("10.001"), LimitPx: rat("1.0001")})
	require.Error(t, err, "sizes finer than szDecimals are refused")
	// Too large for the balance at the limit price: the venue refuses it.
	res, err := e.client.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "big", IsBuy: true, Size: usd("2000"), LimitPx: rat("1.001")})
	require.NoError(t, err)
	require.Equal(t, hyperliquid.OrderRejected, res.Status)
	require.Contains(t, res.Reason, "Insufficient spot balance")
	// An unrepresentable limit is rounded inside the bound (down for a buy): 1.000149 → 1.0001.
	res, err = e.client.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "tick", IsBuy: true, Size: usd("10"), LimitPx: rat("1.000149")})
	require.NoError(t, err)
	require.Equal(t, hyperliquid.OrderFilled, res.Status)
}

func TestPlanThenOrder(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := ctxT(t)
	book, err := e.client.Book(ctx)
	require.NoError(t, err)
	fees, err := e.client.Fees(ctx)
	require.NoError(t, err)
	plan, err := hyperliquid.PlanBuy(e.client.Meta(), book, usd("400"), fees.Taker, nil)
	require.NoError(t, err)
	require.LessOrEqual(t, plan.Spend.Cmp(usd("400")), 0, "reserved value fits the budget")
	res, err := e.client.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "plan", IsBuy: true, Size: plan.Size, LimitPx: plan.LimitPx})
	require.NoError(t, err)
	require.Equal(t, hyperliquid.OrderFilled, res.Status)
	require.GreaterOrEqual(t, res.Received().Cmp(plan.Expected), 0, "the plan never promises more than the fill")
	require.LessOrEqual(t, res.Quote.Cmp(usd("400")), 0)

	sell, err := hyperliquid.PlanSell(e.client.Meta(), book, res.Received(), fees.Taker, rat("0.999"))
	require.NoError(t, err)
	res2, err := e.client.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "plan-sell", IsBuy: false, Size: sell.Size, LimitPx: sell.LimitPx})
	require.NoError(t, err)
	require.Equal(t, sell.Size, res2.Base)
	require.Equal(t, sell.Expected, res2.Received())

	_, err = hyperliquid.PlanBuy(e.client.Meta(), book, usd("400"), fees.Taker, rat("1"))
	require.ErrorIs(t, err, hyperliquid.ErrNoLiquidity)
}

func TestPlaceIOCLooksUpBeforeResubmitting(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := ctxT(t)
	req := hyperliquid.OrderRequest{IntentID: "once", IsBuy: true, Size: usd("50"), LimitPx: rat("1.0001")}
	first, err := e.client.PlaceIOC(ctx, req)
	require.NoError(t, err)
	second, err := e.client.PlaceIOC(ctx, req) // e.g. after a restart
	require.NoError(t, err)
	require.Equal(t, first, second)
	cloid := hyperliquid.Cloid("once", 0)
	require.Equal(t, 1, e.sim.Count(hlsim.EvOrder, e.user, cloid))
	require.Equal(t, 1, countRequests(e.sim, "order"), "the second call only looked up")

	// A rejected attempt is found too, and a new attempt is a new cloid.
	rej := hyperliquid.OrderRequest{IntentID: "rej", IsBuy: true, Size: usd("50"), LimitPx: rat("0.5")}
	r1, err := e.client.PlaceIOC(ctx, rej)
	require.NoError(t, err)
	require.Equal(t, hyperliquid.OrderRejected, r1.Status)
	r2, err := e.client.PlaceIOC(ctx, rej)
	require.NoError(t, err)
	require.Equal(t, hyperliquid.OrderRejected, r2.Status)
	require.Equal(t, 1, e.sim.Count(hlsim.EvOrderRejected, e.user, hyperliquid.Cloid("rej", 0)))
	require.NotEqual(t, hyperliquid.Cloid("rej", 0), hyperliquid.Cloid("rej", 1))
}

// countRequests counts accepted or rejected order placements (EvOrder + EvOrderRejected).
func countRequests(sim *hlsim.Sim, _ string) int {
	return sim.Count(hlsim.EvOrder, common.Address{}, "") + sim.Count(hlsim.EvOrderRejected, common.Address{}, "")
}

func TestOrderFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault hlsim.Fault
	}{
		{"response dropped after the order filled", hlsim.Fault{Endpoint: "exchange", Type: "order", Kind: hlsim.FaultDropResponse, Times: 1}},
		{"5xx before the order", hlsim.Fault{Endpoint: "exchange", Type: "order", Kind: hlsim.FaultServerError, Status: 503, Times: 1}},
		{"429 before the order", hlsim.Fault{Endpoint: "exchange", Type: "order", Kind: hlsim.FaultRateLimit, Times: 2}},
		{"latency beyond the client timeout", hlsim.Fault{Endpoint: "exchange", Type: "order", Kind: hlsim.FaultLatency, Delay: 600 * time.Millisecond, Times: 1}},
		{"order status lookups rate limited", hlsim.Fault{Endpoint: "info", Type: "orderStatus", Kind: hlsim.FaultRateLimit, Times: 2}},
		{"order status lookup answer dropped", hlsim.Fault{Endpoint: "info", Type: "orderStatus", Kind: hlsim.FaultDropResponse, Times: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{}, func(c *hyperliquid.Config) { c.Timeout = 300 * time.Millisecond })
			ctx := ctxT(t)
			e.sim.InjectFault(tc.fault)
			usdcBefore, usdtBefore := e.sim.SpotBalance(e.user, "USDC"), e.sim.SpotBalance(e.user, "USDT0")
			res, err := e.client.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "fault", IsBuy: true, Size: usd("100"), LimitPx: rat("1.0001")})
			require.NoError(t, err)
			require.Equal(t, hyperliquid.OrderFilled, res.Status)
			require.Equal(t, usd("100"), res.Base)
			require.Equal(t, 1, e.sim.Count(hlsim.EvOrder, e.user, hyperliquid.Cloid("fault", 0)), "exactly one order")
			require.Positive(t, e.sim.Count(hlsim.EvFault, common.Address{}, ""), "the fault fired")
			checkBalancesMoved(t, e, res, usdcBefore, usdtBefore, true)
		})
	}
}

func TestSignaturesAndNoncesVerified(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := ctxT(t)

	t.Run("wrong network", func(t *testing.T) {
		testnet := newClient(t, e.url, e.key, wire.Testnet)
		_, err := testnet.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "net", IsBuy: true, Size: usd("20"), LimitPx: rat("1.0001")})
		var ve *hyperliquid.VenueError
		require.ErrorAs(t, err, &ve)
		require.Contains(t, ve.Msg, "does not exist")
		p, err := testnet.PrepareWithdraw(ctx, e.user, usd("10"))
		require.NoError(t, err)
		_, err = testnet.SubmitTransfer(ctx, p)
		require.ErrorIs(t, err, hyperliquid.ErrRejected)
	})
	t.Run("unknown signer", func(t *testing.T) {
		other, _ := crypto.GenerateKey()
		c := newClient(t, e.url, other, wire.Mainnet)
		_, err := c.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: "who", IsBuy: true, Size: usd("20"), LimitPx: rat("1.0001")})
		require.ErrorIs(t, err, hyperliquid.ErrRejected)
	})
	t.Run("tampered payload", func(t *testing.T) {
		p, err := e.client.PrepareClassTransfer(ctx, usd("1"), true)
		require.NoError(t, err)
		var req map[string]any
		require.NoError(t, json.Unmarshal(p.Body, &req))
		req["action"].(map[string]any)["amount"] = "100"
		p.Body, err = json.Marshal(req)
		require.NoError(t, err)
		_, err = e.client.SubmitTransfer(ctx, p)
		require.ErrorIs(t, err, hyperliquid.ErrRejected)
		require.Equal(t, usd("0"), e.sim.PerpBalance(e.user))
	})
	t.Run("nonce accepted once", func(t *testing.T) {
		p, err := e.client.PrepareClassTransfer(ctx, usd("1"), true)
		require.NoError(t, err)
		r1, err := e.client.SubmitTransfer(ctx, p)
		require.NoError(t, err)
		// The same bytes again (a resend after a crash): the venue refuses the nonce, the adapter finds
		// the first transfer and returns it.
		r2, err := e.client.SubmitTransfer(ctx, p)
		require.NoError(t, err)
		require.Equal(t, r1, r2)
		require.Equal(t, usd("1"), e.sim.PerpBalance(e.user))
		require.Equal(t, 1, e.sim.Count(hlsim.EvClassTransfer, e.user, ""))
	})
}

func TestTransfersWithoutChains(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := ctxT(t)
	// usdClassTransfer both ways.
	p, err := e.client.PrepareClassTransfer(ctx, usd("30"), true)
	require.NoError(t, err)
	_, err = e.client.SubmitTransfer(ctx, p)
	require.NoError(t, err)
	w, err := e.client.PerpWithdrawable(ctx)
	require.NoError(t, err)
	require.Equal(t, usd("30"), w)
	p, err = e.client.PrepareClassTransfer(ctx, usd("5"), false)
	require.NoError(t, err)
	_, err = e.client.SubmitTransfer(ctx, p)
	require.NoError(t, err)
	require.Equal(t, usd("975"), e.sim.SpotBalance(e.user, "USDC"))

	// Insufficient balance is a rejection, not an unknown outcome.
	p, err = e.client.PrepareWithdraw(ctx, e.user, usd("1000"))
	require.NoError(t, err)
	_, err = e.client.SubmitTransfer(ctx, p)
	require.ErrorIs(t, err, hyperliquid.ErrRejected)

	// Below the fee is refused before signing.
	_, err = e.client.PrepareWithdraw(ctx, e.user, usd("1"))
	require.ErrorIs(t, err, hyperliquid.ErrBelowMinimum)
}

func TestTransferFaults(t *testing.T) {
	kinds := []hlsim.Fault{
		{Endpoint: "exchange", Type: "withdraw3", Kind: hlsim.FaultDropResponse, Times: 1},
		{Endpoint: "exchange", Type: "withdraw3", Kind: hlsim.FaultServerError, Times: 1},
		{Endpoint: "exchange", Type: "withdraw3", Kind: hlsim.FaultRateLimit, Times: 1},
		{Endpoint: "exchange", Type: "withdraw3", Kind: hlsim.FaultLatency, Delay: 600 * time.Millisecond, Times: 1},
		{Endpoint: "info", Type: "userNonFundingLedgerUpdates", Kind: hlsim.FaultServerError, Times: 2},
	}
	for _, f := range kinds {
		t.Run(f.Endpoint+"/"+f.Type+"/"+faultName(f.Kind), func(t *testing.T) {
			e := newEnv(t, envOpts{}, func(c *hyperliquid.Config) { c.Timeout = 300 * time.Millisecond })
			ctx := ctxT(t)
			p, err := e.client.PrepareClassTransfer(ctx, usd("50"), true)
			require.NoError(t, err)
			_, err = e.client.SubmitTransfer(ctx, p)
			require.NoError(t, err)
			e.sim.InjectFault(f)
			w, err := e.client.PrepareWithdraw(ctx, common.HexToAddress("0x00000000000000000000000000000000000000aa"), usd("20"))
			require.NoError(t, err)
			res, err := e.client.SubmitTransfer(ctx, w)
			require.NoError(t, err)
			require.Equal(t, usd("20"), res.Amount)
			require.Equal(t, usd("1"), res.Fee)
			require.Equal(t, 1, e.sim.Count(hlsim.EvWithdraw, e.user, ""), "exactly one withdrawal")
			require.Equal(t, usd("30"), e.sim.PerpBalance(e.user))
		})
	}
}

func faultName(k hlsim.FaultKind) string {
	return map[hlsim.FaultKind]string{hlsim.FaultLatency: "latency", hlsim.FaultDropResponse: "drop",
		hlsim.FaultServerError: "5xx", hlsim.FaultRateLimit: "429"}[k]
}

func TestUnknownOutcomeNeverSignsAgain(t *testing.T) {
	e := newEnv(t, envOpts{}, func(c *hyperliquid.Config) { c.Resends = 1 })
	ctx := ctxT(t)
	e.sim.InjectFault(hlsim.Fault{Endpoint: "exchange", Kind: hlsim.FaultServerError}) // the venue is down
	p, err := e.client.PrepareClassTransfer(ctx, usd("1"), true)
	require.NoError(t, err)
	_, err = e.client.SubmitTransfer(ctx, p)
	require.ErrorIs(t, err, hyperliquid.ErrUnknownOutcome)
	require.NotErrorIs(t, err, hyperliquid.ErrRejected, "an unknown outcome is never a rejection")
	// Once the venue is back, the same Prepared completes exactly once.
	e.sim.ClearFaults()
	_, err = e.client.SubmitTransfer(ctx, p)
	require.NoError(t, err)
	require.Equal(t, 1, e.sim.Count(hlsim.EvClassTransfer, e.user, ""))
}

package hyperliquid_test

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

func intentID(s string) string { return common.Bytes2Hex(crypto.Keccak256([]byte(s))) }

func newVenue(t *testing.T, c *chainEnv) *hyperliquid.Venue {
	t.Helper()
	store, err := hyperliquid.NewFilePreparedStore(t.TempDir())
	require.NoError(t, err)
	v, err := hyperliquid.NewVenue(c.client, hyperliquid.VenueConfig{ArbitrumUSDC: c.arb.TokenAddress("USDC"),
		Bridge2: c.sim.Bridge2(), CoreDepositWallet: c.sim.CoreDepositWallet(), Store: store})
	require.NoError(t, err)
	return v
}

func TestVenueRoutesAndQuote(t *testing.T) {
	c := newChainEnv(t)
	v := newVenue(t, c)
	ctx := ctxT(t)
	routes, err := v.Routes(ctx)
	require.NoError(t, err)
	require.Len(t, routes, 3)
	byKey := map[venue.Key]venue.Route{}
	for _, r := range routes {
		byKey[r.Key()] = r
	}
	arb := byKey[venue.Key{Token: "USDC", ChainID: simchain.Arbitrum}]
	require.Equal(t, uint8(6), arb.Decimals)
	require.Equal(t, big.NewInt(1_000_000), arb.Limits.WithdrawFee.Units)
	usdt := byKey[venue.Key{Token: "USDT", ChainID: simchain.HyperEVM}]
	require.Equal(t, "USDT0", usdt.Coin)
	require.True(t, strings.EqualFold(c.evm.TokenAddress("USDT0").Hex(), usdt.TokenAddress))

	addr, err := v.DepositAddress(ctx, arb.Key())
	require.NoError(t, err)
	require.Equal(t, c.sim.Bridge2().Hex(), addr)
	addr, err = v.DepositAddress(ctx, usdt.Key())
	require.NoError(t, err)
	require.Equal(t, c.client.Meta().Base.SystemAddress().Hex(), addr)

	// Arbitrum USDC → HyperEVM USDT: 100 USDC buys 99.99 USDT0 (100 / 1.0001 rounded down to the
	// size unit), the taker fee 0.07% comes off it, nothing is charged to HyperEVM.
	q, err := v.Quote(ctx, arb.Key(), usdt.Key(), venue.NewAmount(e6("100"), 6))
	require.NoError(t, err)
	require.True(t, q.Feasible, q.Why)
	require.Equal(t, e6("99.920007"), q.Out.Units) // 99.99 − 99.99 × 0.0007 = 99.920007
	require.Equal(t, e6("10"), q.MinIn.Units, "the minimum order value bounds the input")

	// Same token, no trade: only Bridge2's 5 USDC minimum applies.
	q, err = v.Quote(ctx, arb.Key(), venue.Key{Token: "USDC", ChainID: simchain.HyperEVM}, venue.NewAmount(e6("7"), 6))
	require.NoError(t, err)
	require.True(t, q.Feasible, q.Why)
	require.Equal(t, e6("5"), q.MinIn.Units)
	require.Equal(t, e6("7"), q.Out.Units)

	// HyperEVM USDT → Arbitrum USDC pays withdraw3's fee.
	q, err = v.Quote(ctx, usdt.Key(), arb.Key(), venue.NewAmount(e6("50"), 6))
	require.NoError(t, err)
	require.True(t, q.Feasible, q.Why)
	require.Equal(t, e6("1"), q.WithdrawFee.Units)
	// 50 × 0.9995 = 49.975, fee 0.0349825, minus 1 USDC
	require.Equal(t, e6("48.940017"), q.Out.Units)

	q, err = v.Quote(ctx, arb.Key(), usdt.Key(), venue.NewAmount(e6("4"), 6))
	require.NoError(t, err)
	require.False(t, q.Feasible)
}

func TestVenueRouteEndToEnd(t *testing.T) {
	c := newChainEnv(t)
	v := newVenue(t, c)
	ctx := ctxT(t)
	id := intentID("e2e")
	arbKey := venue.Key{Token: "USDC", ChainID: simchain.Arbitrum}
	usdtKey := venue.Key{Token: "USDT", ChainID: simchain.HyperEVM}

	_, err := v.FindOrder(ctx, id, "swap")
	require.ErrorIs(t, err, venue.ErrNotFound)
	_, err = v.FindWithdrawal(ctx, id, "withdraw")
	require.ErrorIs(t, err, venue.ErrNotFound)
	_, err = v.FindOrder(ctx, "not-an-intent", "swap")
	require.ErrorIs(t, err, venue.ErrBadIntentID)

	// Deposit 200 USDC through Bridge2; it lands in perp and MakeTradable moves what spot lacks.
	require.NoError(t, c.arb.Mint(ctx, "USDC", c.user, e6("200")))
	addr, err := v.DepositAddress(ctx, arbKey)
	require.NoError(t, err)
	rcpt, err := c.arb.SendAndMine(ctx, c.key, c.arb.TokenAddress("USDC"), nil, hyperliquid.TransferCalldata(common.HexToAddress(addr), e6("200")))
	require.NoError(t, err)
	var dep venue.Deposit
	require.Eventually(t, func() bool {
		dep, err = v.FindDeposit(ctx, arbKey, rcpt.TxHash.Hex())
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, e6("200"), dep.Amount.Units)
	require.Equal(t, "perp", dep.Wallet)

	wait, err := v.MakeTradable(ctx, "USDC", venue.NewAmount(e6("1100"), 6)) // 1000 already on spot
	require.NoError(t, err)
	require.Equal(t, venue.WaitNone, wait)
	require.Equal(t, usd("1100"), c.sim.SpotBalance(c.user, "USDC"))
	wait, err = v.MakeTradable(ctx, "USDC", venue.NewAmount(e6("1100"), 6)) // repeated: a no-op
	require.NoError(t, err)
	require.Equal(t, venue.WaitNone, wait)
	require.Equal(t, usd("100"), c.sim.PerpBalance(c.user))
	wait, err = v.MakeTradable(ctx, "USDC", venue.NewAmount(e6("5000"), 6))
	require.NoError(t, err)
	require.Equal(t, venue.WaitInsufficient, wait)

	// Swap 200 USDC for USDT with a dropped response; the repeat finds the same order.
	c.sim.InjectFault(hlsim.Fault{Endpoint: "exchange", Type: "order", Kind: hlsim.FaultDropResponse, Times: 1})
	swap := venue.SwapRequest{IntentID: id, Step: "swap", From: "USDC", To: "USDT",
		In: venue.NewAmount(e6("200"), 6), MinOut: venue.NewAmount(e6("199"), 6)}
	o, err := v.Swap(ctx, swap)
	require.NoError(t, err)
	require.Equal(t, venue.OrderFilled, o.Status)
	require.Equal(t, venue.Buy, o.Side)
	require.GreaterOrEqual(t, o.Received.Cmp(swap.MinOut), 0)
	again, err := v.Swap(ctx, swap)
	require.NoError(t, err)
	require.Equal(t, o, again)
	require.Equal(t, 1, c.sim.Count(hlsim.EvOrder, c.user, ""))

	// Withdraw the USDT to HyperEVM, response dropped, then repeated: one spotSend, paid once.
	c.sim.InjectFault(hlsim.Fault{Endpoint: "exchange", Type: "spotSend", Kind: hlsim.FaultDropResponse, Times: 1})
	wreq := venue.WithdrawRequest{IntentID: id, Step: "withdraw", Route: usdtKey, Address: c.user.Hex(),
		Amount: o.Received.Rescale(6, venue.Down)}
	w, err := v.Withdraw(ctx, wreq)
	require.NoError(t, err)
	require.Equal(t, wreq.Amount.Units, w.Amount.Units)
	w2, err := v.Withdraw(ctx, wreq)
	require.NoError(t, err)
	require.Equal(t, w.VenueID, w2.VenueID)
	found, err := v.FindWithdrawal(ctx, id, "withdraw")
	require.NoError(t, err)
	require.Equal(t, w.VenueID, found.VenueID)
	require.Eventually(t, func() bool {
		b, err := c.evm.BalanceOf(ctx, "USDT0", c.user)
		require.NoError(t, err)
		return b.Cmp(wreq.Amount.Units) == 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, c.sim.Count(hlsim.EvSpotSend, c.user, ""))

	// Back out to Arbitrum: withdraw3 draws on perp (100 USDC there), net of the 1 USDC fee.
	before, err := c.arb.BalanceOf(ctx, "USDC", c.user)
	require.NoError(t, err)
	out := venue.WithdrawRequest{IntentID: id, Step: "out", Route: arbKey, Address: c.user.Hex(), Amount: venue.NewAmount(e6("150"), 6)}
	w, err = v.Withdraw(ctx, out)
	require.NoError(t, err)
	require.Equal(t, e6("149"), w.Amount.Units)
	require.Equal(t, e6("1"), w.Fee.Units)
	require.Eventually(t, func() bool {
		b, err := c.arb.BalanceOf(ctx, "USDC", c.user)
		require.NoError(t, err)
		return b.Cmp(new(big.Int).Add(before, e6("149"))) == 0
	}, 10*time.Second, 10*time.Millisecond)

	// HyperEVM transfers can only reach the account itself.
	_, err = v.Withdraw(ctx, venue.WithdrawRequest{IntentID: id, Step: "elsewhere", Route: usdtKey,
		Address: common.Address{9}.Hex(), Amount: venue.NewAmount(e6("1"), 6)})
	require.ErrorIs(t, err, venue.ErrUnsupported)

	snap, err := v.Balances(context.Background())
	require.NoError(t, err)
	require.Equal(t, "hyperliquid", snap.Venue)
	require.Len(t, snap.Balances, 3)
}

func TestQuotesReuseMetaAndFeesWithinTheirTTL(t *testing.T) {
	// A weight budget that only cached spotMeta and userFees fit in: a quote re-reading them (20 each)
	// would have to wait, and waiting fails here.
	e := newEnv(t, envOpts{}, func(c *hyperliquid.Config) {
		c.WeightPerMinute = 150
		c.Sleep = func(context.Context, time.Duration) error { return context.DeadlineExceeded }
	})
	store, err := hyperliquid.NewFilePreparedStore(t.TempDir())
	require.NoError(t, err)
	v, err := hyperliquid.NewVenue(e.client, hyperliquid.VenueConfig{Store: store})
	require.NoError(t, err)
	ctx := ctxT(t)
	src := venue.Key{Token: "USDT", ChainID: simchain.HyperEVM}
	dst := venue.Key{Token: "USDC", ChainID: simchain.HyperEVM}
	for i := 0; i < 10; i++ {
		q, err := v.Quote(ctx, src, dst, venue.NewAmount(e6("50"), 6))
		require.NoError(t, err)
		require.True(t, q.Feasible, q.Why)
	}
}

func TestWithdrawAfterRestartResendsTheSavedAction(t *testing.T) {
	e := newEnv(t, envOpts{}, func(c *hyperliquid.Config) { c.Resends = 1; c.LookupLag = 100 * time.Millisecond })
	ctx := ctxT(t)
	dir := t.TempDir()
	nonceFile := dir + "/nonce"
	open := func() *hyperliquid.Venue {
		nonces, err := hyperliquid.NewFileNonces(nonceFile, nil)
		require.NoError(t, err)
		c := newClient(t, e.url, e.key, wire.Mainnet, func(cfg *hyperliquid.Config) {
			cfg.Nonces, cfg.Resends, cfg.LookupLag = nonces, 1, 100*time.Millisecond
		})
		store, err := hyperliquid.NewFilePreparedStore(dir + "/prepared")
		require.NoError(t, err)
		v, err := hyperliquid.NewVenue(c, hyperliquid.VenueConfig{ArbitrumUSDC: common.Address{7}, Store: store})
		require.NoError(t, err)
		return v
	}
	id := intentID("restart")
	req := venue.WithdrawRequest{IntentID: id, Step: "out", Route: venue.Key{Token: "USDC", ChainID: 42161},
		Address: e.user.Hex(), Amount: venue.NewAmount(e6("25"), 6)}

	p, err := e.client.PrepareClassTransfer(ctx, usd("25"), true) // withdraw3 draws on perp
	require.NoError(t, err)
	_, err = e.client.SubmitTransfer(ctx, p)
	require.NoError(t, err)

	// The withdrawal lands but its answer is lost and the ledger cannot be read: outcome unknown.
	first := open()
	e.sim.InjectFault(hlsim.Fault{Endpoint: "exchange", Type: "withdraw3", Kind: hlsim.FaultDropResponse, Times: 1})
	e.sim.InjectFault(hlsim.Fault{Endpoint: "info", Type: "userNonFundingLedgerUpdates", Kind: hlsim.FaultServerError})
	_, err = first.Withdraw(ctx, req)
	require.ErrorIs(t, err, venue.ErrUnknownOutcome)
	require.Equal(t, 1, e.sim.Count(hlsim.EvWithdraw, e.user, ""))

	// A new process with the same files finds it instead of signing a second one.
	e.sim.ClearFaults()
	second := open()
	w, err := second.Withdraw(ctx, req)
	require.NoError(t, err)
	require.Equal(t, e6("24"), w.Amount.Units)
	require.Equal(t, 1, e.sim.Count(hlsim.EvWithdraw, e.user, ""), "still exactly one withdrawal")
	require.Equal(t, usd("975"), new(big.Int).Add(e.sim.SpotBalance(e.user, "USDC"), e.sim.PerpBalance(e.user)))
}

func TestSwapAfterRestartResendsTheSavedOrder(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := ctxT(t)
	dir := t.TempDir()
	open := func() *hyperliquid.Venue {
		nonces, err := hyperliquid.NewFileNonces(dir+"/nonce", nil)
		require.NoError(t, err)
		c := newClient(t, e.url, e.key, wire.Mainnet, func(cfg *hyperliquid.Config) {
			cfg.Nonces, cfg.Resends, cfg.LookupLag = nonces, 1, 100*time.Millisecond
		})
		store, err := hyperliquid.NewFilePreparedStore(dir + "/prepared")
		require.NoError(t, err)
		v, err := hyperliquid.NewVenue(c, hyperliquid.VenueConfig{Store: store})
		require.NoError(t, err)
		return v
	}
	swap := venue.SwapRequest{IntentID: intentID("swap-restart"), Step: "swap", From: "USDC", To: "USDT",
		In: venue.NewAmount(e6("100"), 6), MinOut: venue.NewAmount(e6("99"), 6)}
	// The venue is unreachable for orders: the first run signs, saves and gives up without knowing.
	e.sim.InjectFault(hlsim.Fault{Endpoint: "exchange", Type: "order", Kind: hlsim.FaultServerError})
	_, err := open().Swap(ctx, swap)
	require.ErrorIs(t, err, venue.ErrUnknownOutcome)
	require.Zero(t, e.sim.Count(hlsim.EvOrder, e.user, ""))
	store, err := hyperliquid.NewFilePreparedStore(dir + "/prepared")
	require.NoError(t, err)
	saved, found, err := store.Load(ctx, swap.IntentID+"/"+swap.Step)
	require.NoError(t, err)
	require.True(t, found, "the order was saved before it was sent")

	// The next run resends the saved bytes: one order, with the first run's nonce.
	e.sim.ClearFaults()
	o, err := open().Swap(ctx, swap)
	require.NoError(t, err)
	require.Equal(t, venue.OrderFilled, o.Status)
	require.Equal(t, 1, e.sim.Count(hlsim.EvOrder, e.user, ""))
	for _, ev := range e.sim.Record() {
		if ev.Kind == hlsim.EvOrder {
			require.Equal(t, saved.Nonce, ev.Nonce, "the landed order is the first run's signed bytes")
		}
	}
}

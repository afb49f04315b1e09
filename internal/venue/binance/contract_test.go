package binance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
)

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	routes, err := e.client.Routes(ctx)
	require.NoError(t, err)
	byKey := map[venue.Key]venue.Route{}
	for _, r := range routes {
		byKey[r.Key()] = r
	}
	require.Len(t, byKey, 4)
	bsc := byKey[bscUSDT]
	require.Equal(t, "BSC", bsc.Network)
	require.Equal(t, uint8(18), bsc.Decimals)
	require.Equal(t, "800000000000000000", bsc.Limits.WithdrawFee.Units.String())
	require.Equal(t, "10000000000000000000", bsc.Limits.WithdrawMin.Units.String())
	require.Equal(t, venue.Confirmations{Credit: 2, Unlock: 4}, bsc.Confirmations)
	require.True(t, bsc.DepositEnabled)
	require.True(t, bsc.WithdrawEnabled)
	eth := byKey[ethUSDC]
	require.Equal(t, "1500000", eth.Limits.WithdrawFee.Units.String())
	require.Equal(t, uint8(6), eth.Decimals)
	require.True(t, strings.EqualFold(e.eth.TokenAddress("USDC").Hex(), eth.TokenAddress), eth.TokenAddress)

	e.sim.SuspendWithdrawals("USDT", "BSC", true)
	e.sim.SuspendDeposits("USDC", "ETH", true)
	routes, err = e.client.Routes(ctx)
	require.NoError(t, err)
	for _, r := range routes {
		switch r.Key() {
		case bscUSDT:
			require.False(t, r.WithdrawEnabled)
			require.True(t, r.DepositEnabled)
		case ethUSDC:
			require.False(t, r.DepositEnabled)
		}
	}
}

func TestQuote(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bsc := func(s string) string { return units(t, s, 18).String() }
	eth := func(s string) string { return units(t, s, 6).String() }
	tests := []struct {
		name        string
		src, dst    venue.Key
		in          venue.Amount
		feasible    bool
		out         string
		tradeFee    string
		spread      string
		withdrawFee string
		why         string
	}{
		{
			// Sell 1000 USDC at the 0.9999 bid: 999.9 USDT, fee 0.9999, withdraw fee 0.8.
			name: "sell USDC on ETH for USDT on BSC", src: ethUSDC, dst: bscUSDT, in: amount(t, "1000", 6), feasible: true,
			out: bsc("998.1001"), tradeFee: bsc("0.9999"), spread: eth("0.1"), withdrawFee: bsc("0.8"),
		},
		{
			// 1000 USDT buys 999 USDC at 1.0001 (step 1): fee 0.999 USDC, 1 USDT of spread and dust.
			name: "buy USDC on BSC with USDT on ETH", src: ethUSDT, dst: bscUSDC, in: amount(t, "1000", 6), feasible: true,
			out: bsc("997.201"), tradeFee: bsc("0.999"), spread: eth("1"), withdrawFee: bsc("0.8"),
		},
		{
			name: "same coin skips the trade", src: bscUSDC, dst: ethUSDC, in: amount(t, "500.123456789", 18), feasible: true,
			out: eth("498.623456"), tradeFee: eth("0"), spread: bsc("0"), withdrawFee: eth("1.5"),
		},
		{
			name: "below min notional", src: ethUSDC, dst: bscUSDT, in: amount(t, "5", 6), why: "notional",
		},
		{
			name: "below withdrawMin", src: ethUSDC, dst: ethUSDC, in: amount(t, "9", 6), why: "withdrawMin",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := e.client.Quote(ctx, tc.src, tc.dst, tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.feasible, q.Feasible, q.Why)
			if !tc.feasible {
				require.Contains(t, q.Why, tc.why)
				return
			}
			require.Empty(t, q.Why)
			require.Equal(t, tc.out, q.Out.Units.String(), "out")
			require.Equal(t, tc.tradeFee, q.TradeFee.Units.String(), "trade fee")
			require.Equal(t, tc.spread, q.Spread.Units.String(), "spread")
			require.Equal(t, tc.withdrawFee, q.WithdrawFee.Units.String(), "withdraw fee")
			require.Equal(t, 1, q.Cost().Cmp(venue.Zero(0)), "a route costs something")
		})
	}

	t.Run("minimum input covers withdrawMin after the trade", func(t *testing.T) {
		q, err := e.client.Quote(ctx, ethUSDC, bscUSDT, amount(t, "1000", 6))
		require.NoError(t, err)
		// 10 USDT withdrawMin / (0.9999 bid × (1 − 0.001 fee)), rounded up to 6 decimals.
		want := venue.FromRatUp(new(big.Rat).Quo(big.NewRat(10, 1), new(big.Rat).Mul(big.NewRat(9999, 10000), big.NewRat(999, 1000))), 6)
		require.Equal(t, want.Units.String(), q.MinIn.Units.String())
		require.NotNil(t, q.MaxIn.Units)
	})

	t.Run("suspended withdrawals make the route infeasible", func(t *testing.T) {
		e.sim.SuspendWithdrawals("USDT", "BSC", true)
		t.Cleanup(func() { e.sim.SuspendWithdrawals("USDT", "BSC", false) })
		q, err := e.client.Quote(ctx, ethUSDC, bscUSDT, amount(t, "1000", 6))
		require.NoError(t, err)
		require.False(t, q.Feasible)
		require.Contains(t, q.Why, "suspended")
	})
}

func TestDepositLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	addr, err := e.client.DepositAddress(ctx, ethUSDC)
	require.NoError(t, err)
	require.Equal(t, e.sim.DepositAddress(apiKey), commonHexToAddress(addr))

	_, err = e.client.FindDeposit(ctx, ethUSDC, "0x"+fmt.Sprintf("%064x", 1))
	require.ErrorIs(t, err, venue.ErrNotFound)

	rcpt, err := e.eth.Transfer(ctx, simchain.DevKey("relayer"), "USDC", commonHexToAddress(addr), units(t, "250", 6))
	require.NoError(t, err)
	tx := rcpt.TxHash.Hex()

	e.tick() // one confirmation: seen, not credited (minConfirm 2)
	d, err := e.client.FindDeposit(ctx, ethUSDC, tx)
	require.NoError(t, err)
	require.Equal(t, venue.DepositPending, d.Status)
	require.Equal(t, units(t, "250", 6).String(), d.Amount.Units.String())

	e.eth.Commit()
	e.tick() // two: credited, locked for withdrawal until four
	d, err = e.client.FindDeposit(ctx, ethUSDC, tx)
	require.NoError(t, err)
	require.Equal(t, venue.DepositCredited, d.Status)
	require.Equal(t, venue.WaitDepositLocked, d.Wait)
	require.Equal(t, uint64(2), d.Confirmations)

	// The credited funds trade, but cannot leave yet: a wait, not an error, and nothing recorded.
	w, err := e.client.Withdraw(ctx, venue.WithdrawRequest{IntentID: intentA, Step: "w", Route: ethUSDC,
		Address: e.user.Hex(), Amount: amount(t, "200", 6)})
	require.NoError(t, err)
	require.Equal(t, venue.WaitInsufficient, w.Wait)
	require.Empty(t, w.Status)
	require.Equal(t, 0, e.sim.Count(simbinance.ActionWithdraw, ""))

	e.eth.Commit()
	e.eth.Commit()
	e.tick() // four: unlocked
	d, err = e.client.FindDeposit(ctx, ethUSDC, tx)
	require.NoError(t, err)
	require.Equal(t, venue.DepositCredited, d.Status)
	require.Equal(t, venue.WaitNone, d.Wait)

	w, err = e.client.Withdraw(ctx, venue.WithdrawRequest{IntentID: intentA, Step: "w", Route: ethUSDC,
		Address: e.user.Hex(), Amount: amount(t, "200", 6)})
	require.NoError(t, err)
	require.Equal(t, venue.WaitNone, w.Wait)
	require.Equal(t, 1, e.sim.Count(simbinance.ActionWithdraw, ""))
}

func TestSwap(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.Credit(apiKey, "spot", "USDC", "5000")
	e.sim.Credit(apiKey, "spot", "USDT", "5000")
	cid, err := binance.ClientID(intentA, "o")
	require.NoError(t, err)

	_, err = e.client.FindOrder(ctx, intentA, "o")
	require.ErrorIs(t, err, venue.ErrNotFound)

	o, err := e.client.Swap(ctx, venue.SwapRequest{IntentID: intentA, Step: "o", From: "USDC", To: "USDT", In: amount(t, "1000.5", 6)})
	require.NoError(t, err)
	require.Equal(t, venue.OrderFilled, o.Status)
	require.Equal(t, cid, o.ClientID)
	require.Equal(t, venue.Sell, o.Side)
	require.Equal(t, "1000", o.Spent.String(), "lot size rounds the sell down to whole USDC")
	require.Equal(t, "998.9001", o.Received.String())
	require.Equal(t, "0.9999", o.Fee.String())
	require.Equal(t, "USDT", o.FeeToken)
	require.Equal(t, 1, e.sim.Count(simbinance.ActionOrder, cid))

	// Asking again returns the same order: the id is looked up before anything is placed.
	again, err := e.client.Swap(ctx, venue.SwapRequest{IntentID: intentA, Step: "o", From: "USDC", To: "USDT", In: amount(t, "1000.5", 6)})
	require.NoError(t, err)
	require.Equal(t, o.VenueID, again.VenueID)
	require.Equal(t, o.Received.String(), again.Received.String())
	require.Equal(t, o.Fee.String(), again.Fee.String(), "the lookup reads the fee from the trades")
	require.Equal(t, 1, e.sim.Count(simbinance.ActionOrder, cid))

	t.Run("buy with a price bound fills", func(t *testing.T) {
		o, err := e.client.Swap(ctx, venue.SwapRequest{IntentID: intentB, Step: "o", From: "USDT", To: "USDC",
			In: amount(t, "600", 6), MinOut: amount(t, "590", 6)})
		require.NoError(t, err)
		require.Equal(t, venue.OrderFilled, o.Status)
		require.Equal(t, venue.Buy, o.Side)
		require.GreaterOrEqual(t, o.Received.Cmp(amount(t, "590", 6)), 0)
		require.LessOrEqual(t, o.Spent.Cmp(amount(t, "600", 6)), 0)
	})

	t.Run("sell with a reachable bound fills above it", func(t *testing.T) {
		o, err := e.client.Swap(ctx, venue.SwapRequest{IntentID: intentB, Step: "s", From: "USDC", To: "USDT",
			In: amount(t, "100", 6), MinOut: amount(t, "99.85", 6)})
		require.NoError(t, err)
		require.Equal(t, venue.OrderFilled, o.Status)
		require.Equal(t, "99.89001", o.Received.String())
	})

	t.Run("an unreachable bound expires unfilled", func(t *testing.T) {
		o, err := e.client.Swap(ctx, venue.SwapRequest{IntentID: intentB, Step: "o2", From: "USDC", To: "USDT",
			In: amount(t, "100", 6), MinOut: amount(t, "100.5", 6)})
		require.NoError(t, err)
		require.Equal(t, venue.OrderCanceled, o.Status)
		require.Equal(t, 0, o.Received.Sign())
	})

	t.Run("insufficient balance is a rejection", func(t *testing.T) {
		_, err := e.client.Swap(ctx, venue.SwapRequest{IntentID: intentB, Step: "o3", From: "USDC", To: "USDT", In: amount(t, "1000000", 6)})
		require.ErrorIs(t, err, venue.ErrRejected)
	})
}

func TestWithdrawFollowedToTheChain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.Credit(apiKey, "spot", "USDT", "500")
	before, err := e.bsc.BalanceOf(ctx, "USDT", e.user)
	require.NoError(t, err)
	wid, err := binance.ClientID(intentA, "w")
	require.NoError(t, err)

	req := venue.WithdrawRequest{IntentID: intentA, Step: "w", Route: bscUSDT, Address: e.user.Hex(), Amount: amount(t, "300.0000004", 18)}
	w, err := e.client.Withdraw(ctx, req)
	require.NoError(t, err)
	require.Equal(t, venue.WithdrawalPending, w.Status)
	require.Equal(t, wid, w.ClientID)
	require.Equal(t, units(t, "299.2", 18).String(), w.Amount.Units.String(), "rounded to the multiple, fee deducted")
	require.Equal(t, "200.00000000", e.sim.Balance(apiKey, "spot", "USDT"))

	e.tick() // the hot wallet signs and broadcasts the transfer
	w, err = e.client.FindWithdrawal(ctx, intentA, "w")
	require.NoError(t, err)
	require.Equal(t, venue.WithdrawalSent, w.Status)
	require.NotEmpty(t, w.TxHash)

	e.tick() // mined: completed
	w, err = e.client.FindWithdrawal(ctx, intentA, "w")
	require.NoError(t, err)
	require.Equal(t, venue.WithdrawalCompleted, w.Status)
	rcpt, err := e.bsc.Client().TransactionReceipt(ctx, commonHexToHash(w.TxHash))
	require.NoError(t, err)
	require.Equal(t, uint64(1), rcpt.Status)
	after, err := e.bsc.BalanceOf(ctx, "USDT", e.user)
	require.NoError(t, err)
	require.Equal(t, units(t, "299.2", 18).String(), new(big.Int).Sub(after, before).String())

	// Asking again returns the same withdrawal; the server would have paid a second one.
	again, err := e.client.Withdraw(ctx, req)
	require.NoError(t, err)
	require.Equal(t, w.VenueID, again.VenueID)
	require.Equal(t, 1, e.sim.Count(simbinance.ActionWithdraw, wid))
	require.Equal(t, 1, e.sim.Count(simbinance.ActionWithdrawSent, wid))

	t.Run("suspended network is a wait", func(t *testing.T) {
		e.sim.SuspendWithdrawals("USDT", "BSC", true)
		w, err := e.client.Withdraw(ctx, venue.WithdrawRequest{IntentID: intentB, Step: "w", Route: bscUSDT, Address: e.user.Hex(), Amount: amount(t, "50", 18)})
		require.NoError(t, err)
		require.Equal(t, venue.WaitWithdrawSuspended, w.Wait)
		require.Empty(t, w.Status)
		require.Equal(t, 0, e.sim.Count(simbinance.ActionWithdraw, w.ClientID))
	})

	t.Run("below withdrawMin is invalid", func(t *testing.T) {
		_, err := e.client.Withdraw(ctx, venue.WithdrawRequest{IntentID: intentB, Step: "w2", Route: ethUSDT, Address: e.user.Hex(), Amount: amount(t, "9", 6)})
		require.ErrorIs(t, err, venue.ErrInvalidAmount)
	})
}

// Every fault leaves exactly one order or withdrawal behind, however often the step is retried.
func TestFaultsLeaveExactlyOne(t *testing.T) {
	type step struct {
		path string
		do   func(e *env, intent string) error
		kind simbinance.ActionKind
		id   func(intent string) string
	}
	order := step{
		path: "/api/v3/order", kind: simbinance.ActionOrder,
		do: func(e *env, intent string) error {
			o, err := e.client.Swap(context.Background(), venue.SwapRequest{IntentID: intent, Step: "o", From: "USDC", To: "USDT", In: amount(e.t, "100", 6)})
			if err == nil && o.Status != venue.OrderFilled {
				return fmt.Errorf("order %s", o.Status)
			}
			return err
		},
		id: func(intent string) string { id, _ := binance.ClientID(intent, "o"); return id },
	}
	withdraw := step{
		path: "/sapi/v1/capital/withdraw/apply", kind: simbinance.ActionWithdraw,
		do: func(e *env, intent string) error {
			w, err := e.client.Withdraw(context.Background(), venue.WithdrawRequest{IntentID: intent, Step: "w", Route: ethUSDC, Address: e.user.Hex(), Amount: amount(e.t, "100", 6)})
			if err == nil && w.Status == "" {
				return fmt.Errorf("withdrawal waits: %s", w.Wait)
			}
			return err
		},
		id: func(intent string) string { id, _ := binance.ClientID(intent, "w"); return id },
	}
	tests := []struct {
		name string
		step step
		// firstErr is what the first attempt returns; nil means it found its own request.
		fault    simbinance.Fault
		firstErr error
		// executedFirst is whether the faulted request took effect.
		executedFirst bool
	}{
		{name: "order: response dropped after the fill", step: order, fault: simbinance.Fault{Kind: simbinance.FaultDropAfter}, executedFirst: true},
		{name: "order: 503 after the fill", step: order, fault: simbinance.Fault{Kind: simbinance.FaultStatusAfter}, executedFirst: true},
		{name: "order: 502 before acting", step: order, fault: simbinance.Fault{Kind: simbinance.FaultStatusBefore, Status: 502}, firstErr: venue.ErrUnknownOutcome},
		{name: "order: 429", step: order, fault: simbinance.Fault{Kind: simbinance.FaultRateLimit, RetryAfter: 2}, executedFirst: true},
		{name: "withdrawal: response dropped after acceptance", step: withdraw, fault: simbinance.Fault{Kind: simbinance.FaultDropAfter}, executedFirst: true},
		{name: "withdrawal: 503 after acceptance", step: withdraw, fault: simbinance.Fault{Kind: simbinance.FaultStatusAfter}, executedFirst: true},
		{name: "withdrawal: 500 before acting", step: withdraw, fault: simbinance.Fault{Kind: simbinance.FaultStatusBefore, Status: 500}, firstErr: venue.ErrUnknownOutcome},
		{name: "withdrawal: 429", step: withdraw, fault: simbinance.Fault{Kind: simbinance.FaultRateLimit, RetryAfter: 1}, executedFirst: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.sim.Credit(apiKey, "spot", "USDC", "1000")
			intent := intentID(i)
			f := tc.fault
			f.Method, f.Path = http.MethodPost, tc.step.path
			e.sim.Inject(f)

			err := tc.step.do(e, intent)
			if tc.firstErr != nil {
				require.ErrorIs(t, err, tc.firstErr)
			} else {
				require.NoError(t, err)
			}
			want := 0
			if tc.executedFirst {
				want = 1
			}
			require.Equal(t, want, e.sim.Count(tc.step.kind, tc.step.id(intent)))

			// The executor retries the step (as after a restart): still exactly one.
			for range 2 {
				require.NoError(t, tc.step.do(e, intent))
				require.Equal(t, 1, e.sim.Count(tc.step.kind, tc.step.id(intent)))
			}
			if f.Kind == simbinance.FaultRateLimit {
				require.Equal(t, 1, e.client.Weights().RateLimited)
				require.GreaterOrEqual(t, e.sleeps.longest(), 500*time.Millisecond, "the transport waited for Retry-After")
			}
		})
	}
}

func TestTimeoutIsUnknownThenResolved(t *testing.T) {
	e := newEnv(t, func(_ *simbinance.Config, c *binance.Config) { c.Timeout = 300 * time.Millisecond })
	e.sim.Credit(apiKey, "spot", "USDC", "1000")
	e.sim.Inject(simbinance.Fault{Method: http.MethodPost, Path: "/api/v3/order", Kind: simbinance.FaultLatency, Latency: 2 * time.Second})
	cid, _ := binance.ClientID(intentA, "o")
	_, err := e.client.Swap(context.Background(), venue.SwapRequest{IntentID: intentA, Step: "o", From: "USDC", To: "USDT", In: amount(t, "100", 6)})
	require.ErrorIs(t, err, venue.ErrUnknownOutcome)
	o, err := e.client.Swap(context.Background(), venue.SwapRequest{IntentID: intentA, Step: "o", From: "USDC", To: "USDT", In: amount(t, "100", 6)})
	require.NoError(t, err)
	require.Equal(t, venue.OrderFilled, o.Status)
	require.Equal(t, 1, e.sim.Count(simbinance.ActionOrder, cid))
}

func TestReadsRetryRateLimitsAndServerErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.Inject(simbinance.Fault{Method: http.MethodGet, Path: "/api/v3/depth", Kind: simbinance.FaultRateLimit, RetryAfter: 3})
	e.sim.Inject(simbinance.Fault{Method: http.MethodGet, Path: "/sapi/v1/capital/config/getall", Kind: simbinance.FaultStatusBefore, Times: 2})
	q, err := e.client.Quote(ctx, ethUSDC, bscUSDT, amount(t, "1000", 6))
	require.NoError(t, err)
	require.True(t, q.Feasible)
	w := e.client.Weights()
	require.Equal(t, 1, w.RateLimited)
	require.Positive(t, w.API)
	require.Positive(t, w.SAPI)
	require.GreaterOrEqual(t, e.sleeps.longest(), 2*time.Second, "waited for Retry-After: 3")
}

func TestClockSkewResyncs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	require.Less(t, e.client.Offset().Abs(), time.Second)
	// The server's clock jumps 20s ahead: the next signed request is stale (-1021), the client
	// resyncs and retries.
	e.skew.Store(int64(20 * time.Second))
	_, err := e.client.Balances(ctx)
	require.NoError(t, err)
	require.InDelta(t, float64(-20*time.Second), float64(e.client.Offset()), float64(time.Second))
}

func TestMakeTradableMovesFundingToSpotOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.sim.Credit(apiKey, "funding", "USDC", "100")
	wait, err := e.client.MakeTradable(ctx, "USDC", amount(t, "60", 6))
	require.NoError(t, err)
	require.Equal(t, venue.WaitNone, wait)
	require.Equal(t, "60.00000000", e.sim.Balance(apiKey, "spot", "USDC"))
	require.Equal(t, "40.00000000", e.sim.Balance(apiKey, "funding", "USDC"))

	wait, err = e.client.MakeTradable(ctx, "USDC", amount(t, "60", 6))
	require.NoError(t, err)
	require.Equal(t, venue.WaitNone, wait)
	require.Equal(t, 1, e.sim.Count(simbinance.ActionTransfer, ""))

	wait, err = e.client.MakeTradable(ctx, "USDC", amount(t, "200", 6))
	require.NoError(t, err)
	require.Equal(t, venue.WaitInsufficient, wait)
	require.Equal(t, 1, e.sim.Count(simbinance.ActionTransfer, ""))

	t.Run("deposits credited to funding", func(t *testing.T) {
		e.sim.SetDepositWallet("funding")
		addr, err := e.client.DepositAddress(ctx, bscUSDC)
		require.NoError(t, err)
		_, err = e.bsc.Transfer(ctx, simchain.DevKey("relayer"), "USDC", commonHexToAddress(addr), units(t, "150", 18))
		require.NoError(t, err)
		e.bsc.Commit()
		e.tick()
		require.Equal(t, "190.00000000", e.sim.Balance(apiKey, "funding", "USDC"))
		wait, err := e.client.MakeTradable(ctx, "USDC", amount(t, "200", 6))
		require.NoError(t, err)
		require.Equal(t, venue.WaitNone, wait)
		require.Equal(t, "200.00000000", e.sim.Balance(apiKey, "spot", "USDC"))
	})
}

func TestBalances(t *testing.T) {
	e := newEnv(t)
	e.sim.Credit(apiKey, "spot", "USDC", "12.345678919")
	e.sim.Credit(apiKey, "spot", "USDT", "7")
	s1, err := e.client.Balances(context.Background())
	require.NoError(t, err)
	s2, err := e.client.Balances(context.Background())
	require.NoError(t, err)
	require.Greater(t, s2.Seq, s1.Seq)
	require.Equal(t, "binance", s1.Venue)
	require.Len(t, s1.Balances, 2)
	require.Equal(t, "USDC", s1.Balances[0].Coin)
	require.Equal(t, "12.34567891", s1.Balances[0].Free.String(), "8 decimals, rounded down")
	require.Equal(t, uint8(8), s1.Balances[0].Free.Decimals)
	require.Equal(t, "7", s1.Balances[1].Free.String())
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	e.sim.Credit(apiKey, "spot", "USDC", "100000")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			intent := intentID(i)
			if _, err := e.client.Swap(ctx, venue.SwapRequest{IntentID: intent, Step: "o", From: "USDC", To: "USDT", In: amount(t, "20", 6)}); err != nil {
				errs <- err
			}
			if _, err := e.client.Balances(ctx); err != nil {
				errs <- err
			}
			if _, err := e.client.Quote(ctx, ethUSDC, bscUSDT, amount(t, "100", 6)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 8, e.sim.Count(simbinance.ActionOrder, ""))
}

func TestSecretNeverLeaks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Exercise logged paths: an ambiguous order, a withdrawal, a rate limit.
	e.sim.Credit(apiKey, "spot", "USDC", "1000")
	e.sim.Inject(simbinance.Fault{Method: http.MethodPost, Path: "/api/v3/order", Kind: simbinance.FaultDropAfter})
	_, err := e.client.Swap(ctx, venue.SwapRequest{IntentID: intentA, Step: "o", From: "USDC", To: "USDT", In: amount(t, "100", 6)})
	require.NoError(t, err)
	_, err = e.client.Withdraw(ctx, venue.WithdrawRequest{IntentID: intentA, Step: "w", Route: ethUSDC, Address: e.user.Hex(), Amount: amount(t, "100", 6)})
	require.NoError(t, err)
	require.NotEmpty(t, e.logs.String())
	require.NotContains(t, e.logs.String(), apiSecret)

	creds := binance.NewCredentials(apiKey, apiSecret)
	cfg := binance.Config{Credentials: creds}
	for _, s := range []string{fmt.Sprint(creds), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg)} {
		require.NotContains(t, s, apiSecret)
	}
	b, err := json.Marshal(struct{ C binance.Credentials }{creds})
	require.NoError(t, err)
	require.NotContains(t, string(b), apiSecret)

	// A wrong secret is refused by the simulator's signature check and reported as ErrAuth.
	bad := binance.Config{BaseURL: e.sim.URL(), Credentials: binance.NewCredentials(apiKey, "wrong"),
		Networks: []binance.Network{{Name: "ETH", ChainID: simchain.Ethereum, Tokens: []binance.Token{{Symbol: "USDC", Decimals: 6}}}}}
	_, err = binance.New(ctx, bad)
	require.ErrorIs(t, err, binance.ErrAuth)
}

func TestLoadCredentials(t *testing.T) {
	t.Run("from the environment", func(t *testing.T) {
		t.Setenv(binance.EnvAPIKey, "k-env")
		t.Setenv(binance.EnvAPISecret, "s-env")
		c, err := binance.LoadCredentials()
		require.NoError(t, err)
		require.Equal(t, "k-env", c.APIKey)
		require.NotContains(t, c.String(), "s-env")
	})
	t.Run("from files", func(t *testing.T) {
		dir := t.TempDir()
		write := func(name, v string) string {
			p := dir + "/" + name
			require.NoError(t, writeFile(p, v+"\n"))
			return p
		}
		t.Setenv(binance.EnvAPIKey, "")
		t.Setenv(binance.EnvAPISecret, "")
		t.Setenv(binance.EnvAPIKeyFile, write("key", "k-file"))
		t.Setenv(binance.EnvAPISecretFile, write("secret", "s-file"))
		c, err := binance.LoadCredentials()
		require.NoError(t, err)
		require.Equal(t, "k-file", c.APIKey)
	})
	t.Run("missing", func(t *testing.T) {
		t.Setenv(binance.EnvAPIKey, "")
		t.Setenv(binance.EnvAPIKeyFile, "")
		_, err := binance.LoadCredentials()
		require.ErrorIs(t, err, binance.ErrCredentials)
	})
}

func TestStartResyncsAndRefreshesRules(t *testing.T) {
	e := newEnv(t, func(_ *simbinance.Config, c *binance.Config) { c.RefreshEvery = 20 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.client.Start(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	e.skew.Store(int64(-7 * time.Second))
	require.Eventually(t, func() bool {
		return (e.client.Offset() - 7*time.Second).Abs() < time.Second
	}, 10*time.Second, 10*time.Millisecond)
}

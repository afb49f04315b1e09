package executor

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// TestBinanceAdapterCrashAndFaults drives the Binance route through the real adapter (go-binance)
// against the wire-level simulator, which verifies signatures and moves funds on the simulated
// chains. The executor is killed at the first visit of every fault point and at random ones, and
// a fifth of the adapter's HTTP requests fail (503 before acting, dropped answers and 503 -1007
// after acting, 429). The simulator's own record must show exactly one order (cross-token) and one
// withdrawal per intent, the chains one deposit per intent, and the chain balances must move by
// exactly −amountIn and +landed per intent. The conservation invariant is checked after every
// recorded step, the venue's side included: the simulator's account (spot and funding, free and
// locked) less what the records and its books attribute to intents equals the unattributed
// balances it started with, exactly (venueattr_test.go).
func TestBinanceAdapterCrashAndFaults(t *testing.T) {
	h := newHarness(t, withBinanceSim())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)
	h.wire.setRate(0.2)
	cfg := h.cfg
	cfg.ResubmitLag = 300 * time.Millisecond

	routes := []struct {
		src   uint64
		from  string
		dst   uint64
		to    string
		whole int64
	}{
		{simchain.Base, "USDC", simchain.BSC, "USDT", 1000},
		{simchain.BSC, "USDT", simchain.Base, "USDC", 800},
		{simchain.BSC, "USDT", simchain.Base, "USDT", 700},
	}
	var ids []string
	for i := 0; i < 3; i++ {
		for j, r := range routes {
			it := h.intent(r.src, r.from, r.dst, r.to, r.whole+int64(10*i+j))
			h.publish(it)
			ids = append(ids, it.ID)
		}
	}
	h.feesFromLegs = true // the simulator's book decides amounts: fees are amountIn − the destination leg
	c := newChaos(h, 5, 0.03)
	rounds := c.run(t, cfg, ids, 4*time.Minute)

	duplicates := h.requireBinanceOutcome(ctx, ids)
	require.Eventually(t, func() bool { return h.conservation(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
	t.Logf("binance adapter: intents %d completed; instances %d; kills %d; http faults %d; invariant checks %d (venue-inclusive %d, re-read %d); duplicates %d; violations %d",
		len(ids), rounds, c.kills.Load(), h.wire.count(), c.checks.Load(), h.venueChecks.Load(), h.retries.Load(), duplicates, c.violations.Load())
	if v := c.violations.Load(); v != 0 {
		t.Fatalf("%d conservation violations; first: %v", v, c.firstErr.Load())
	}
}

func TestBinanceAdapterCompletes(t *testing.T) {
	h := newHarness(t, withBinanceSim())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)
	h.start(h.cfg, nil)
	a := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 1000)
	b := h.intent(simchain.BSC, "USDT", simchain.Base, "USDT", 500)
	h.publish(a)
	h.publish(b)
	recs := h.waitTerminal([]string{a.ID, b.ID}, 60*time.Second)
	for _, r := range recs {
		require.Equal(t, events.StateCompleted, r.State, "%s: %s", r.Intent.ID, r.Error)
	}
}

// requireBinanceOutcome checks a finished Binance run against the simulator's own record and the
// chains: every intent completed with at least minAmountOut landed and its destination leg
// realized, exactly one order (cross-token) and one withdrawal per intent under the ids it
// derives, one deposit per intent, and every chain balance moved by exactly −amountIn and +landed
// per intent. It returns the intents whose venue actions were not exactly one each (the check
// fails on the first).
func (h *harness) requireBinanceOutcome(ctx context.Context, ids []string) (duplicates int) {
	t := h.t
	t.Helper()
	moved := map[[2]string]*big.Int{} // (chain, token) → net change
	add := func(chainID uint64, token string, d *big.Int) {
		k := [2]string{big.NewInt(int64(chainID)).String(), token}
		if moved[k] == nil {
			moved[k] = new(big.Int)
		}
		moved[k].Add(moved[k], d)
	}
	for _, id := range ids {
		r, _, err := h.record(id)
		require.NoError(t, err)
		require.Equal(t, events.StateCompleted, r.State, "intent %s: %s (funds at %s)", id, r.Error, r.FundsAt)
		oid, err := binance.ClientID(id, stepOrder)
		require.NoError(t, err)
		wid, err := binance.ClientID(id, stepWithdraw)
		require.NoError(t, err)
		wantOrders := 1
		if r.Intent.Route.SrcToken == r.Intent.Route.DstToken {
			wantOrders = 0
		}
		orders, wds := h.bsim.Count(simbinance.ActionOrder, oid), h.bsim.Count(simbinance.ActionWithdraw, wid)
		if orders != wantOrders || wds != 1 {
			duplicates++
		}
		require.Equal(t, wantOrders, orders, "orders of %s in the simulator's record", id)
		require.Equal(t, 1, wds, "withdrawals of %s in the simulator's record", id)
		dst := r.leg(legDst)
		require.Equal(t, r.Withdraw.Block, dst.UntilBlock)
		require.Equal(t, r.Withdraw.Landed.String(), dst.Amount.String())
		require.True(t, r.Withdraw.Landed.Cmp(r.Intent.MinAmountOut) >= 0, "at least minAmountOut arrived")
		add(r.Intent.Route.SrcChain, r.Intent.Route.SrcToken, new(big.Int).Neg(r.Intent.AmountIn.Big()))
		add(r.Intent.Route.DstChain, r.Intent.Route.DstToken, r.Withdraw.Landed.Big())
	}
	deposits := 0
	for _, id := range testChains {
		head, err := h.clients[id].HeadNumber(ctx)
		require.NoError(t, err)
		ts, err := h.clients[id].Transfers(ctx, chain.TransferFilter{FromBlock: 0, ToBlock: head,
			From: []common.Address{h.account}, To: []common.Address{h.bsim.DepositAddress(simAPIKey)}})
		require.NoError(t, err)
		deposits += len(ts)
		for _, tok := range h.chains[id].Tokens() {
			bal, err := h.clients[id].BalanceOf(ctx, head, tok.Address, h.account)
			require.NoError(t, err)
			want := new(big.Int).Mul(big.NewInt(initialTokens), pow10(tok.Decimals))
			if d := moved[[2]string{big.NewInt(int64(id)).String(), tok.Symbol}]; d != nil {
				want.Add(want, d)
			}
			require.Equal(t, want.String(), bal.String(), "chain %d %s moved by exactly the intents' amounts", id, tok.Symbol)
		}
	}
	require.Equal(t, len(ids), deposits, "one deposit per intent")
	return duplicates
}

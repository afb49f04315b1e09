package executor

import (
	"context"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// TestHyperliquidCrashAtEveryStepBoundary kills the executor at the first visit of every fault
// point (each recorded step's before and after, each side effect's before and after: the approve,
// the deposit, their broadcasts, make-tradable, the swap, the withdrawal) and then at random
// points, while the Hyperliquid simulator fails a fifth of all requests (502 before acting, 429,
// and responses dropped after an exchange action took effect). Intents of every Hyperliquid route
// run concurrently, two of each with the same amount, so that equal payouts land side by side and
// each must be claimed by one intent only. Afterwards every intent is completed or needs attention
// with its funds located; the simulator's record shows exactly one order (cross-token) and one
// withdrawal per intent; the chains one deposit per intent and balances moved by exactly −amountIn
// and +landed; the venue keeps its unattributed balances (plus sub-cent rounding dust); and the
// conservation invariant holds after every recorded step, the venue's side included: HyperCore spot
// and perp less what the records and the simulator's books attribute to intents equal the
// unattributed balances, exactly (venueattr_test.go).
func TestHyperliquidCrashAtEveryStepBoundary(t *testing.T) {
	h, w := newHLHarness(t)
	w.sim.SetFaultRate(0.2, 7)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)

	const perRoute = 3
	var ids []string
	for i := 0; i < perRoute; i++ {
		for j, r := range hlRoutes {
			whole := r.whole + int64(10*i+j)
			if i == 1 {
				whole = r.whole + int64(j) // the same amount as round 0: equal payouts, side by side
			}
			it := h.hlIntent(r.src, r.from, r.dst, r.to, whole)
			h.publish(it)
			h.publish(it) // the stream keeps one copy
			ids = append(ids, it.ID)
		}
	}
	c := newChaos(h, 11, 0.03)
	rounds := c.run(t, h.cfg, ids, 8*time.Minute)

	user := h.account
	evs := w.sim.Record()
	completed, attention, duplicates := 0, 0, 0
	moved := map[string]*big.Int{} // "<chain>/<token>" → net change
	add := func(chainID uint64, token string, d *big.Int) {
		k := strconv.FormatUint(chainID, 10) + "/" + token
		if moved[k] == nil {
			moved[k] = new(big.Int)
		}
		moved[k].Add(moved[k], d)
	}
	landings := map[string]string{}
	withdrawn := 0
	for _, id := range ids {
		r, _, err := h.record(id)
		require.NoError(t, err)
		rt := r.Intent.Route
		switch r.State {
		case events.StateCompleted:
			completed++
		case events.StateNeedsAttention:
			attention++
			require.NotEmpty(t, r.FundsAt, "intent %s needs attention without saying where its funds are", id)
			t.Logf("needs attention: %s: %s (funds at %s)", id, r.Error, r.FundsAt)
		default:
			t.Fatalf("intent %s ended %s: %s (funds at %s; deposit %+v)", id, r.State, r.Error, r.FundsAt, r.Deposit)
		}
		cloid := strings.ToLower(hyperliquid.Cloid(id+"/"+stepOrder, 0))
		orders := 0
		for _, e := range evs {
			if (e.Kind == hlsim.EvOrder || e.Kind == hlsim.EvOrderRejected) && strings.EqualFold(e.Cloid, cloid) {
				orders++
			}
		}
		wantOrders := 1
		if rt.SrcToken == rt.DstToken {
			wantOrders = 0
		}
		wds := 0
		if r.Withdraw.VenueID != "" {
			nonce, err := strconv.ParseUint(r.Withdraw.VenueID, 10, 64)
			require.NoError(t, err)
			wds = w.sim.CountNonce(hlsim.EvWithdraw, user, nonce) + w.sim.CountNonce(hlsim.EvSpotSend, user, nonce)
			withdrawn++
		}
		if r.State == events.StateCompleted && (orders != wantOrders || wds != 1) {
			duplicates++
		}
		if r.State != events.StateCompleted {
			require.LessOrEqual(t, orders, wantOrders)
			require.LessOrEqual(t, wds, 1)
			continue
		}
		require.Equal(t, wantOrders, orders, "orders of %s in the simulator's record", id)
		require.Equal(t, 1, wds, "withdrawals of %s in the simulator's record", id)
		require.Len(t, r.Legs, 2)
		require.Equal(t, r.Deposit.Block, r.leg(legSrc).UntilBlock)
		dst := r.leg(legDst)
		require.Equal(t, r.Withdraw.Block, dst.UntilBlock)
		require.Equal(t, r.Withdraw.Landed.String(), dst.Amount.String())
		require.Equal(t, r.Withdraw.Net.String(), r.Withdraw.Landed.String())
		require.True(t, r.Withdraw.Landed.Cmp(r.Intent.MinAmountOut) >= 0, "at least minAmountOut arrived")
		require.Greater(t, r.Withdraw.Block, r.Withdraw.Since)
		if other, dup := landings[r.Withdraw.TxHash]; dup {
			t.Fatalf("intents %s and %s claim the same landing %s", other, id, r.Withdraw.TxHash)
		}
		landings[r.Withdraw.TxHash] = id
		add(rt.SrcChain, rt.SrcToken, new(big.Int).Neg(r.Intent.AmountIn.Big()))
		add(rt.DstChain, rt.DstToken, r.Withdraw.Landed.Big())
	}
	// The simulator saw no withdrawal the records do not account for.
	require.Equal(t, withdrawn, w.sim.Count(hlsim.EvWithdraw, user, "")+w.sim.Count(hlsim.EvSpotSend, user, ""))
	require.Zero(t, w.sim.Count(hlsim.EvDepositLost, user, ""), "no deposit lost")

	// One deposit per intent on the chains (Bridge2, the USDT0 system address, CoreDepositWallet),
	// and each chain balance moved by exactly the intents' amounts.
	usdt0, err := w.venue.DepositAddress(ctx, hlKey(simchain.HyperEVM, "USDT"))
	require.NoError(t, err)
	targets := map[uint64][]common.Address{
		simchain.Arbitrum: {w.sim.Bridge2()},
		simchain.HyperEVM: {common.HexToAddress(usdt0), w.sim.CoreDepositWallet()},
	}
	deposits := 0
	for _, id := range hlChains {
		head, err := h.clients[id].HeadNumber(ctx)
		require.NoError(t, err)
		ts, err := h.clients[id].Transfers(ctx, chain.TransferFilter{FromBlock: 0, ToBlock: head, From: []common.Address{user}, To: targets[id]})
		require.NoError(t, err)
		deposits += len(ts)
		for _, tok := range h.chains[id].Tokens() {
			bal, err := h.clients[id].BalanceOf(ctx, head, tok.Address, user)
			require.NoError(t, err)
			want := new(big.Int).Mul(big.NewInt(initialTokens), pow10(tok.Decimals))
			if d := moved[strconv.FormatUint(id, 10)+"/"+tok.Symbol]; d != nil {
				want.Add(want, d)
			}
			if attention == 0 {
				require.Equal(t, want.String(), bal.String(), "chain %d %s moved by exactly the intents' amounts", id, tok.Symbol)
			}
		}
	}
	require.Equal(t, len(ids)-countAbandoned(t, h, ids), deposits, "one deposit per intent that deposited")

	// The venue keeps what no intent owns; what is left over is rounding dust (sizes in 0.01 USDT0,
	// HyperEVM's 6 decimals), under a cent per intent.
	hold := w.venueHoldings(user)
	for tok, initial := range hlUnattributed {
		extra := new(big.Int).Sub(hold[tok], initial)
		require.GreaterOrEqual(t, extra.Sign(), 0, "venue %s below its unattributed balance: %s", tok, extra)
		if attention == 0 {
			require.LessOrEqual(t, extra.Cmp(big.NewInt(int64(len(ids))*1_000_000)), 0, "venue %s dust %s", tok, extra)
		}
	}
	require.Eventually(t, func() bool { return h.conservation(ctx) == nil }, 10*time.Second, 50*time.Millisecond)

	c.mu.Lock()
	points := make([]string, 0, len(c.killedAt))
	for p := range c.killedAt {
		points = append(points, p)
	}
	c.mu.Unlock()
	sort.Strings(points)
	t.Logf("hyperliquid: intents %d completed %d needs_attention %d; instances %d; kills %d at %d distinct points; venue faults %d; invariant checks %d (venue-inclusive %d, re-read %d); duplicates %d; violations %d",
		len(ids), completed, attention, rounds, c.kills.Load(), len(points), w.sim.Count(hlsim.EvFault, common.Address{}, ""), c.checks.Load(),
		h.venueChecks.Load(), h.retries.Load(), duplicates, c.violations.Load())
	t.Logf("kill points: %s", strings.Join(points, " "))
	if v := c.violations.Load(); v != 0 {
		t.Fatalf("%d conservation violations; first: %v", v, c.firstErr.Load())
	}
	require.Zero(t, duplicates)
}

// countAbandoned counts intents that ended with their legs dropped because nothing left the
// account (no deposit on chain).
func countAbandoned(t *testing.T, h *harness, ids []string) int {
	n := 0
	for _, id := range ids {
		r, _, err := h.record(id)
		require.NoError(t, err)
		if len(r.Legs) == 0 {
			n++
		}
	}
	return n
}

//go:build !race

package e2e

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Chains of the Hyperliquid routes.
const (
	arbitrum = 42161
	hyperEVM = 999
)

// hyperliquidWorld is the balances that only Hyperliquid can rebalance: every pair at its target
// except HyperEVM USDC in excess (the only source), and HyperEVM USDT and Arbitrum USDC in
// deficit. HyperEVM is reachable only through Hyperliquid, so the planner must route USDC
// HyperEVM → USDT HyperEVM (CoreDepositWallet approve + deposit, a swap on the book, spotSend)
// and USDC HyperEVM → USDC Arbitrum (CoreDepositWallet, withdraw3), and nothing through Binance.
var hyperliquidWorld = map[string]int64{
	pair(hyperEVM, "USDC"): 400, // 200,000: 150,000 above target
	pair(hyperEVM, "USDT"): 10,  // 5,000
	pair(arbitrum, "USDC"): 10,  // 5,000
}

func pair(chainID uint64, token string) string { return fmt.Sprintf("%d/%s", chainID, token) }

// TestHyperliquidRoutes runs the three services against balances only Hyperliquid can fix: the
// intents go through Hyperliquid (a swap on its book, a withdraw3 to Arbitrum and a spotSend to
// HyperEVM among them), complete with exactly one deposit credit, order and withdrawal each on
// the simulator's own record, and the ledger stays true throughout.
func TestHyperliquidRoutes(t *testing.T) {
	start := time.Now()
	w := newWorld(t)
	w.reshape(hyperliquidWorld)
	before, err := w.balances()
	require.NoError(t, err)
	w.checkEvery(checkInterval)
	w.startServices()
	w.waitConverged(convergeTimeout)
	w.requireHyperliquidRoutes()
	w.requireNoOverfill(before)
	w.requireNoNewExcess(before)
	w.requireVenueExactlyOnce()
	checks := w.requireLedgerTrue()
	w.requireNothingPending()
	w.report(checks, start)
}

// TestHyperliquidGateways covers the two deposit gateways hyperliquidWorld leaves out, each in a
// world whose only excess must enter Hyperliquid through it (HyperEVM and Arbitrum USDC are
// reachable only through Hyperliquid; every other pair is at its target):
//   - Bridge2: Arbitrum USDC in excess, HyperEVM USDC and USDT in deficit (a spotSend each, one
//     after a swap);
//   - USDT0's system address: HyperEVM USDT in excess, HyperEVM USDC and Arbitrum USDC in
//     deficit (a swap each, then a spotSend or a withdraw3).
//
// Each source keeps more than max after both deficits are filled, so the order in which the
// planner sees them cannot leave one without a source. Every intent must have gone through the
// gateway (the simulator's credit says which) and complete exactly once on its record, with the
// ledger true throughout.
func TestHyperliquidGateways(t *testing.T) {
	for _, tc := range []struct {
		name     string
		world    map[string]int64
		srcChain uint64
		srcToken string
		gateway  string // the simulator's note on the deposit credit
	}{
		{"Bridge2 from Arbitrum USDC", map[string]int64{
			pair(arbitrum, "USDC"): 400, // 200,000: 150,000 above target
			pair(hyperEVM, "USDC"): 10,  // 5,000
			pair(hyperEVM, "USDT"): 10,
		}, arbitrum, "USDC", "bridge2"},
		{"USDT0 system address from HyperEVM USDT", map[string]int64{
			pair(hyperEVM, "USDT"): 400,
			pair(hyperEVM, "USDC"): 10,
			pair(arbitrum, "USDC"): 10,
		}, hyperEVM, "USDT", "system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			w := newWorld(t)
			w.reshape(tc.world)
			before, err := w.balances()
			require.NoError(t, err)
			w.checkEvery(checkInterval)
			w.startServices()
			w.waitConverged(convergeTimeout)
			w.requireGateway(tc.srcChain, tc.srcToken, tc.gateway)
			w.requireVenueExactlyOnce()
			w.requireNoOverfill(before)
			w.requireNoNewExcess(before)
			checks := w.requireLedgerTrue()
			w.requireNothingPending()
			w.report(checks, start)
		})
	}
}

// requireGateway requires that every intent went through Hyperliquid from srcChain/srcToken, that
// the simulator credited each one's deposit through gateway, and that both deficits were filled
// (one intent to each other Hyperliquid location below threshold: at least two).
func (w *world) requireGateway(srcChain uint64, srcToken, gateway string) {
	w.t.Helper()
	intents, last, _ := w.stream.snapshot()
	credited := map[string]string{} // deposit tx → the simulator's note
	for _, e := range w.in.Hyperliquid.Record() {
		if e.User == w.account && e.Kind == hlsim.EvDeposit {
			credited[strings.ToLower(e.TxHash.Hex())] = e.Note
		}
	}
	dst := map[string]int{}
	for id, in := range intents {
		r := in.Route
		require.Equal(w.t, events.VenueHyperliquid, in.Venue, "intent %s: %+v", id, r)
		require.Equal(w.t, pair(srcChain, srcToken), pair(r.SrcChain, r.SrcToken), "intent %s: source", id)
		tx := strings.ToLower(last[id].Refs["depositTx"])
		require.Equal(w.t, gateway, credited[tx], "intent %s: the gateway its deposit %s was credited through", id, tx)
		dst[pair(r.DstChain, r.DstToken)]++
	}
	require.GreaterOrEqual(w.t, len(dst), 2, "intents to both deficits: %v", dst)
	w.t.Logf("%d intents from %s through %s, to %v", len(intents), pair(srcChain, srcToken), gateway, dst)
}

// TestExecutorKilledMidHyperliquid kills the executor with SIGKILL while its first order, or its
// first withdraw3, is in flight to the Hyperliquid simulator, lets the simulator accept it with
// the executor dead, and starts the executor again: the same intents complete with one order and
// one withdrawal each on the simulator's record (the restarted executor looks its cloid or nonce
// up before acting again), and the ledger stays true throughout. The simulator holds the request
// for a second before applying it (server-side latency: the venue acts even when its client has
// gone), and both points are observed on the simulator, so the killed executor can never have
// learnt that the venue acted: the window in which a careless executor would act again.
func TestExecutorKilledMidHyperliquid(t *testing.T) {
	for _, tc := range []struct {
		name   string
		action string // the exchange action held in flight
		kind   string // the simulator's event when it takes effect
	}{
		{"after the venue accepted the first order", "order", hlsim.EvOrder},
		{"after the venue accepted the first withdraw3", "withdraw3", hlsim.EvWithdraw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			w := newWorld(t)
			w.reshape(hyperliquidWorld)
			w.in.Hyperliquid.InjectFault(hlsim.Fault{Endpoint: "exchange", Type: tc.action, Kind: hlsim.FaultLatency, Delay: time.Second, Times: 1})
			held := func() bool {
				for _, e := range w.in.Hyperliquid.Record() {
					if e.Kind == hlsim.EvFault && e.Note == "exchange/"+tc.action+":latency" {
						return true
					}
				}
				return false
			}
			before, err := w.balances()
			require.NoError(t, err)
			w.checkEvery(checkInterval)
			w.startServices()
			require.Eventually(t, held, convergeTimeout, 5*time.Millisecond, "no %s reached the venue", tc.action)
			require.Zero(t, w.in.Hyperliquid.Count(tc.kind, w.account, ""), "the %s took effect before the kill", tc.action)
			w.executor.kill(t)
			recorded := lastRecorded(t, w.executor.logPath)
			require.Eventually(t, func() bool { return w.in.Hyperliquid.Count(tc.kind, w.account, "") > 0 },
				10*time.Second, 5*time.Millisecond, "the venue never accepted the %s in flight", tc.action)
			t.Logf("executor killed with SIGKILL while its %s was in flight, which the venue then accepted; the intents' last recorded steps: %v",
				tc.action, recorded)
			w.executor.start(t, w.ctx)
			w.waitConverged(convergeTimeout)
			w.requireHyperliquidRoutes()
			w.requireVenueExactlyOnce()
			w.requireNoOverfill(before)
			w.requireNoNewExcess(before)
			checks := w.requireLedgerTrue()
			w.requireNothingPending()
			w.report(checks, start)
		})
	}
}

// reshape sets the relayer's balance of every target to pct[pair] percent of its target (100
// when not named) by minting or burning the difference, before any service runs, and takes the
// conservation check's baseline again.
func (w *world) reshape(pct map[string]int64) {
	w.t.Helper()
	for _, tg := range w.cfg.Targets {
		c := w.in.Chains.ByID(tg.Chain)
		require.NotNil(w.t, c, "chain %d", tg.Chain)
		tc, ok := w.cfg.TokenOn(tg.Token, tg.Chain)
		require.True(w.t, ok)
		target, err := tg.Target.Units(tc.Decimals)
		require.NoError(w.t, err)
		p, ok := pct[pair(tg.Chain, tg.Token)]
		if !ok {
			p = 100
		}
		want := new(big.Int).Quo(new(big.Int).Mul(target, big.NewInt(p)), big.NewInt(100))
		have, err := c.BalanceOf(w.ctx, tg.Token, w.account)
		require.NoError(w.t, err)
		switch d := new(big.Int).Sub(want, have); d.Sign() {
		case 1:
			require.NoError(w.t, c.Mint(w.ctx, tg.Token, w.account, d))
		case -1:
			require.NoError(w.t, c.Burn(w.ctx, tg.Token, w.account, d.Neg(d)))
		}
	}
	below, above, err := w.outOfBand()
	require.NoError(w.t, err)
	w.t.Logf("reshaped: below threshold %v, above max %v", below, above)
	require.NoError(w.t, w.checker.Baseline(w.ctx))
}

// requireHyperliquidRoutes requires that every intent went through Hyperliquid and that among
// them are a swap on its book, a withdraw3 to Arbitrum and a spotSend to HyperEVM.
func (w *world) requireHyperliquidRoutes() {
	w.t.Helper()
	intents, _, _ := w.stream.snapshot()
	swaps, toArbitrum, toHyperEVM := 0, 0, 0
	for id, in := range intents {
		require.Equal(w.t, events.VenueHyperliquid, in.Venue, "intent %s: %+v", id, in.Route)
		if in.Route.SrcToken != in.Route.DstToken {
			swaps++
		}
		switch in.Route.DstChain {
		case arbitrum:
			toArbitrum++
		case hyperEVM:
			toHyperEVM++
		}
	}
	require.Positive(w.t, swaps, "a swap on the Hyperliquid book")
	require.Positive(w.t, toArbitrum, "a withdraw3 to Arbitrum")
	require.Positive(w.t, toHyperEVM, "a spotSend to HyperEVM")
}

// hlTally is what the Hyperliquid simulator recorded for the relayer's account.
type hlTally struct {
	orders, rejectedOrders, withdraw3s, spotSends, deposits, lost, payouts, refused int
}

func (w *world) hlTally() hlTally {
	var n hlTally
	for _, e := range w.in.Hyperliquid.Record() {
		if e.User != w.account {
			continue
		}
		switch e.Kind {
		case hlsim.EvOrder:
			n.orders++
		case hlsim.EvOrderRejected:
			n.rejectedOrders++
		case hlsim.EvWithdraw:
			n.withdraw3s++
		case hlsim.EvSpotSend:
			n.spotSends++
		case hlsim.EvDeposit:
			n.deposits++
		case hlsim.EvDepositLost:
			n.lost++
		case hlsim.EvPayout:
			n.payouts++
		case hlsim.EvRejected:
			n.refused++
		}
	}
	return n
}

func (n hlTally) String() string {
	return fmt.Sprintf("%d deposits credited, %d orders filled, %d withdraw3, %d spotSend, %d payouts (%d orders rejected, %d requests refused, %d deposits lost)",
		n.deposits, n.orders, n.withdraw3s, n.spotSends, n.payouts, n.rejectedOrders, n.refused, n.lost)
}

// requireHyperliquidExactlyOnce requires that the Hyperliquid simulator's own record shows, for
// every intent through it, its deposit credited once, one filled order under its cloid (none on
// a same-token route), one withdraw3 (to Arbitrum) or spotSend (to HyperEVM) under its nonce
// paid out once, and nothing else: no other order, withdrawal or deposit of the account, no
// deposit lost.
func (w *world) requireHyperliquidExactlyOnce() {
	w.t.Helper()
	intents, last, _ := w.stream.snapshot()
	record := w.in.Hyperliquid.Record()
	count := func(match func(e hlsim.Event) bool) int {
		n := 0
		for _, e := range record {
			if e.User == w.account && match(e) {
				n++
			}
		}
		return n
	}
	var want hlTally
	for id, in := range intents {
		if in.Venue != events.VenueHyperliquid {
			continue
		}
		u := last[id]
		require.NotNil(w.t, u)
		tx := u.Refs["depositTx"]
		require.NotEmpty(w.t, tx, "intent %s: no depositTx in %v", id, u.Refs)
		require.Equal(w.t, 1, count(func(e hlsim.Event) bool { return e.Kind == hlsim.EvDeposit && strings.EqualFold(e.TxHash.Hex(), tx) }),
			"intent %s: deposits credited for tx %s", id, tx)
		want.deposits++
		if in.Route.SrcToken != in.Route.DstToken {
			cloid := strings.ToLower(u.Refs["clientOrderId"])
			require.NotEmpty(w.t, cloid, "intent %s: no clientOrderId (cloid) in %v", id, u.Refs)
			require.Equal(w.t, 1, count(func(e hlsim.Event) bool { return e.Kind == hlsim.EvOrder && e.Cloid == cloid }),
				"intent %s: orders with cloid %s", id, cloid)
			require.Equal(w.t, 1, count(func(e hlsim.Event) bool {
				return e.Kind == hlsim.EvOrder && e.Cloid == cloid && e.Note == "filled"
			}), "intent %s: order %s not filled", id, cloid)
			want.orders++
		}
		nonce, err := strconv.ParseUint(u.Refs["withdrawId"], 10, 64)
		require.NoError(w.t, err, "intent %s: withdrawId (the action's nonce) in %v", id, u.Refs)
		kind, other := hlsim.EvSpotSend, hlsim.EvWithdraw
		if in.Route.DstChain == arbitrum {
			kind, other = hlsim.EvWithdraw, hlsim.EvSpotSend
			want.withdraw3s++
		} else {
			want.spotSends++
		}
		require.Equal(w.t, 1, w.in.Hyperliquid.CountNonce(kind, w.account, nonce), "intent %s: %s with nonce %d", id, kind, nonce)
		require.Zero(w.t, w.in.Hyperliquid.CountNonce(other, w.account, nonce), "intent %s: %s with nonce %d", id, other, nonce)
		require.Equal(w.t, 1, w.in.Hyperliquid.CountNonce(hlsim.EvPayout, w.account, nonce), "intent %s: payouts of nonce %d", id, nonce)
		want.payouts++
	}
	got := w.hlTally()
	require.Equal(w.t, want.orders, got.orders, "orders the simulator accepted: %s", got)
	require.Equal(w.t, want.withdraw3s, got.withdraw3s, "withdraw3s the simulator accepted: %s", got)
	require.Equal(w.t, want.spotSends, got.spotSends, "spotSends the simulator accepted: %s", got)
	require.Equal(w.t, want.deposits, got.deposits, "deposits the simulator credited: %s", got)
	require.Equal(w.t, want.payouts, got.payouts, "payouts the simulator sent: %s", got)
	require.Zero(w.t, got.lost, "deposits the simulator recorded as lost: %s", got)
}

// lastRecorded reads the executor's log for the last state it recorded per intent (its "step
// recorded" lines), to show where a kill landed.
func lastRecorded(t *testing.T, logPath string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(logPath)
	require.NoError(t, err)
	out := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		var l struct{ Message, Intent, To string }
		if json.Unmarshal([]byte(line), &l) != nil || l.Message != "step recorded" || len(l.Intent) < 12 {
			continue
		}
		out[l.Intent[:12]] = l.To
	}
	return out
}

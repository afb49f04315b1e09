//go:build !race

package e2e

import (
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// checkInterval is how often the conservation check runs while the services work.
const checkInterval = 200 * time.Millisecond

// convergeTimeout bounds the whole rebalance; a loaded two-core CI machine is slow.
const convergeTimeout = 90 * time.Second

// TestSeparateProcessesRebalance runs balancewatcher, planner and executor as three processes
// against devnet's parts: the seeded imbalance becomes intents, they complete on the simulators
// with one deposit, order and withdrawal each, no chain and token ends below its threshold or
// refilled past its target, and throughout, the ledger plus the chains' balances at the ledger's
// asOf equal the true inventory.
func TestSeparateProcessesRebalance(t *testing.T) {
	start := time.Now()
	w := newWorld(t)
	below, _, err := w.outOfBand()
	require.NoError(t, err)
	require.NotEmpty(t, below, "the seeded imbalance leaves some chain below its threshold")
	before, err := w.balances()
	require.NoError(t, err)
	w.checkEvery(checkInterval)
	w.startServices()
	w.waitConverged(convergeTimeout)
	w.requireNoOverfill(before)
	w.requireNoNewExcess(before)
	w.requireVenueExactlyOnce()
	checks := w.requireLedgerTrue()
	w.requireNothingPending()
	w.report(checks, start)
}

// TestExecutorKilledMidRun kills the executor process with SIGKILL (no shutdown at all) at points
// of its first intents, and starts it again: the intents still complete, each with one deposit,
// one order and one withdrawal on the venue (the simulator's own record), no deficit is filled
// twice, and the ledger stays true throughout.
//
// The venue points are the risky window: the venue has the request and acts on it, the executor
// never learns that it did. The Binance simulator holds the first order, and later the first
// withdrawal, for a second before applying it (server-side latency: it acts even when its client
// has gone); the test kills the executor once the request has arrived and is not yet applied,
// waits until the simulator applied it, and restarts the executor, which must look the order or
// withdrawal up by its client id before acting again. Both kills share one world: the withdrawal
// hold is armed while the executor is down, so the first withdrawal after the restart is held.
func TestExecutorKilledMidRun(t *testing.T) {
	t.Run("after the first deposit is signed", func(t *testing.T) {
		start := time.Now()
		w := newWorld(t)
		before, err := w.balances()
		require.NoError(t, err)
		w.checkEvery(checkInterval)
		w.startServices()
		require.Eventually(t, func() bool {
			_, _, seen := w.stream.snapshot()
			return seen[events.StateDepositSigned] > 0
		}, convergeTimeout, 5*time.Millisecond, "no deposit signed")
		w.executor.kill(t)
		t.Logf("executor killed with SIGKILL after the first deposit was signed; the intents' last recorded steps: %v",
			lastRecorded(t, w.executor.logPath))
		w.executor.start(t, w.ctx)
		w.requireRecovered(before, start)
	})
	t.Run("while the venue holds the first order, then the first withdrawal", func(t *testing.T) {
		start := time.Now()
		w := newWorld(t)
		before, err := w.balances()
		require.NoError(t, err)
		w.in.Binance.Inject(simbinance.Fault{Method: http.MethodPost, Path: pathOrder, Kind: simbinance.FaultHold, Latency: time.Second})
		w.checkEvery(checkInterval)
		w.startServices()
		w.killWhileHeld(pathOrder, simbinance.ActionOrder, events.StateOrderPlaced)
		w.in.Binance.Inject(simbinance.Fault{Method: http.MethodPost, Path: pathWithdraw, Kind: simbinance.FaultHold, Latency: time.Second})
		w.executor.start(t, w.ctx)
		w.killWhileHeld(pathWithdraw, simbinance.ActionWithdraw, events.StateWithdrawRequested)
		w.executor.start(t, w.ctx)
		w.requireRecovered(before, start)
	})
}

// The Binance endpoints a hold is put on.
const (
	pathOrder    = "/api/v3/order"
	pathWithdraw = "/sapi/v1/capital/withdraw/apply"
)

// killWhileHeld waits until the Binance simulator holds a request to path (a FaultHold armed by
// the caller), requires that it has not acted on it, kills the executor, requires that the held
// intent's last recorded step is before next (the executor never recorded the outcome), and
// waits until the simulator acted on the request, with the executor dead.
func (w *world) killWhileHeld(path string, kind simbinance.ActionKind, next events.State) {
	w.t.Helper()
	var h simbinance.Hold
	held := func() bool {
		for _, x := range w.in.Binance.Holds() {
			if x.Path == path {
				h = x
				return true
			}
		}
		return false
	}
	require.Eventually(w.t, held, convergeTimeout, 5*time.Millisecond, "no request to %s reached the venue", path)
	require.Zero(w.t, w.in.Binance.Count(kind, h.ClientID), "the venue acted on %s before the kill", h.ClientID)
	w.executor.kill(w.t)
	held()
	require.False(w.t, h.Applied, "the venue acted on %s before the kill", h.ClientID)
	recorded := lastRecorded(w.t, w.executor.logPath)
	intent := w.intentOf(h.ClientID)
	require.NotEmpty(w.t, intent, "no intent has client id %s", h.ClientID)
	at := recorded[intent[:12]]
	for _, st := range after(next) {
		require.NotEqual(w.t, string(st), at, "intent %s recorded %s before the kill: the kill missed the window", intent[:12], at)
	}
	require.Eventually(w.t, func() bool { held(); return h.Applied }, 10*time.Second, 5*time.Millisecond, "the venue never applied %s", h.ClientID)
	require.Empty(w.t, h.Err, "the venue refused the held request %s", h.ClientID)
	require.Equal(w.t, 1, w.in.Binance.Count(kind, h.ClientID))
	w.t.Logf("executor killed with SIGKILL while the venue held %s %s (intent %s, last recorded %q), which the venue then applied; the intents' last recorded steps: %v",
		path, h.ClientID, intent[:12], at, recorded)
}

// after is st and every state of the Binance route that follows it.
func after(st events.State) []events.State {
	route := []events.State{events.StateOrderPlaced, events.StateOrderFilled, events.StateWithdrawRequested,
		events.StateWithdrawSent, events.StateLanded, events.StateCompleted}
	for i, x := range route {
		if x == st {
			return route[i:]
		}
	}
	return []events.State{st}
}

// intentOf is the intent whose venue client id (rb<step>-<intent id prefix>) is cid.
func (w *world) intentOf(cid string) string {
	_, prefix, ok := strings.Cut(cid, "-")
	if !ok {
		return ""
	}
	intents, _, _ := w.stream.snapshot()
	for id := range intents {
		if strings.HasPrefix(id, prefix) {
			return id
		}
	}
	return ""
}

// requireRecovered waits until the rebalance converged after a restart and checks it: each
// intent's effects exactly once on the venues' records, no deficit refilled twice, no new excess,
// the ledger true throughout and nothing left pending.
func (w *world) requireRecovered(before map[string]*big.Int, start time.Time) {
	w.t.Helper()
	w.waitConverged(convergeTimeout)
	w.requireVenueExactlyOnce()
	w.requireNoOverfill(before)
	w.requireNoNewExcess(before)
	checks := w.requireLedgerTrue()
	w.requireNothingPending()
	w.report(checks, start)
}

// TestPlannerRestartedMidRun kills the planner with SIGKILL once it has emitted intents and starts
// it again while they are in flight: it catches up on the stream and decides nothing twice. The
// stream's de-duplication would hide an intent republished under the same id, so the test that
// matters is the balances: a deficit decided again under a new id would be refilled past its
// target (requireNoOverfill).
func TestPlannerRestartedMidRun(t *testing.T) {
	start := time.Now()
	w := newWorld(t)
	before, err := w.balances()
	require.NoError(t, err)
	w.checkEvery(checkInterval)
	w.startServices()
	require.Eventually(t, func() bool {
		intents, _, _ := w.stream.snapshot()
		return len(intents) > 0
	}, convergeTimeout, 20*time.Millisecond, "no intent emitted")
	w.planner.kill(t)
	w.planner.start(t, w.ctx)
	w.waitConverged(convergeTimeout)
	w.requireNoOverfill(before)
	w.requireNoNewExcess(before)
	intents, _, _ := w.stream.snapshot()
	msgs, _ := w.stream.counts()
	require.Equal(t, len(intents), msgs, "intent messages on the stream against distinct intent ids")
	w.requireVenueExactlyOnce()
	checks := w.requireLedgerTrue()
	w.report(checks, start)
}

// requireNothingPending reads the ledger as an inventory client does (pkg/pending.Reader, at
// asOf) once everything completed, until no leg is in effect on any chain. It waits: an intent
// completes when its withdrawal lands, and the ledger's asOf passes the landing block only with
// the watcher's next snapshots; until then the credit still counts, rightly, at asOf.
func (w *world) requireNothingPending() {
	w.t.Helper()
	var left []string
	ok := func() bool {
		view, err := w.ledger.Read(w.ctx, w.account.Hex(), nil)
		if err != nil {
			left = []string{err.Error()}
			return false
		}
		left = left[:0]
		for id, cv := range view.Chains {
			for tok, tot := range cv.Tokens {
				if tot.Amount.Sign() != 0 {
					left = append(left, fmt.Sprintf("chain %d: %s %s at asOf %d", id, tot.Amount, tok, cv.AsOf))
				}
			}
		}
		return len(left) == 0
	}
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			w.t.Fatalf("a minute after every intent completed, the ledger still has legs in effect: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *world) report(checks int, start time.Time) {
	intents, _, seen := w.stream.snapshot()
	msgs, updates := w.stream.counts()
	_, above, _ := w.outOfBand()
	perVenue := map[string]int{}
	for _, in := range intents {
		perVenue[in.Venue]++
	}
	w.t.Logf("%d intents %v (%d intent messages), %d execution updates %v, %d conservation checks with 0 violations, %s; above max with no deficit left to drain into: %v",
		len(intents), perVenue, msgs, updates, seen, checks, time.Since(start).Round(time.Second), above)
	w.t.Logf("binance simulator: %d deposits seen, %d orders, %d withdrawals; hyperliquid simulator: %s",
		w.in.Binance.Count(simbinance.ActionDepositSeen, ""), w.in.Binance.Count(simbinance.ActionOrder, ""),
		w.in.Binance.Count(simbinance.ActionWithdraw, ""), w.hlTally())
}

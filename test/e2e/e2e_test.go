//go:build !race

package e2e

import (
	"fmt"
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

// TestExecutorKilledMidRun kills the executor process with SIGKILL (no shutdown at all) at a
// point of its first intents, and starts it again: the intents still complete, each with one
// deposit, one order and one withdrawal on the venue (the simulator's own record), no deficit is
// filled twice, and the ledger stays true throughout. The venue points are watched on the
// simulator itself, so the kill lands right after the venue acted and most likely before the
// executor recorded it: the window in which a careless executor would submit again.
func TestExecutorKilledMidRun(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   func(w *world) bool
	}{
		{"after the first deposit is signed", func(w *world) bool {
			_, _, seen := w.stream.snapshot()
			return seen[events.StateDepositSigned] > 0
		}},
		{"after the venue accepted the first order", func(w *world) bool { return w.in.Binance.Count(simbinance.ActionOrder, "") > 0 }},
		{"after the venue accepted the first withdrawal", func(w *world) bool { return w.in.Binance.Count(simbinance.ActionWithdraw, "") > 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			w := newWorld(t)
			before, err := w.balances()
			require.NoError(t, err)
			w.checkEvery(checkInterval)
			w.startServices()
			require.Eventually(t, func() bool { return tc.at(w) }, convergeTimeout, 5*time.Millisecond, "never got there")
			w.executor.kill(t)
			_, last, _ := w.stream.snapshot()
			t.Logf("executor killed with SIGKILL %s; the intents' states on the stream then: %v", tc.name, states(last))
			w.executor.start(t, w.ctx)
			w.waitConverged(convergeTimeout)
			w.requireVenueExactlyOnce()
			w.requireNoOverfill(before)
			w.requireNoNewExcess(before)
			checks := w.requireLedgerTrue()
			w.requireNothingPending()
			w.report(checks, start)
		})
	}
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

func states(last map[string]*events.ExecutionUpdate) map[events.State]int {
	out := map[events.State]int{}
	for _, u := range last {
		out[u.State]++
	}
	return out
}

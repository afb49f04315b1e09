package planner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func update(w *world, in *events.RebalanceIntent, version uint64, state events.State, legs ...events.Leg) *events.ExecutionUpdate {
	w.at = w.at.Add(time.Second)
	return &events.ExecutionUpdate{
		Meta:     events.NewMeta(events.TypeExecutionUpdate, in.ID+":"+itoa(version), in.ID, "executor", w.at),
		IntentID: in.ID, Account: in.Account, Venue: in.Venue, IntentVersion: version, State: state, Legs: legs,
	}
}

func leg(name string, chain uint64, token, human string, until uint64) events.Leg {
	a := units(human)
	if name == "src" {
		a = events.NewAmount(neg(a.Big()))
	}
	return events.Leg{Name: name, ChainID: chain, Token: token, Amount: a, Decimals: 6, UntilBlock: until}
}

func watermark(w *world, chain, asOf uint64) *events.LedgerWatermark {
	return &events.LedgerWatermark{Meta: events.NewMeta(events.TypeLedgerWatermark, "wm-"+itoa(chain)+"-"+itoa(asOf), "", "executor", w.at),
		Account: testAccount, ChainID: chain, AsOf: asOf}
}

// TestVirtualBalanceAheadOfLedger: a withdrawal of 585 landed on chain 10 at block 25, the chain's
// snapshot at block 30 shows it, but the executor's ledger still says "credit pending" (watermark
// 22). Counting the credit again would make 10/USDC look like it has 1585 and an excess to send
// away; the planner must not.
func TestVirtualBalanceAheadOfLedger(t *testing.T) {
	setup := func(t *testing.T, yamlText string) *world {
		w := newWorld(t, yamlText)
		w.balanced()
		w.chainSnap(1, "2000", "1000") // block 20 on chain 1
		w.chainSnap(10, "400", "1000") // blocks 10→20
		w.apply(watermark(w, 1, 1000))
		w.apply(watermark(w, 10, 20))
		d := w.decide()
		require.Equal(t, []string{"binance 1/USDC→10/USDC 600.00"}, summary(d))
		in := d.Intents[0]
		w.apply(update(w, in, 1, events.StateWithdrawSent, leg("src", 1, "USDC", "600", 0), leg("dst", 10, "USDC", "585", 0)))
		w.apply(watermark(w, 10, 22))
		w.snapAt(10, 20, 30, "985", "1000") // landed at 25, not yet in the ledger
		return w
	}

	t.Run("conservative", func(t *testing.T) {
		w := setup(t, testYAML)
		d := w.plan()
		for _, x := range d.Record.Excess {
			require.False(t, x.Chain == 10 && x.Token == "USDC", "a landed credit counted twice as excess: %+v", d.Record.Excess)
		}
		require.Empty(t, d.Intents)

		// Once the executor records the landing (until 15) and the watermark passes 20, the
		// balance is exact: 985, inside the band.
		w.apply(update(w, first(w), 2, events.StateLanded, leg("src", 1, "USDC", "600", 0), leg("dst", 10, "USDC", "585", 25)))
		w.apply(watermark(w, 10, 30))
		w.snapAt(10, 30, 31, "985", "1000")
		d = w.plan()
		require.Empty(t, d.Record.Excess)
		require.Empty(t, d.Record.Deficit)
	})

	t.Run("wait", func(t *testing.T) {
		w := setup(t, edit(t, `cooldown: "10m"`, "cooldown: \"10m\"\n  aheadOfLedger: wait"))
		d := w.plan()
		require.True(t, contains(d.Record.Excluded, "10/USDC: snapshot at 30 ahead of ledger watermark 22 (waiting)"), "%v", d.Record.Excluded)
	})

	t.Run("a debit the ledger has not closed counts against the excess", func(t *testing.T) {
		w := newWorld(t, testYAML)
		w.balanced()
		w.chainSnap(1, "2600", "1000") // excess 1600
		w.chainSnap(10, "400", "1000")
		d := w.decide()
		require.Equal(t, []string{"binance 1/USDC→10/USDC 600.00"}, summary(d))
		// The deposit was mined at block 25 on chain 1 but the ledger (watermark 20) still has
		// the debit open: the snapshot at 30 shows 2000. lo counts the debit again (1400, no
		// excess); the planner never sends money that may be gone.
		w.apply(update(w, d.Intents[0], 1, events.StateDepositSigned, leg("src", 1, "USDC", "600", 0), leg("dst", 10, "USDC", "585", 0)))
		w.apply(watermark(w, 1, 20))
		w.chainSnap(1, "2000", "1000")
		w.chainSnap(42161, "1000", "100") // a new deficit that the excess could fill
		d = w.plan()
		require.Empty(t, d.Record.Excess, "%+v", d.Record.Excess)
	})
}

// first is the one intent the world's state holds.
func first(w *world) *events.RebalanceIntent {
	ids := sortedIntentIDs(w.st)
	require.Len(w.t, ids, 1)
	return w.st.ints[ids[0]].intent
}

// TestPruneForgetsSettledIntents: a completed intent whose legs closed at blocks every snapshot
// has passed no longer changes any balance, so the state forgets it (and keeps the cooldown).
func TestPruneForgetsSettledIntents(t *testing.T) {
	w := newWorld(t, testYAML)
	w.balanced()
	w.chainSnap(1, "2000", "1000") // chain 1 at block 20
	w.chainSnap(10, "400", "1000") // chain 10 at block 20
	d := w.decide()
	require.Len(t, d.Intents, 1)
	in := d.Intents[0]
	w.apply(update(w, in, 1, events.StateCompleted, leg("src", 1, "USDC", "600", 25), leg("dst", 10, "USDC", "585", 26)))
	require.Len(t, w.st.ints, 1, "legs still open at the snapshots' blocks")
	w.chainSnap(1, "1400", "1000") // block 30 ≥ 25
	require.Len(t, w.st.ints, 1, "the destination leg is still open on chain 10")
	w.chainSnap(10, "985", "1000") // block 30 ≥ 26
	require.Empty(t, w.st.ints)
	require.Empty(t, w.st.byAccount[testAccount])
	require.Contains(t, w.st.routes, routeKeyOf(testAccount, "binance", in.Route), "the cooldown outlives the intent")
	require.Empty(t, w.plan().Intents)
}

package planner

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// TestWarmUp: an account decides nothing until every location it has was seen once in the
// stream, or until the warm-up grace (the largest staleAfter, 60s here) has passed in stream
// time since its first snapshot. Every case starts from an empty state; the world's clock
// moves one second per snapshot from t0.
func TestWarmUp(t *testing.T) {
	// imbalanced: an excess on 1/USDC and a deficit on 10/USDC, which only Binance can fill
	// (Hyperliquid serves 42161/USDC and 10/USDC).
	imbalanced := func(w *world) {
		w.chainSnap(1, "2000", "1000")
		w.chainSnap(10, "400", "1000")
		w.chainSnap(42161, "1000", "1000")
	}
	cases := []struct {
		name    string
		setup   func(w *world)
		want    []string
		missing []string
		reason  string
		check   func(t *testing.T, d Decision)
	}{
		{
			name:    "a venue not seen yet: no intent, and why",
			setup:   func(w *world) { imbalanced(w); w.venueSnap("hyperliquid") },
			missing: []string{"binance"},
			reason:  "warming up: no snapshot yet of binance; deciding without them from 2026-11-24T09:01:01Z (stream time)",
		},
		{
			name: "a chain not seen yet: no intent, and why",
			setup: func(w *world) {
				w.venueSnap("binance")
				w.venueSnap("hyperliquid")
				w.chainSnap(1, "2000", "1000")
				w.chainSnap(10, "400", "1000")
			},
			missing: []string{"chain 42161"},
			reason:  "warming up: no snapshot yet of chain 42161; deciding without them from 2026-11-24T09:01:01Z (stream time)",
		},
		{
			name:    "several locations not seen yet, venues first",
			setup:   func(w *world) { w.chainSnap(10, "400", "1000") },
			missing: []string{"binance", "hyperliquid", "chain 1", "chain 42161"},
			reason:  "warming up: no snapshot yet of binance, hyperliquid, chain 1, chain 42161; deciding without them from 2026-11-24T09:01:01Z (stream time)",
		},
		{
			name: "no snapshot at all: the grace has not started",
			setup: func(w *world) {
				w.apply(&events.LedgerWatermark{Meta: events.NewMeta(events.TypeLedgerWatermark, "wm-1", "", "executor", w.at), Account: testAccount, ChainID: 10, AsOf: 5})
			},
			missing: []string{"binance", "hyperliquid", "chain 1", "chain 10", "chain 42161"},
			reason:  "warming up: no snapshot yet of binance, hyperliquid, chain 1, chain 10, chain 42161",
		},
		{
			name:  "once the venue arrives: the intent",
			setup: func(w *world) { imbalanced(w); w.venueSnap("hyperliquid"); w.venueSnap("binance") },
			want:  []string{"binance 1/USDC→10/USDC 600.00"},
		},
		{
			name: "one second before the grace ends it still waits",
			setup: func(w *world) {
				imbalanced(w) // first snapshot at t0+1s
				w.venueSnap("hyperliquid")
				w.at = t0.Add(59 * time.Second) // the next snapshot is at t0+60s
				w.chainSnap(42161, "1000", "1000")
			},
			missing: []string{"binance"},
			reason:  "warming up: no snapshot yet of binance; deciding without them from 2026-11-24T09:01:01Z (stream time)",
		},
		{
			name: "grace over in stream time: decides without the venue, which fails closed",
			setup: func(w *world) {
				w.chainSnap(1, "2000", "1000") // first snapshot at t0+1s
				w.at = t0.Add(60 * time.Second)
				w.chainSnap(10, "1000", "1000")    // t0+61s: the grace ends
				w.chainSnap(42161, "2000", "1000") // an excess Hyperliquid can carry
				w.chainSnap(10, "400", "1000")
				w.venueSnap("hyperliquid")
			},
			want: []string{"hyperliquid 42161/USDC→10/USDC 600.00"},
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Excluded, "binance: state unknown"), "%v", d.Record.Excluded)
			},
		},
		{
			name: "a location once seen does not warm up again when it goes stale",
			setup: func(w *world) {
				imbalanced(w)
				w.venueSnap("hyperliquid")
				w.venueSnap("binance")
				w.at = w.at.Add(2 * time.Minute)
				w.chainSnap(1, "2000", "1000")
				w.chainSnap(10, "400", "1000")
				w.chainSnap(42161, "1000", "1000")
			},
			check: func(t *testing.T, d Decision) {
				require.Equal(t, "no venue can take an intent", d.Record.Reason)
				require.True(t, contains(d.Record.Excluded, "binance: state unknown: snapshot"), "%v", d.Record.Excluded)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, testYAML)
			tc.setup(w)
			d := w.plan()
			require.Equal(t, tc.want, summary(d), "record: %+v", d.Record)
			require.Equal(t, tc.missing, d.Record.WarmingUp)
			if tc.reason != "" {
				require.Equal(t, tc.reason, d.Record.Reason)
			}
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

// TestWarmUpIsPerAccount: one account's snapshots neither start nor end another's warm-up.
func TestWarmUpIsPerAccount(t *testing.T) {
	const other = "0x70997970C51812dc3A010c7D01b3e0d8b5EE5D22"
	w := newWorld(t, edit(t, `accounts: ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"]`, `accounts: ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "`+other+`"]`))
	w.balanced()
	w.at = w.at.Add(5 * time.Minute)
	w.apply(&events.BalanceSnapshot{
		Meta:     events.NewMeta(events.TypeBalanceSnapshot, "v:other", "", "balancewatcher", w.at),
		Location: events.VenueLocation("binance"), Account: other, VenueSeq: 1, Balances: []events.TokenBalance{},
	})
	d := Plan(w.pol, w.costs, w.st, other, Basis{Seq: w.seq, EventID: "x", At: w.at})
	require.Equal(t, []string{"hyperliquid", "chain 1", "chain 10", "chain 42161"}, d.Record.WarmingUp)
	require.Contains(t, d.Record.Reason, "deciding without them from "+w.at.Add(time.Minute).Format(time.RFC3339Nano))
}

// warmUpScript is the e2e's race in small: the chains and Hyperliquid show up first, with an
// excess only Binance can carry to the deficit, then (after a few watermarks, each a decision
// basis) Binance's first snapshot.
func warmUpScript(w *world) {
	w.chainSnap(1, "2000", "1000")
	w.chainSnap(10, "400", "1000")
	w.chainSnap(42161, "2000", "1000")
	w.venueSnap("hyperliquid")
	for i := range 3 {
		w.apply(&events.LedgerWatermark{Meta: events.NewMeta(events.TypeLedgerWatermark, "wm-"+string(rune('a'+i)), "", "executor", w.at), Account: testAccount, ChainID: 10, AsOf: uint64(i + 1)})
	}
	w.venueSnap("binance")
	w.chainSnap(1, "2000", "1000")
}

// TestWarmUpReplaysIdentically: a live replica and two replays of a stream that begins with a
// partial view decide the same intents, byte for byte, and none before Binance was seen.
func TestWarmUpReplaysIdentically(t *testing.T) {
	srv := testenv.NATS(t)
	pub := connect(t, srv, "test")
	s := startService(t, srv, testYAML, "warm")
	w := newWorld(t, testYAML)
	var last, binance uint64
	w.out = func(ev events.Event) {
		res, err := pub.Publish(context.Background(), ev)
		require.NoError(t, err)
		last = res.Seq
		if snap, ok := ev.(*events.BalanceSnapshot); ok && snap.Location == events.VenueLocation("binance") {
			binance = res.Seq
		}
	}
	warmUpScript(w)
	waitCaughtUp(t, last, s)

	got := streamIntents(t, pub)
	require.NotEmpty(t, got)
	for _, in := range got {
		require.GreaterOrEqual(t, in.Basis.Seq, binance, "intent %s decided before Binance was seen", in.ID)
	}
	var live bytes.Buffer
	require.NoError(t, WriteIntents(&live, got))
	first, res := replayBytes(t, pub, testYAML, 1, 0)
	second, _ := replayBytes(t, pub, testYAML, 1, 0)
	require.Equal(t, first, second)
	require.Equal(t, live.String(), string(first))
	require.Empty(t, Diff(res.Original, res.Intents))

}

// noStream is a Stream the test never reaches: handle folds and decides without it.
type noStream struct{ Stream }

// TestWarmUpIsLogged: while an account warms up, the debug log says what it waits for.
func TestWarmUpIsLogged(t *testing.T) {
	w := newWorld(t, testYAML)
	var logs bytes.Buffer
	s, err := New(w.pol.cfg, Deps{Stream: noStream{}, Log: zerolog.New(&logs).Level(zerolog.DebugLevel), Instance: "log"})
	require.NoError(t, err)
	seq := uint64(0)
	w.out = func(ev events.Event) {
		seq++
		s.handle(bus.Message{Seq: seq, Event: ev})
	}
	w.chainSnap(1, "2000", "1000")
	require.Contains(t, logs.String(), `"message":"warming up"`)
	require.Contains(t, logs.String(), `"not_seen":["binance","hyperliquid","chain 10","chain 42161"]`)
	require.Contains(t, logs.String(), `"reason":"warming up: no snapshot yet of binance, hyperliquid, chain 10, chain 42161; deciding without them from 2026-11-24T09:01:01Z (stream time)"`)
}

package planner

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func connect(tb testing.TB, srv *localinfra.NATS, name string) *bus.Bus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, bus.Config{URL: srv.URL(), Name: name, ReconnectWait: 50 * time.Millisecond}, zerolog.Nop(), prometheus.NewRegistry())
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}

// startService runs a planner replica until the test ends.
func startService(tb testing.TB, srv *localinfra.NATS, yamlText, instance string) *Service {
	tb.Helper()
	w := newWorld(tb, yamlText)
	s, err := New(w.pol.cfg, Deps{Stream: connect(tb, srv, "planner"), Log: zerolog.Nop(), Instance: instance})
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-done)
	})
	return s
}

// script publishes a stream that makes the planner decide several times: deficits that come back
// after their intents expire, cooldowns, caps, a watermark, a pause and a resume.
func script(t *testing.T, w *world) {
	w.balanced()
	for round := 0; round < 6; round++ {
		w.chainSnap(1, "2600", "1000")
		w.chainSnap(10, "300", "1000")
		w.chainSnap(42161, "1000", "200")
		w.venueSnap("binance")
		w.venueSnap("hyperliquid")
		if round == 2 {
			w.apply(&events.LedgerWatermark{Meta: events.NewMeta(events.TypeLedgerWatermark, "wm-1", "", "executor", w.at), Account: testAccount, ChainID: 10, AsOf: w.last[10]})
			w.apply(&events.ControlCommand{Meta: events.NewMeta(events.TypeControlCommand, "pause-1", "", "op", w.at), Verb: events.VerbPause, Scope: "hyperliquid", Reason: "test", Operator: "me"})
		}
		if round == 4 {
			w.apply(&events.ControlCommand{Meta: events.NewMeta(events.TypeControlCommand, "resume-1", "", "op", w.at), Verb: events.VerbResume, Scope: "hyperliquid", Reason: "test", Operator: "me"})
		}
		w.at = w.at.Add(20 * time.Minute)
	}
}

// publishScript publishes the script and returns the last sequence it used.
func publishScript(t *testing.T, b *bus.Bus) uint64 {
	t.Helper()
	w := newWorld(t, testYAML)
	var last uint64
	w.out = func(ev events.Event) {
		res, err := b.Publish(context.Background(), ev)
		require.NoError(t, err)
		require.False(t, res.Duplicate, "script events are distinct facts")
		last = res.Seq
	}
	script(t, w)
	return last
}

// streamIntents reads every intent the stream holds, in stream order.
func streamIntents(t *testing.T, b *bus.Bus) []*events.RebalanceIntent {
	t.Helper()
	var out []*events.RebalanceIntent
	err := b.ReadRange(context.Background(), bus.Range{Subjects: []string{events.SubjectIntents + ".>"}}, func(m bus.Message) error {
		require.NoError(t, m.DecodeErr)
		out = append(out, m.Event.(*events.RebalanceIntent))
		return nil
	})
	require.NoError(t, err)
	return out
}

func waitCaughtUp(t *testing.T, seq uint64, ss ...*Service) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, s := range ss {
			if s.Ready(context.Background()) != nil || s.Seq() < seq || s.Pending() > 0 {
				return false
			}
		}
		return true
	}, 20*time.Second, 5*time.Millisecond)
}

func replayBytes(t *testing.T, b *bus.Bus, yamlText string, from, to uint64) ([]byte, ReplayResult) {
	t.Helper()
	w := newWorld(t, yamlText)
	res, err := Replay(context.Background(), b, w.pol, nil, from, to)
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteIntents(&buf, res.Intents))
	return buf.Bytes(), res
}

func TestTwoReplicasPublishOneCopyAndReplayIsIdentical(t *testing.T) {
	srv := testenv.NATS(t)
	pub := connect(t, srv, "test")
	a := startService(t, srv, testYAML, "a")
	b := startService(t, srv, testYAML, "b")
	last := publishScript(t, pub)
	waitCaughtUp(t, last, a, b)

	got := streamIntents(t, pub)
	require.GreaterOrEqual(t, len(got), 6, "the script makes the planner decide repeatedly")
	t.Logf("%d intents in the stream", len(got))
	seen := map[string]int{}
	for _, in := range got {
		seen[in.ID]++
		require.Equal(t, 1, seen[in.ID], "intent %s stored twice", in.ID)
	}

	// The same stream replayed twice gives the same bytes, and the same bytes the live
	// replicas published.
	first, res := replayBytes(t, pub, testYAML, 1, 0)
	second, _ := replayBytes(t, pub, testYAML, 1, 0)
	require.Equal(t, first, second)
	var live bytes.Buffer
	require.NoError(t, WriteIntents(&live, got))
	require.Equal(t, live.String(), string(first))
	require.Empty(t, Diff(res.Original, res.Intents))

	// A third replica started now catches up, finds every decision in the stream and adds none.
	c := startService(t, srv, testYAML, "c")
	waitCaughtUp(t, last, c)
	require.Len(t, streamIntents(t, pub), len(got))
}

func TestCatchUpPublishesDecisionsMissingFromTheStream(t *testing.T) {
	srv := testenv.NATS(t)
	pub := connect(t, srv, "test")
	last := publishScript(t, pub) // no planner was running: the stream has no intent
	require.Empty(t, streamIntents(t, pub))
	want, res := replayBytes(t, pub, testYAML, 1, last)

	s := startService(t, srv, testYAML, "late")
	waitCaughtUp(t, last, s)
	// Only the decisions still before their deadline in stream time are published.
	got := streamIntents(t, pub)
	require.NotEmpty(t, got)
	var gotBytes bytes.Buffer
	require.NoError(t, WriteIntents(&gotBytes, got))
	require.Contains(t, string(want), gotBytes.String(), "published decisions are the replay's, unchanged")
	require.Less(t, len(got), len(res.Intents), "decisions past their deadline are not published")
	for _, in := range got {
		require.False(t, res.Clock.After(in.Deadline), "intent %s published after its deadline", in.ID)
	}
}

func TestWhatIfReplayDiffs(t *testing.T) {
	srv := testenv.NATS(t)
	pub := connect(t, srv, "test")
	a := startService(t, srv, testYAML, "a")
	last := publishScript(t, pub)
	waitCaughtUp(t, last, a)

	// A tighter transfer cap decides smaller intents: every original differs.
	whatIf := edit(t, `maxTransfer: "2000"`, `maxTransfer: "300"`)
	_, res := replayBytes(t, pub, whatIf, 1, 0)
	lines := Diff(res.Original, res.Intents)
	require.NotEmpty(t, lines)
	require.True(t, contains(lines, "- seq"), "%v", lines)
	require.True(t, contains(lines, "amountIn 300000000"), "%v", lines)

	// Replaying with the config in force finds no difference.
	_, same := replayBytes(t, pub, testYAML, 1, 0)
	require.Empty(t, Diff(same.Original, same.Intents))
}

// TestLaggingReplicaHoldsItsDecisions: a replica handling messages stored longer ago than its lag
// limit publishes nothing (another replica may have published the same intents outside the
// duplicate window); once it handles a fresh message it publishes what the stream still lacks.
func TestLaggingReplicaHoldsItsDecisions(t *testing.T) {
	srv := testenv.NATS(t)
	pub := connect(t, srv, "test")
	w := newWorld(t, testYAML)
	var ahead atomic.Int64 // how far the replica's wall clock is ahead of the stream's
	ahead.Store(int64(time.Hour))
	s, err := New(w.pol.cfg, Deps{Stream: connect(t, srv, "planner"), Instance: "lag", LagLimit: time.Minute,
		Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }}) // every message looks an hour old
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	require.Eventually(t, func() bool { return s.Ready(ctx) == nil }, 10*time.Second, time.Millisecond)

	var last uint64
	w.out = func(ev events.Event) {
		res, err := pub.Publish(context.Background(), ev)
		require.NoError(t, err)
		last = res.Seq
	}
	w.balanced()
	w.chainSnap(1, "2000", "1000")
	w.chainSnap(10, "400", "1000")
	require.Eventually(t, func() bool { return s.Seq() >= last }, 10*time.Second, time.Millisecond)
	require.Equal(t, 1, s.Pending(), "decided, held")
	require.Empty(t, streamIntents(t, pub))

	ahead.Store(0) // caught up with the present: the next message releases the decision
	w.venueSnap("binance")
	require.Eventually(t, func() bool { return s.Pending() == 0 }, 10*time.Second, time.Millisecond)
	require.Len(t, streamIntents(t, pub), 1)
}

// TestConfigChangeDoesNotRepeatMoves: a planner restarted with another config re-decides the
// history under the new config hash (new ids); where the stream holds the old config's intent on
// the same basis, that intent is what was sent, so the new planner publishes nothing for it.
func TestConfigChangeDoesNotRepeatMoves(t *testing.T) {
	srv := testenv.NATS(t)
	pub := connect(t, srv, "test")
	old := startService(t, srv, testYAML, "old")
	last := publishScript(t, pub)
	waitCaughtUp(t, last, old)
	before := streamIntents(t, pub)
	require.NotEmpty(t, before)

	changed := edit(t, `feeBound: "0.025"`, `feeBound: "0.024"`) // same decisions, new hash
	n := startService(t, srv, changed, "new")
	waitCaughtUp(t, last, n)
	require.Len(t, streamIntents(t, pub), len(before), "the new config must not repeat moves already sent")
}

// TestSupersededDecisionsKeepCountingUntilRead: after a config change, the old config's intents
// on a basis arrive one by one; the new planner's decisions on that basis are never published,
// and those not yet matched keep their deficits covered, so nothing is decided again between
// the old intents' arrivals.
func TestSupersededDecisionsKeepCountingUntilRead(t *testing.T) {
	w := newWorld(t, edit(t, `feeBound: "0.025"`, `feeBound: "0.024"`))
	w.st.Own(w.pol.hash)
	w.balanced()
	w.chainSnap(1, "2600", "1000")
	w.chainSnap(10, "300", "1000")
	w.chainSnap(42161, "1000", "200")
	d := w.decide()
	require.Len(t, d.Intents, 2, "two deficits, two intents: %v", summary(d))

	// The old config's intent for the first route arrives.
	old := *d.Intents[0]
	old.Basis.ConfigHash = "old-config"
	old.ID = IntentID("old-config", old.Basis.Seq, old.Account, old.Venue, old.Route, old.AmountIn.Big())
	w.apply(&old)
	for _, in := range d.Intents {
		require.False(t, w.st.holds(in.ID), "a superseded decision is never published")
	}
	// Past the routes' cooldowns, within the intents' deadlines, with fresh snapshots.
	w.at = w.at.Add(11 * time.Minute)
	w.chainSnap(1, "2600", "1000")
	w.chainSnap(10, "300", "1000")
	w.chainSnap(42161, "1000", "200")
	w.venueSnap("binance")
	w.venueSnap("hyperliquid")
	again := w.plan()
	require.Empty(t, again.Intents, "the second deficit stays covered until the old config's intent for it is read: %v", summary(again))

	// The old config's second intent arrives: still nothing to decide, and nothing counted twice.
	old2 := *d.Intents[1]
	old2.Basis.ConfigHash = "old-config"
	old2.ID = IntentID("old-config", old2.Basis.Seq, old2.Account, old2.Venue, old2.Route, old2.AmountIn.Big())
	w.apply(&old2)
	require.Empty(t, w.plan().Intents)
	count := 0
	for _, is := range w.st.ints {
		if is.inFlight(w.st.clock) {
			count++
		}
	}
	require.Equal(t, 2, count, "exactly the two old intents are in flight")
}

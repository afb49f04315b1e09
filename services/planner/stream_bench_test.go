package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// benchYAML is testYAML with limits that never bind, so that every deficit becomes an intent.
func benchYAML(tb testing.TB) string {
	tb.Helper()
	y := testYAML
	for _, r := range [][2]string{
		{`staleAfter: "60s"`, `staleAfter: "1000h"`},
		{`cooldown: "5m"`, `cooldown: "1ns"`},
		{`cooldown: "10m"`, `cooldown: "1ns"`},
		{`maxInFlight: 3`, `maxInFlight: 1000`},
		{`maxNotional: "5000"`, `maxNotional: "100000000"`},
	} {
		require.Contains(tb, y, r[0])
		y = strings.ReplaceAll(y, r[0], r[1])
	}
	return y
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p) // index arithmetic on a latency sample, not an amount
	return s[i]
}

// BenchmarkSnapshotToIntent measures, through the embedded JetStream, the time from publishing a
// snapshot that opens a deficit to receiving the planner's intent, and in the same run the time
// from publishing a bare event to receiving it through a consumer of the same kind.
func BenchmarkSnapshotToIntent(b *testing.B) {
	srv := testenv.NATS(b)
	y := benchYAML(b)
	pub := connect(b, srv, "bench")
	w := newWorld(b, y)
	var lastSeq uint64
	w.out = func(ev events.Event) {
		res, err := pub.Publish(context.Background(), ev)
		require.NoError(b, err)
		lastSeq = res.Seq
	}
	w.balanced()
	w.chainSnap(1, "2000", "1000")

	watched := &watchedStream{Stream: connect(b, srv, "planner"), done: make(chan struct{}, 1)}
	s, err := New(w.pol.cfg, Deps{Stream: watched, Instance: "bench"})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Start(ctx) }()

	intents := make(chan *events.RebalanceIntent, 16)
	bare := make(chan string, 16)
	rx := connect(b, srv, "bench-rx")
	go func() {
		_ = rx.Consume(ctx, bus.ConsumerSpec{Durable: "bench-intents", Subjects: []string{events.SubjectIntents + ".>"}}, func(_ context.Context, m bus.Message) error {
			intents <- m.Event.(*events.RebalanceIntent)
			return nil
		})
	}()
	go func() {
		_ = rx.Consume(ctx, bus.ConsumerSpec{Durable: "bench-bare", Subjects: []string{events.SubjectControl + ".>"}}, func(_ context.Context, m bus.Message) error {
			bare <- m.Event.EventMeta().ID
			return nil
		})
	}()
	require.Eventually(b, func() bool { return s.Ready(ctx) == nil }, 10*time.Second, time.Millisecond)

	// One round: a bare event published and received, then a snapshot that opens a deficit
	// published and its intent received; then, untimed, the deficit closed and the venue
	// released, and the planner left to handle that (fold, plan, publish: its handler has
	// returned), so each measurement starts with an idle planner. The wait blocks: a spinning
	// wait would take a core from the planner it waits for.
	round := func(i int) (toBare, toIntent time.Duration) {
		id := fmt.Sprintf("bare-%d", i)
		start := time.Now()
		w.apply(&events.ControlCommand{Meta: events.NewMeta(events.TypeControlCommand, id, "", "bench", w.at), Verb: events.VerbResume, Scope: "all", Reason: "bench", Operator: "bench"})
		for got := <-bare; got != id; got = <-bare {
		}
		toBare = time.Since(start)

		start = time.Now()
		snap := w.chainSnap(10, "400", "1000")
		var in *events.RebalanceIntent
		for in = <-intents; in.CausationID != snap.ID; in = <-intents {
		}
		toIntent = time.Since(start)

		b.StopTimer()
		w.chainSnap(10, "1000", "1000")
		w.apply(rejected(w, in))
		watched.waitHandled(lastSeq)
		b.StartTimer()
		return toBare, toIntent
	}
	// Warm up (connections, consumers' first pulls, the planner's first decisions) so that the
	// first rounds' one-off costs do not land in the tail of a short run.
	const warmup = 200
	for i := 0; i < warmup; i++ {
		round(-1 - i)
	}
	var toIntent, toBare []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tb, ti := round(i)
		toBare = append(toBare, tb)
		toIntent = append(toIntent, ti)
	}
	b.StopTimer()
	p99, bareP99 := percentile(toIntent, 0.99), percentile(toBare, 0.99)
	b.ReportMetric(float64(percentile(toIntent, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(toIntent, 0.9).Microseconds()), "p90-µs")
	b.ReportMetric(float64(percentile(toBare, 0.5).Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(bareP99.Microseconds()), "bare-p99-µs")
	b.ReportMetric(float64(p99)/float64(bareP99), "p99-ratio")
	b.ReportMetric(float64(percentile(toIntent, 0.5))/float64(percentile(toBare, 0.5)), "p50-ratio")
	// A p99 needs samples: below a thousand it is one of the ten slowest rounds, whatever they
	// met on the machine. Run with the default -benchtime (about 3000 rounds) or longer.
	b.ReportMetric(float64(len(toIntent)), "samples")
}

// watchedStream tells when the service's handler has returned from a message.
type watchedStream struct {
	Stream
	handled atomic.Uint64
	done    chan struct{} // a token after each handled message
}

func (w *watchedStream) Consume(ctx context.Context, spec bus.ConsumerSpec, h bus.Handler) error {
	return w.Stream.Consume(ctx, spec, func(ctx context.Context, m bus.Message) error {
		err := h(ctx, m)
		w.handled.Store(m.Seq)
		select {
		case w.done <- struct{}{}:
		default:
		}
		return err
	})
}

// waitHandled blocks until the handler has returned from the message at seq or a later one.
func (w *watchedStream) waitHandled(seq uint64) {
	for w.handled.Load() < seq {
		<-w.done
	}
}

// BenchmarkReplay measures replay throughput (events folded and planned per second) against a
// bare ordered read of the same range.
func BenchmarkReplay(b *testing.B) {
	srv := testenv.NATS(b)
	pub := connect(b, srv, "bench")
	w := newWorld(b, testYAML)
	var batch []events.Event
	flush := func() {
		_, err := pub.PublishBatch(context.Background(), batch)
		require.NoError(b, err)
		batch = batch[:0]
	}
	w.out = func(ev events.Event) {
		batch = append(batch, ev)
		if len(batch) == 500 {
			flush()
		}
	}
	// A day of a quiet relayer: balances inside their bands most of the time, a deficit now and
	// then. 20,000 events.
	w.balanced()
	for i := 0; w.seq < 20000 && i < 20000; i++ {
		usdc10 := "1000"
		if i%50 == 0 {
			usdc10 = "400"
		}
		w.chainSnap(1, "2000", "1000")
		w.chainSnap(10, usdc10, "1000")
		w.chainSnap(42161, "1000", "1000")
		w.venueSnap("binance")
		w.venueSnap("hyperliquid")
		w.seq += 5
	}
	flush()
	pol := newWorld(b, testYAML).pol

	var bareDur, replayDur time.Duration
	var n, replayed int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		n = 0
		require.NoError(b, pub.ReadRange(context.Background(), bus.Range{Subjects: inputSubjects}, func(m bus.Message) error {
			n++
			return nil
		}))
		bareDur += time.Since(start)

		start = time.Now()
		res, err := Replay(context.Background(), pub, pol, nil, 1, 0)
		require.NoError(b, err)
		replayDur += time.Since(start)
		replayed = res.Events
		require.NotEmpty(b, res.Intents)
	}
	b.StopTimer()
	require.Equal(b, n, replayed)
	bareRate := float64(n*b.N) / bareDur.Seconds()
	replayRate := float64(replayed*b.N) / replayDur.Seconds()
	b.ReportMetric(replayRate, "events/s")
	b.ReportMetric(bareRate, "bare-events/s")
	b.ReportMetric(replayRate/bareRate, "ratio")
}

package bus

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// BenchmarkBusRoundTrip measures publish → handler latency through the bus (encode, publish with
// ack, pull, decode, validate, handler, ack) against the same path done with bare nats.go
// jetstream calls on the same server and stream, interleaved one for one in the same run. It
// reports both and their ratio (goal: under 1.5).
func BenchmarkBusRoundTrip(b *testing.B) {
	tb := newTestBus(b, nil, "bench")
	_, js := rawJS(b, tb.srv.URL())
	ctx := context.Background()

	// Bus side: a consumer whose handler hands the sequence to the publisher.
	busGot := make(chan uint64)
	spec := ConsumerSpec{Durable: "bench-bus", Subjects: []string{ledgerSubject()}}
	consume(b, tb.Bus, spec, func(_ context.Context, m Message) error { busGot <- m.Seq; return nil })

	// Bare side: the same stream, a durable pull consumer, a goroutine that acks and hands over.
	bareSubject := events.SubjectLedger + ".bare"
	cons, err := js.CreateOrUpdateConsumer(ctx, events.StreamName, jetstream.ConsumerConfig{
		Durable: "bench-bare", FilterSubjects: []string{bareSubject}, AckPolicy: jetstream.AckExplicitPolicy,
	})
	require.NoError(b, err)
	it, err := cons.Messages(jetstream.PullMaxMessages(DefaultPrefetch))
	require.NoError(b, err)
	b.Cleanup(it.Stop)
	bareGot := make(chan uint64)
	go func() {
		for {
			m, err := it.Next()
			if err != nil {
				return
			}
			md, _ := m.Metadata()
			_ = m.Ack()
			bareGot <- md.Sequence.Stream
		}
	}()
	// The bare message carries the same body and headers as the bus's.
	body, hdr, err := events.Encode(watermark(1))
	require.NoError(b, err)

	var busTotal, bareTotal time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		m := &nats.Msg{Subject: bareSubject, Data: body, Header: nats.Header{}}
		for k, v := range hdr {
			m.Header[k] = []string{v}
		}
		m.Header[jetstream.MsgIDHeader] = []string{"bare-" + strconv.Itoa(i)}
		ack, err := js.PublishMsg(ctx, m)
		if err != nil {
			b.Fatal(err)
		}
		if seq := <-bareGot; seq != ack.Sequence {
			b.Fatalf("bare: got seq %d, published %d", seq, ack.Sequence)
		}
		bareTotal += time.Since(start)

		start = time.Now()
		res, err := tb.Publish(ctx, watermark(uint64(i+1)))
		if err != nil {
			b.Fatal(err)
		}
		if seq := <-busGot; seq != res.Seq {
			b.Fatalf("bus: got seq %d, published %d", seq, res.Seq)
		}
		busTotal += time.Since(start)
	}
	b.StopTimer()
	busNs := float64(busTotal.Nanoseconds()) / float64(b.N)
	bareNs := float64(bareTotal.Nanoseconds()) / float64(b.N)
	b.ReportMetric(busNs, "bus-ns/op")
	b.ReportMetric(bareNs, "bare-ns/op")
	b.ReportMetric(busNs/bareNs, "ratio")
}

// BenchmarkReadRange measures replay throughput: ReadRange over a stream of watermark events,
// decoded and validated, against an ordered consumer reading the same range without decoding.
func BenchmarkReadRange(b *testing.B) {
	const n = 20000
	tb := newTestBus(b, nil, "bench")
	_, js := rawJS(b, tb.srv.URL())
	ctx := context.Background()
	evs := make([]events.Event, n)
	for i := range evs {
		evs[i] = watermark(uint64(i + 1))
	}
	_, err := tb.PublishBatch(ctx, evs)
	require.NoError(b, err)

	b.Run("bus", func(b *testing.B) {
		cpu := cpuTime(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var got int
			err := tb.ReadRange(ctx, Range{}, func(m Message) error {
				if m.DecodeErr != nil {
					return m.DecodeErr
				}
				got++
				return nil
			})
			if err != nil || got != n {
				b.Fatalf("read %d of %d: %v", got, n, err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(n*b.N)/(cpuTime(b)-cpu).Seconds(), "events/cpu-s")
	})
	b.Run("bare-ordered-consumer", func(b *testing.B) {
		cpu := cpuTime(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			cons, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{})
			require.NoError(b, err)
			it, err := cons.Messages(jetstream.PullMaxMessages(replayBatch))
			require.NoError(b, err)
			for got := 0; got < n; got++ {
				if _, err := it.Next(); err != nil {
					b.Fatal(err)
				}
			}
			it.Stop()
			require.NoError(b, js.DeleteConsumer(ctx, events.StreamName, cons.CachedInfo().Name))
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(n*b.N)/(cpuTime(b)-cpu).Seconds(), "events/cpu-s")
	})
}

// cpuTime is the CPU time (user + system) the process has used, the embedded server's included.
// On a shared machine wall-clock rates depend on the neighbours; events per CPU-second do not.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecode is the CPU a consumer or a replay pays per message on top of delivery:
// pkg/events decoding and validation of one watermark.
func BenchmarkDecode(b *testing.B) {
	m, err := encode(watermark(1))
	require.NoError(b, err)
	msg := fromStreamMsg(m.Subject, 1, time.Now(), Header(m.Header), m.Data, 1)
	b.ReportAllocs()
	for b.Loop() {
		mm := msg
		mm.decode()
		if mm.DecodeErr != nil {
			b.Fatal(mm.DecodeErr)
		}
	}
}

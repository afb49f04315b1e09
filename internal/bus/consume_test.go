package bus

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// fastSpec retries quickly so tests see redeliveries in milliseconds.
func fastSpec(durable string) ConsumerSpec {
	return ConsumerSpec{
		Durable:    durable,
		Subjects:   []string{events.SubjectLedger + ".>"},
		AckWait:    5 * time.Second,
		MaxDeliver: 5,
		Backoff:    Backoff{Base: 20 * time.Millisecond, Max: 200 * time.Millisecond},
	}
}

// publishRaw publishes a message the bus would never produce.
func publishRaw(t *testing.T, js jetstream.JetStream, subject string, hdr map[string]string, body string) uint64 {
	t.Helper()
	m := nats.NewMsg(subject)
	m.Data = []byte(body)
	for k, v := range hdr {
		m.Header.Set(k, v)
	}
	ack, err := js.PublishMsg(ctxTimeout(t, 5*time.Second), m)
	require.NoError(t, err)
	return ack.Sequence
}

func TestPoisonGoesToDLQWithoutBlockingTheNext(t *testing.T) {
	b := newTestBus(t, nil, "planner")
	_, js := rawJS(t, b.srv.URL())
	ctx := ctxTimeout(t, 20*time.Second)

	wmHeaders := map[string]string{events.HeaderType: events.TypeLedgerWatermark, events.HeaderVersion: "1", "Nats-Msg-Id": "poison-1", "X-Trace": "abc"}
	poison := []struct {
		name   string
		hdr    map[string]string
		body   string
		reason string
	}{
		{"body is not JSON", wmHeaders, `{"type":"ledger_watermark",`, "undecodable: decode ledger_watermark v1: invalid event"},
		{"no type header", map[string]string{"Nats-Msg-Id": "poison-2"}, `{}`, "missing Rebal-Type header"},
		{"unknown version", map[string]string{events.HeaderType: events.TypeLedgerWatermark, events.HeaderVersion: "99"}, `{}`, "unknown event type or version"},
		{"valid JSON, invalid event", map[string]string{events.HeaderType: events.TypeLedgerWatermark, events.HeaderVersion: "1"},
			`{"type":"ledger_watermark","version":1,"id":"x","producer":"p","producedAt":"2024-01-01T00:00:00Z","account":"0xabc","chainId":1,"asOf":1}`,
			"invalid event: account"},
	}
	var seqs []uint64
	for _, p := range poison {
		seqs = append(seqs, publishRaw(t, js, ledgerSubject(), p.hdr, p.body))
	}
	good, err := b.Publish(ctx, watermark(42))
	require.NoError(t, err)

	var rec recorder
	consume(t, b.Bus, fastSpec("planner"), func(_ context.Context, m Message) error { rec.add(m); return nil })
	require.Eventually(t, func() bool { return rec.len() == 1 }, 10*time.Second, 5*time.Millisecond)
	got := rec.all()[0]
	require.Equal(t, good.Seq, got.Seq, "only the valid event reaches the handler")
	require.Equal(t, uint64(42), got.Event.(*events.LedgerWatermark).AsOf)

	var dls []*events.DeadLetter
	require.Eventually(t, func() bool { dls = deadLetters(t, b.Bus, "planner"); return len(dls) == len(poison) }, 10*time.Second, 10*time.Millisecond)
	raw := readAll(t, b.Bus, Range{Subjects: []string{DLQSubject("planner")}})
	for i, p := range poison {
		t.Run(p.name, func(t *testing.T) {
			dl := dls[i]
			require.Equal(t, "planner", dl.Service)
			require.Equal(t, ledgerSubject(), dl.OrigSubject)
			require.Equal(t, seqs[i], dl.Seq)
			require.Equal(t, uint64(1), dl.Deliveries)
			require.Contains(t, dl.Reason, p.reason)
			require.Equal(t, p.body, string(dl.Data), "the original body, byte for byte")
			require.Equal(t, p.hdr[events.HeaderType], dl.OrigType)
			require.NoError(t, dl.Validate())
			require.Equal(t, dlqMsgID("planner", seqs[i]), dl.MsgID())
			// Original headers travel along; the original message id moves to its own header.
			require.Equal(t, p.hdr["Nats-Msg-Id"], raw[i].Headers.Get(HeaderDLQMsgID))
			require.Equal(t, p.hdr["X-Trace"], raw[i].Headers.Get("X-Trace"))
			require.Equal(t, p.hdr["Nats-Msg-Id"], dl.CausationID)
		})
	}
	require.Equal(t, float64(len(poison)), value(t, b.m.handled.WithLabelValues("planner", "ledger", "dlq")))
	require.Equal(t, 1.0, value(t, b.m.handled.WithLabelValues("planner", "ledger", "ack")))
}

func TestHandlerOutcomes(t *testing.T) {
	tests := []struct {
		name string
		// fail is the handler's result for the first delivery of the event; later deliveries succeed.
		fail       func() error
		wantDLQ    string        // reason substring; "" = no dead letter
		deliveries uint64        // deliveries until settled
		minGap     time.Duration // at least this between the failing delivery and the next
	}{
		{"reject", func() error { return Reject(errors.New("route not configured")) }, "reject: route not configured", 1, 0},
		{"invalid event found by the handler", func() error { return fmt.Errorf("intent basis: %w", events.ErrInvalid) }, "intent basis: invalid event", 1, 0},
		{"panic", func() error { panic("nil map in planner") }, "panic: nil map in planner", 1, 0},
		{"retry with a delay", func() error { return Retry(errors.New("redis down"), 300*time.Millisecond) }, "", 2, 300 * time.Millisecond},
		{"unknown error retries with the consumer's backoff", func() error { return errors.New("timeout") }, "", 2, 20 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBus(t, nil, "executor")
			ctx := ctxTimeout(t, 20*time.Second)
			bad, err := b.Publish(ctx, watermark(1))
			require.NoError(t, err)
			next, err := b.Publish(ctx, watermark(2))
			require.NoError(t, err)

			var rec recorder
			var okSeen atomic.Uint64 // delivery count when seq 1 finally succeeded
			var failedAt, retriedAt atomic.Int64
			consume(t, b.Bus, fastSpec("executor"), func(_ context.Context, m Message) error {
				rec.add(m)
				if m.Seq == bad.Seq {
					if m.NumDelivered == 1 {
						defer func() { failedAt.Store(time.Now().UnixNano()) }()
					} else {
						retriedAt.Store(time.Now().UnixNano())
					}
				}
				if m.Seq == bad.Seq && m.NumDelivered == 1 {
					return tc.fail()
				}
				if m.Seq == bad.Seq {
					okSeen.Store(m.NumDelivered)
				}
				return nil
			})
			require.Eventually(t, func() bool {
				for _, m := range rec.all() {
					if m.Seq == next.Seq {
						return true
					}
				}
				return false
			}, 10*time.Second, 5*time.Millisecond, "the message behind the failing one is handled")

			if tc.wantDLQ != "" {
				var dls []*events.DeadLetter
				require.Eventually(t, func() bool { dls = deadLetters(t, b.Bus, "executor"); return len(dls) == 1 }, 10*time.Second, 10*time.Millisecond)
				require.Contains(t, dls[0].Reason, tc.wantDLQ)
				require.Equal(t, bad.Seq, dls[0].Seq)
				require.Equal(t, "wm:"+testAccount+":1:1", dls[0].CausationID)
				require.Zero(t, okSeen.Load(), "a dead-lettered message is terminated, never redelivered")
				return
			}
			require.Eventually(t, func() bool { return okSeen.Load() == tc.deliveries }, 10*time.Second, 5*time.Millisecond)
			gap := time.Duration(retriedAt.Load() - failedAt.Load())
			require.GreaterOrEqual(t, gap, tc.minGap, "redelivered no sooner than the NakWithDelay asked")
			require.Empty(t, deadLetters(t, b.Bus, "executor"))
			require.Equal(t, 1.0, value(t, b.m.handled.WithLabelValues("executor", "ledger", "retry")))
		})
	}
}

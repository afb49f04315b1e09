package bus

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func TestMaxDeliverEndsInDLQ(t *testing.T) {
	b := newTestBus(t, nil, "executor")
	ctx := ctxTimeout(t, 20*time.Second)
	res, err := b.Publish(ctx, watermark(1))
	require.NoError(t, err)

	spec := fastSpec("executor")
	spec.MaxDeliver = 3
	var calls atomic.Int64
	consume(t, b.Bus, spec, func(context.Context, Message) error {
		calls.Add(1)
		return errors.New("venue unreachable")
	})
	var dls []*events.DeadLetter
	require.Eventually(t, func() bool { dls = deadLetters(t, b.Bus, "executor"); return len(dls) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, res.Seq, dls[0].Seq)
	require.Equal(t, uint64(3), dls[0].Deliveries)
	require.Contains(t, dls[0].Reason, "max deliveries (3) exhausted: venue unreachable")
	require.EqualValues(t, 3, calls.Load())
	require.Equal(t, 2.0, value(t, b.m.handled.WithLabelValues("executor", "ledger", "retry")))
	require.Equal(t, 1.0, value(t, b.m.handled.WithLabelValues("executor", "ledger", "dlq")))
}

// A replica dies while handling a message's last delivery: the server gives up on it, and the
// surviving replica dead-letters it from the max-deliveries advisory.
func TestUnackedLastDeliveryIsDeadLetteredByAReplica(t *testing.T) {
	a := newTestBus(t, nil, "executor")
	survivor := newTestBus(t, a.srv, "executor")
	ctx := ctxTimeout(t, 20*time.Second)

	spec := fastSpec("executor")
	spec.MaxDeliver = 1
	spec.AckWait = 300 * time.Millisecond
	spec.ProgressEvery = -1

	got := make(chan Message, 1)
	release := make(chan struct{})
	consume(t, a.Bus, spec, func(_ context.Context, m Message) error {
		got <- m
		<-release
		return nil
	})
	t.Cleanup(func() { close(release) }) // runs before consume's cleanup, which waits for the handler
	res, err := a.Publish(ctx, watermark(1))
	require.NoError(t, err)
	select {
	case m := <-got:
		require.Equal(t, res.Seq, m.Seq)
	case <-ctx.Done():
		t.Fatal("replica a never got the message")
	}
	var calls atomic.Int64
	consume(t, survivor.Bus, spec, func(context.Context, Message) error { calls.Add(1); return nil })
	a.nc.Close() // the process dies mid-handler: no ack, no nak, no drain

	var dls []*events.DeadLetter
	require.Eventually(t, func() bool { dls = deadLetters(t, survivor.Bus, "executor"); return len(dls) == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, res.Seq, dls[0].Seq)
	require.Contains(t, dls[0].Reason, "max deliveries (1) exhausted without an ack")
	require.Equal(t, "wm:"+testAccount+":1:1", dls[0].CausationID)
	require.Zero(t, calls.Load(), "the exhausted message is not delivered again")
}

func TestInProgressKeepsSlowHandlerFromRedelivery(t *testing.T) {
	tests := []struct {
		name          string
		progressEvery time.Duration
		redelivered   bool
	}{
		{"heartbeat keeps the message", 100 * time.Millisecond, false},
		{"without heartbeat the server redelivers", -1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBus(t, nil, "executor")
			_, js := rawJS(t, b.srv.URL())
			ctx := ctxTimeout(t, 20*time.Second)
			spec := fastSpec("executor")
			spec.AckWait = 400 * time.Millisecond
			spec.ProgressEvery = tc.progressEvery
			spec.Workers = 2 // a redelivery would reach the second worker while the first is busy

			var calls atomic.Int64
			release := make(chan struct{})
			var released atomic.Bool
			consume(t, b.Bus, spec, func(context.Context, Message) error {
				calls.Add(1)
				<-release
				return nil
			})
			t.Cleanup(func() {
				if released.CompareAndSwap(false, true) {
					close(release)
				}
			})
			_, err := b.Publish(ctx, watermark(1))
			require.NoError(t, err)

			consumerDelivered := func() uint64 {
				c, err := js.Consumer(ctx, events.StreamName, "executor")
				require.NoError(t, err)
				info, err := c.Info(ctx)
				require.NoError(t, err)
				return info.Delivered.Consumer
			}
			if tc.redelivered {
				require.Eventually(t, func() bool { return consumerDelivered() >= 2 }, 10*time.Second, 20*time.Millisecond)
				return
			}
			// Wait until the handler has run for three AckWaits, by counting heartbeats.
			require.Eventually(t, func() bool {
				return value(t, b.m.inProgress.WithLabelValues("executor")) >= 12
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, uint64(1), consumerDelivered(), "the server never redelivered")
			require.EqualValues(t, 1, calls.Load())
			released.Store(true)
			close(release)
			require.Eventually(t, func() bool {
				return value(t, b.m.handled.WithLabelValues("executor", "ledger", "ack")) == 1
			}, 10*time.Second, 5*time.Millisecond)
		})
	}
}

func TestReconnectAfterServerRestart(t *testing.T) {
	b := newTestBus(t, nil, "planner")
	ctx := ctxTimeout(t, 30*time.Second)
	var rec recorder
	consume(t, b.Bus, fastSpec("planner"), func(_ context.Context, m Message) error { rec.add(m); return nil })

	_, err := b.Publish(ctx, watermark(1))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return rec.len() == 1 }, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, b.srv.Restart())
	// Publish rides out the reconnect on its own: no retry loop here.
	res, err := b.Publish(ctx, watermark(2))
	require.NoError(t, err)
	require.Equal(t, uint64(2), res.Seq, "the stream survived the restart")
	require.True(t, b.Connected())
	require.Eventually(t, func() bool { return rec.len() == 2 }, 20*time.Second, 10*time.Millisecond, "consuming resumes")
	require.Equal(t, uint64(2), rec.all()[1].Seq)
	require.True(t, b.Bound("planner"))
	require.GreaterOrEqual(t, value(t, b.m.reconnects), 1.0)
}

func TestCloseDrainsInOrder(t *testing.T) {
	tests := []struct {
		name        string
		budget      time.Duration
		handlerDone bool // the in-flight handler finishes before Close returns
	}{
		{"in-flight handler finishes, the rest is given back", 10 * time.Second, true},
		{"budget exhausted: handler context cancelled", 300 * time.Millisecond, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBus(t, nil, "executor")
			ctx := ctxTimeout(t, 30*time.Second)
			const n = 20
			for i := range n {
				_, err := b.Publish(ctx, watermark(uint64(i+1)))
				require.NoError(t, err)
			}
			started := make(chan struct{})
			release := make(chan struct{})
			var handled atomic.Int64
			var ctxErrInHandler, publishErrInHandler atomic.Value
			spec := fastSpec("executor")
			spec.Prefetch = 10
			consume(t, b.Bus, spec, func(hctx context.Context, m Message) error {
				if m.Seq == 1 {
					close(started)
					select {
					case <-release:
					case <-hctx.Done():
					}
					ctxErrInHandler.Store(errString(hctx.Err()))
					// A handler finishing during Close can still publish what it decided.
					_, err := b.Publish(hctx, pauseCommand("close-1"))
					publishErrInHandler.Store(errString(err))
				}
				handled.Add(1)
				return nil
			})
			<-started

			closed := make(chan error, 1)
			go func() {
				cctx, cancel := context.WithTimeout(context.Background(), tc.budget)
				defer cancel()
				closed <- b.Close(cctx)
			}()
			require.Eventually(t, func() bool { return b.stopFetch.Err() != nil }, 5*time.Second, time.Millisecond)
			if tc.handlerDone {
				select {
				case err := <-closed:
					t.Fatalf("Close returned (%v) while a handler was running", err)
				default:
				}
				close(release)
				require.NoError(t, <-closed)
				require.Equal(t, "", ctxErrInHandler.Load(), "the handler's context stayed alive")
				require.Equal(t, "", publishErrInHandler.Load(), "a finishing handler can publish")
			} else {
				err := <-closed
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.Equal(t, context.Canceled.Error(), ctxErrInHandler.Load())
			}
			require.False(t, b.Bound("executor"))
			require.False(t, b.Connected())
			require.EqualValues(t, 1, handled.Load(), "nothing new started after Close")

			// The in-flight message was acked; what was fetched but not started was given back
			// and is delivered again at once, not after AckWait.
			next := newTestBus(t, b.srv, "executor")
			var rec recorder
			start := time.Now()
			consume(t, next.Bus, spec, func(_ context.Context, m Message) error { rec.add(m); return nil })
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				assert.Len(c, rec.all(), n-1)
			}, 10*time.Second, 5*time.Millisecond)
			require.Less(t, time.Since(start), spec.AckWait, "given back, not left to time out")
			for i, m := range rec.all() {
				require.Equal(t, uint64(i+2), m.Seq, "in order, seq 1 not redelivered")
			}
			require.Positive(t, value(t, b.m.handled.WithLabelValues("executor", "ledger", outcomeNak)))
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestConsumeSpecValidation(t *testing.T) {
	b := newTestBus(t, nil, "test")
	ctx := ctxTimeout(t, 5*time.Second)
	tests := []struct {
		name   string
		mutate func(*ConsumerSpec)
		errHas string
	}{
		{"no durable", func(s *ConsumerSpec) { s.Durable = "" }, "durable is empty"},
		{"no subjects", func(s *ConsumerSpec) { s.Subjects = nil }, "no subjects"},
		{"subject outside the stream", func(s *ConsumerSpec) { s.Subjects = []string{"orders.>"} }, "outside rebal.v1.>"},
		{"unbounded deliveries", func(s *ConsumerSpec) { s.MaxDeliver = -1 }, "must be bounded"},
		{"heartbeat slower than ack wait", func(s *ConsumerSpec) { s.ProgressEvery = 2 * s.AckWait }, "not below ackWait"},
		{"prefetch below workers", func(s *ConsumerSpec) { s.Workers, s.Prefetch = 4, 2 }, "workers 4, prefetch 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := fastSpec("test")
			tc.mutate(&spec)
			err := b.Consume(ctx, spec, func(context.Context, Message) error { return nil })
			require.ErrorIs(t, err, ErrConfig)
			require.ErrorContains(t, err, tc.errHas)
		})
	}
	require.NoError(t, b.Close(ctx))
	err := b.Consume(ctx, fastSpec("test"), func(context.Context, Message) error { return nil })
	require.ErrorIs(t, err, ErrClosed)
}

func TestConsumerDeletedOnTheServerIsRecreated(t *testing.T) {
	b := newTestBus(t, nil, "planner")
	_, js := rawJS(t, b.srv.URL())
	ctx := ctxTimeout(t, 30*time.Second)
	var rec recorder
	consume(t, b.Bus, fastSpec("planner"), func(_ context.Context, m Message) error { rec.add(m); return nil })
	_, err := b.Publish(ctx, watermark(1))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return rec.len() == 1 }, 10*time.Second, 5*time.Millisecond)

	require.NoError(t, js.DeleteConsumer(ctx, events.StreamName, "planner"))
	_, err = b.Publish(ctx, watermark(2))
	require.NoError(t, err)
	// The recreated durable starts from the beginning of the stream (DeliverAll): handlers are
	// idempotent, and nothing is lost.
	require.Eventually(t, func() bool {
		for _, m := range rec.all() {
			if m.Seq == 2 {
				return true
			}
		}
		return false
	}, 20*time.Second, 10*time.Millisecond)
	require.True(t, b.Bound("planner"))
}

func TestDeliverFrom(t *testing.T) {
	b := newTestBus(t, nil, "executor")
	ctx := ctxTimeout(t, 20*time.Second)
	_, err := b.Publish(ctx, watermark(1))
	require.NoError(t, err)
	from := time.Now()
	_, err = b.Publish(ctx, watermark(2))
	require.NoError(t, err)

	spec := fastSpec("executor")
	spec.DeliverFrom = from
	var rec recorder
	stop := consume(t, b.Bus, spec, func(_ context.Context, m Message) error { rec.add(m); return nil })
	require.Eventually(t, func() bool { return rec.len() == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, uint64(2), rec.all()[0].Seq, "nothing stored before DeliverFrom")
	require.NoError(t, stop())

	// Binding again with another start is not an error: the durable keeps its position.
	spec.DeliverFrom = time.Time{}
	consume(t, b.Bus, spec, func(_ context.Context, m Message) error { rec.add(m); return nil })
	_, err = b.Publish(ctx, watermark(3))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return rec.len() == 2 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, uint64(3), rec.all()[1].Seq)
}

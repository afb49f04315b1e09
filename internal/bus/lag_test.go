package bus

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lagOf reads the two lag gauges of a durable from the registry, and whether they are exported.
func lagOf(t *testing.T, tb *testBus, durable string) (pending, ackPending float64, ok bool) {
	t.Helper()
	mfs, err := tb.reg.Gather()
	require.NoError(t, err)
	found := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["consumer"] != durable || labels["stream"] != streamName {
				continue
			}
			switch mf.GetName() {
			case "rebal_bus_consumer_pending":
				pending = m.GetGauge().GetValue()
				found++
			case "rebal_bus_consumer_ack_pending":
				ackPending = m.GetGauge().GetValue()
				found++
			}
		}
	}
	return pending, ackPending, found == 2
}

// TestConsumerLagFollowsTheServer holds a handler while messages wait and checks the gauges the
// server's consumer info gives: everything is either undelivered or delivered and unacked, then
// nothing once the handler is let go; the series leaves with the Consume.
func TestConsumerLagFollowsTheServer(t *testing.T) {
	tb := newTestBus(t, nil, "lagtest")
	tb.m.lag.every = 20 * time.Millisecond
	const n = 10
	for i := range n {
		_, err := tb.Publish(ctxTimeout(t, 5*time.Second), watermark(uint64(i+1)))
		require.NoError(t, err)
	}
	release := make(chan struct{})
	stop := consume(t, tb.Bus, ConsumerSpec{Durable: "lag", Subjects: []string{ledgerSubject()}, Prefetch: 4},
		func(ctx context.Context, _ Message) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
	require.Eventually(t, func() bool {
		p, a, ok := lagOf(t, tb, "lag")
		return ok && a >= 1 && p >= 1 && p+a == n
	}, 10*time.Second, 10*time.Millisecond, "held: every message is pending or ack-pending")
	p, _, _ := lagOf(t, tb, "lag")
	require.LessOrEqual(t, p, float64(n-1), "some were delivered")

	close(release)
	require.Eventually(t, func() bool {
		p, a, ok := lagOf(t, tb, "lag")
		return ok && p == 0 && a == 0
	}, 10*time.Second, 10*time.Millisecond, "released: nothing left")

	require.NoError(t, stop())
	_, _, ok := lagOf(t, tb, "lag")
	require.False(t, ok, "a consumer no longer consumed here is not reported")
}

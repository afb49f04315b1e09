package bus

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LagPollInterval is how often a running Consume asks the server for its durable consumer's
// state (one CONSUMER.INFO request) to export its lag.
const LagPollInterval = 5 * time.Second

// lagMetrics export, per durable consumer, what the server says is left to do:
//
//	rebal_bus_consumer_pending{stream,consumer}      messages matching the filter not yet delivered
//	rebal_bus_consumer_ack_pending{stream,consumer}  delivered and not yet acknowledged
//
// A consumer shared by replicas (executor-intents) is reported by each of them with the same
// value: aggregate with max. The series goes away when the last Consume on it in this process
// returns.
type lagMetrics struct {
	pending    *prometheus.GaugeVec
	ackPending *prometheus.GaugeVec
	// every is LagPollInterval; tests shorten it before the first Consume.
	every time.Duration

	mu       sync.Mutex
	watchers map[string]int // durable → Consume loops watching it
}

func newLagMetrics(reg prometheus.Registerer) *lagMetrics {
	m := &lagMetrics{
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rebal_bus_consumer_pending",
			Help: "Messages of the durable consumer's subjects the server has not delivered yet (NumPending).",
		}, []string{"stream", "consumer"}),
		ackPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "rebal_bus_consumer_ack_pending",
			Help: "Messages delivered to the durable consumer and not yet acknowledged (NumAckPending).",
		}, []string{"stream", "consumer"}),
		every:    LagPollInterval,
		watchers: map[string]int{},
	}
	if reg != nil {
		m.pending = register(reg, m.pending)
		m.ackPending = register(reg, m.ackPending)
	}
	return m
}

// watchLag polls the durable consumer's info every lagMetrics.every (first at once) and sets its
// gauges, until the returned stop is called; stop waits for the poller. It reads the consumer by
// name each time, so a consumer recreated after a rebind is followed. A failed read keeps the last
// values (the connection is down, or the consumer is being recreated) and is logged at debug.
func (b *Bus) watchLag(durable string) (stop func()) {
	m := b.m.lag
	m.mu.Lock()
	m.watchers[durable]++
	m.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(m.every)
		defer t.Stop()
		for {
			b.pollLag(ctx, durable)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.watchers[durable]--; m.watchers[durable] <= 0 {
			delete(m.watchers, durable)
			m.pending.DeleteLabelValues(streamName, durable)
			m.ackPending.DeleteLabelValues(streamName, durable)
		}
	}
}

func (b *Bus) pollLag(ctx context.Context, durable string) {
	rctx, cancel := context.WithTimeout(ctx, b.cfg.PublishTimeout)
	defer cancel()
	cons, err := b.js.Consumer(rctx, streamName, durable)
	if err != nil {
		if ctx.Err() == nil {
			b.log.Debug().Err(err).Str("consumer", durable).Msg("consumer info for lag metrics")
		}
		return
	}
	info := cons.CachedInfo()
	b.m.lag.pending.WithLabelValues(streamName, durable).Set(float64(info.NumPending))
	b.m.lag.ackPending.WithLabelValues(streamName, durable).Set(float64(info.NumAckPending))
}

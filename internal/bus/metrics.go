package bus

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Outcomes of handling one delivery, the "outcome" label of rebal_bus_handled_total.
const (
	outcomeAck   = "ack"
	outcomeRetry = "retry"
	outcomeDLQ   = "dlq"
	outcomeNak   = "nak_shutdown"
)

// classes are the values subjectClass returns.
var classes = []string{"balances", "intents", "executions", "ledger", "dlq", "control", "other"}

var outcomes = []string{outcomeAck, outcomeRetry, outcomeDLQ, outcomeNak}

type metrics struct {
	published  *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	pubErrors  *prometheus.CounterVec
	handled    *prometheus.CounterVec
	inProgress *prometheus.CounterVec
	handlerDur *prometheus.HistogramVec
	reconnects prometheus.Counter
	connected  prometheus.Gauge
	lag        *lagMetrics // lag.go

	// Children resolved once, so the hot path does no label hashing.
	pubByClass map[string]prometheus.Counter
	dupByClass map[string]prometheus.Counter
	errByClass map[string]prometheus.Counter
}

// consumerMetrics are one consumer's children, resolved once.
type consumerMetrics struct {
	handled    map[string]map[string]prometheus.Counter // class → outcome
	duration   map[string]prometheus.Observer           // class
	inProgress prometheus.Counter
}

func (m *metrics) forConsumer(durable string) *consumerMetrics {
	cm := &consumerMetrics{
		handled:    make(map[string]map[string]prometheus.Counter, len(classes)),
		duration:   make(map[string]prometheus.Observer, len(classes)),
		inProgress: m.inProgress.WithLabelValues(durable),
	}
	for _, c := range classes {
		cm.handled[c] = make(map[string]prometheus.Counter, len(outcomes))
		for _, o := range outcomes {
			cm.handled[c][o] = m.handled.WithLabelValues(durable, c, o)
		}
		cm.duration[c] = m.handlerDur.WithLabelValues(durable, c)
	}
	return cm
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebal_bus_published_total",
			Help: "Events the stream stored, by subject class (duplicates not included).",
		}, []string{"class"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebal_bus_publish_duplicates_total",
			Help: "Publishes the stream recognised as duplicates by Nats-Msg-Id, by subject class.",
		}, []string{"class"}),
		pubErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebal_bus_publish_errors_total",
			Help: "Publish attempts that failed (retried ones included), by subject class.",
		}, []string{"class"}),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebal_bus_handled_total",
			Help: "Deliveries handled by a consumer, by outcome: ack, retry (NakWithDelay), dlq (dead-lettered and terminated), nak_shutdown.",
		}, []string{"consumer", "class", "outcome"}),
		inProgress: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebal_bus_in_progress_total",
			Help: "InProgress heartbeats sent for slow handlers.",
		}, []string{"consumer"}),
		handlerDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rebal_bus_handler_seconds",
			Help:    "Time a handler took for one delivery.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"consumer", "class"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebal_bus_reconnects_total",
			Help: "Reconnections to NATS.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rebal_bus_connected",
			Help: "1 while connected to NATS.",
		}),
	}
	m.lag = newLagMetrics(reg)
	defer m.resolve()
	if reg == nil {
		return m
	}
	// Several buses in one process (rebalancer all) share one registry: reuse what is there.
	m.published = register(reg, m.published)
	m.duplicates = register(reg, m.duplicates)
	m.pubErrors = register(reg, m.pubErrors)
	m.handled = register(reg, m.handled)
	m.inProgress = register(reg, m.inProgress)
	m.handlerDur = register(reg, m.handlerDur)
	m.reconnects = register(reg, m.reconnects)
	m.connected = register(reg, m.connected)
	return m
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A different collector under the same name is a programming error; keep counting
		// privately rather than failing the service over metrics.
	}
	return c
}

// subjectClass is the metric label for a subject: the token after rebal.v1 (balances, intents,
// executions, ledger, dlq, control), or "other". It keeps label cardinality fixed.
func subjectClass(subject string) string {
	rest, ok := strings.CutPrefix(subject, events.SubjectRoot+".")
	if !ok {
		return "other"
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i]
	}
	switch rest {
	case "balances", "intents", "executions", "ledger", "dlq", "control":
		return rest
	}
	return "other"
}

func (m *metrics) resolve() {
	m.pubByClass = make(map[string]prometheus.Counter, len(classes))
	m.dupByClass = make(map[string]prometheus.Counter, len(classes))
	m.errByClass = make(map[string]prometheus.Counter, len(classes))
	for _, c := range classes {
		m.pubByClass[c] = m.published.WithLabelValues(c)
		m.dupByClass[c] = m.duplicates.WithLabelValues(c)
		m.errByClass[c] = m.pubErrors.WithLabelValues(c)
	}
}

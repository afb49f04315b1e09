package chain

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts RPC attempts per chain, endpoint (scheme and host only),
// method and outcome, and times them. One Metrics may serve many Clients.
type Metrics struct {
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the chain RPC metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "rebalancer", Subsystem: "chain", Name: "rpc_attempts_total",
			Help: "JSON-RPC attempts by chain, endpoint, method and result (ok or the error class).",
		}, []string{"chain", "endpoint", "method", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "rebalancer", Subsystem: "chain", Name: "rpc_attempt_seconds",
			Help:    "Duration of one JSON-RPC attempt (one HTTP round trip) by chain and method.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
		}, []string{"chain", "method"}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// WithMetrics records RPC metrics in m.
func WithMetrics(m *Metrics) Option { return func(o *options) { o.metrics = m } }

func (m *Metrics) observe(chainID uint64, endpoint, op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	chain, method := strconv.FormatUint(chainID, 10), methodLabel(op)
	m.attempts.WithLabelValues(chain, endpoint, method, resultLabel(err)).Inc()
	m.latency.WithLabelValues(chain, method).Observe(d.Seconds())
}

// methodLabel maps an operation description (which carries block numbers and
// addresses) to a bounded label.
func methodLabel(op string) string {
	first, _, _ := strings.Cut(op, " ")
	switch first {
	case "eth_blockNumber", "eth_getBlockByNumber", "eth_call", "eth_getLogs", "eth_getTransactionCount",
		"eth_sendRawTransaction", "eth_getTransactionReceipt", "snapshot":
		return first
	case "fees":
		return "fees_and_gas"
	}
	return "other"
}

func resultLabel(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrBlockUnavailable):
		return "block_unavailable"
	case errors.Is(err, ErrReverted):
		return "reverted"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrWrongChain):
		return "wrong_chain"
	case errors.Is(err, ErrBadResponse):
		return "bad_response"
	case errors.Is(err, ErrRPC):
		return "rpc_error"
	}
	return "canceled"
}

package venue

import (
	"context"
	"errors"
	"net"

	"github.com/prometheus/client_golang/prometheus"
)

// Error classes, the "class" label of rebal_venue_errors_total. Every adapter maps its failures
// onto these, so one alert covers every venue.
const (
	ClassRateLimited = "rate_limited" // 429/418: nothing was done; the adapter backs off
	ClassServer      = "server"       // 5xx: a write's outcome is unknown
	ClassTimeout     = "timeout"      // no answer in time: a write's outcome is unknown
	ClassNetwork     = "network"      // connection refused, reset, DNS
	ClassAuth        = "auth"         // the key or signature was refused
	ClassClockSkew   = "clock_skew"   // the request's timestamp was refused
	ClassRejected    = "rejected"     // a 4xx or an error answer: the venue refused the request
	ClassDecode      = "decode"       // an answer the adapter could not read
)

// Metrics are the request and error counters the venue adapters share:
//
//	rebal_venue_requests_total{venue,endpoint}       HTTP requests sent, retries included
//	rebal_venue_errors_total{venue,endpoint,class}   failed requests, by class
//
// endpoint is the request path (/api/v3/order, /info), never anything carrying an id.
type Metrics struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
}

// NewMetrics returns the counters registered on reg, reusing the ones already there when another
// adapter in the process registered them first; nil reg counts privately.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebal_venue_requests_total",
			Help: "HTTP requests sent to a venue (retries included), by venue and endpoint.",
		}, []string{"venue", "endpoint"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rebal_venue_errors_total",
			Help: "Failed venue requests by venue, endpoint and class: rate_limited, server, timeout, network, auth, clock_skew, rejected, decode.",
		}, []string{"venue", "endpoint", "class"}),
	}
	if reg != nil {
		m.requests = registerCounter(reg, m.requests)
		m.errors = registerCounter(reg, m.errors)
	}
	return m
}

func registerCounter(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		// A different collector under the same name is a programming error; count privately
		// rather than fail a venue over metrics.
	}
	return c
}

// Request counts one request. Safe on a nil *Metrics.
func (m *Metrics) Request(venue, endpoint string) {
	if m != nil {
		m.requests.WithLabelValues(venue, endpoint).Inc()
	}
}

// Error counts one failed request. Safe on a nil *Metrics.
func (m *Metrics) Error(venue, endpoint, class string) {
	if m != nil {
		m.errors.WithLabelValues(venue, endpoint, class).Inc()
	}
}

// TransportClass classifies an error from sending a request (no answer): timeout or network.
func TransportClass(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return ClassTimeout
	}
	return ClassNetwork
}

package binance_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
)

// counter returns the value of a counter with exactly these labels (0 when absent).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestVenueErrorsCounted injects a rate limit, a server error and a clock skew, and checks each
// is counted under its endpoint and class, beside the requests (retries included).
func TestVenueErrorsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(_ *simbinance.Config, c *binance.Config) { c.Metrics = reg })
	ctx := context.Background()
	errs := func(endpoint, class string) float64 {
		return counter(t, reg, "rebal_venue_errors_total", map[string]string{"venue": "binance", "endpoint": endpoint, "class": class})
	}
	reqs := func(endpoint string) float64 {
		return counter(t, reg, "rebal_venue_requests_total", map[string]string{"venue": "binance", "endpoint": endpoint})
	}
	before := reqs("/api/v3/account")

	e.sim.Inject(simbinance.Fault{Method: http.MethodGet, Path: "/api/v3/account", Kind: simbinance.FaultRateLimit})
	e.sim.Inject(simbinance.Fault{Method: http.MethodGet, Path: "/api/v3/account", Kind: simbinance.FaultStatusBefore})
	_, err := e.client.Balances(ctx)
	require.NoError(t, err, "reads retry both")
	require.Equal(t, 1.0, errs("/api/v3/account", "rate_limited"))
	require.Equal(t, 1.0, errs("/api/v3/account", "server"))
	require.Equal(t, before+3, reqs("/api/v3/account"), "three attempts")

	e.skew.Store(int64(20 * time.Second))
	_, err = e.client.Balances(ctx)
	require.NoError(t, err)
	require.Equal(t, 1.0, errs("/api/v3/account", "clock_skew"), "the -1021 answer, before the resync")
	require.Zero(t, errs("/api/v3/time", "clock_skew"))
}

package chain

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
)

func TestMetricsCountAttemptsByResult(t *testing.T) {
	f := newFixture(t, true)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	require.NoError(t, err)
	ctx := context.Background()
	c, err := Dial(ctx, Config{ChainID: f.sim.ChainID(), RPCURLs: []string{f.sim.RPCURL() + "/secret-path"},
		Retry: RetryPolicy{BaseDelay: 1, MaxDelay: 1}}, WithMetrics(m))
	require.NoError(t, err)
	t.Cleanup(c.Close)

	f.sim.Faults().RateLimit(1, 0)
	_, err = c.HeadNumber(ctx)
	require.NoError(t, err)
	_, err = c.SnapshotAt(ctx, 0, f.tokens, f.accounts)
	require.NoError(t, err)

	endpoint := redactURL(f.sim.RPCURL())
	families, err := reg.Gather()
	require.NoError(t, err)
	attempts := map[string]float64{}
	var observations uint64
	for _, fam := range families {
		for _, mt := range fam.GetMetric() {
			labels := labelMap(mt)
			switch fam.GetName() {
			case "rebalancer_chain_rpc_attempts_total":
				require.Equal(t, "8453", labels["chain"])
				require.Equal(t, endpoint, labels["endpoint"], "no path, no key")
				attempts[labels["method"]+"/"+labels["result"]] += mt.GetCounter().GetValue()
			case "rebalancer_chain_rpc_attempt_seconds":
				observations += mt.GetHistogram().GetSampleCount()
			}
		}
	}
	require.Equal(t, map[string]float64{
		"eth_blockNumber/rate_limited": 1, // the chain id check is part of the first attempt
		"eth_blockNumber/ok":           1,
		"snapshot/ok":                  1,
	}, attempts)
	require.Equal(t, uint64(3), observations)

	_, err = NewMetrics(reg)
	require.Error(t, err, "registering twice is an error, not a silent second set")
}

func TestMethodLabelIsBounded(t *testing.T) {
	cases := map[string]string{
		"eth_call 0xabc at 5":              "eth_call",
		"snapshot at 7 (multicall)":        "snapshot",
		"eth_getLogs [1, 2]":               "eth_getLogs",
		"eth_getBlockByNumber block 9":     "eth_getBlockByNumber",
		"fees and gas":                     "fees_and_gas",
		"something new with 0xdeadbeef 12": "other",
	}
	for in, want := range cases {
		require.Equal(t, want, methodLabel(in), in)
	}
}

func labelMap(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

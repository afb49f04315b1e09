package planner

import (
	"context"
	"math/big"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// nopStream satisfies Stream for a service fed through handle.
type nopStream struct{}

func (nopStream) ReadRange(context.Context, bus.Range, func(bus.Message) error) error { return nil }
func (nopStream) Publish(context.Context, events.Event) (bus.PublishResult, error) {
	return bus.PublishResult{}, nil
}
func (nopStream) Consume(context.Context, bus.ConsumerSpec, bus.Handler) error { return nil }

// sample returns the value of the gauge name with exactly these label values, and whether it is
// exposed at all.
func sample(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func matches(m *dto.Metric, labels map[string]string) bool {
	if len(m.GetLabel()) != len(labels) {
		return false
	}
	for _, l := range m.GetLabel() {
		if labels[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func loc(chain, token string, extra ...string) map[string]string {
	m := map[string]string{"account": testAccount, "chain": chain, "token": token}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// TestBalanceMetricsShowWhatThePlannerSees feeds the service a stream and scrapes it: the band
// is the configuration's, a location without a snapshot is not usable and has no balance, and the
// balance is the virtual one (the snapshot moved by the intents decided), not the raw snapshot.
func TestBalanceMetricsShowWhatThePlannerSees(t *testing.T) {
	w := newWorld(t, testYAML)
	reg := prometheus.NewRegistry()
	s, err := New(w.pol.cfg, Deps{Stream: nopStream{}, Log: zerolog.Nop(), Metrics: reg})
	require.NoError(t, err)
	var seq uint64
	w.out = func(ev events.Event) {
		seq++
		s.handle(bus.Message{Seq: seq, Event: ev})
	}

	for _, level := range []struct {
		name string
		want float64
	}{{"threshold", 500}, {"target", 1000}, {"max", 1500}} {
		v, ok := sample(t, reg, "rebal_planner_band", loc("10", "USDT", "level", level.name))
		require.True(t, ok, level.name)
		require.Equal(t, level.want, v, level.name)
	}
	usable, ok := sample(t, reg, "rebal_planner_location_usable", loc("1", "USDC"))
	require.True(t, ok)
	require.Zero(t, usable, "no snapshot yet")
	_, ok = sample(t, reg, "rebal_planner_balance", loc("1", "USDC", "bound", "lo"))
	require.False(t, ok, "no balance is shown for a location the planner cannot use")

	w.balanced()
	for _, bound := range []string{"lo", "hi"} {
		v, ok := sample(t, reg, "rebal_planner_balance", loc("42161", "USDT", "bound", bound))
		require.True(t, ok)
		require.Equal(t, 1000.0, v, bound)
	}
	usable, _ = sample(t, reg, "rebal_planner_location_usable", loc("1", "USDC"))
	require.Equal(t, 1.0, usable)

	// An excess on chain 1 and a deficit on chain 10: the planner decides a move, and from then
	// on counts it in both balances (the snapshot is ahead of the ledger's watermark: lo carries
	// the debit, hi the credit).
	w.chainSnap(1, "2600", "1000")
	w.chainSnap(10, "300", "1000")
	require.Equal(t, 1, s.Pending(), "one intent decided")
	in := s.outbox[0]
	require.Equal(t, uint64(1), in.Route.SrcChain)
	require.Equal(t, uint64(10), in.Route.DstChain)
	lo1, _ := sample(t, reg, "rebal_planner_balance", loc("1", "USDC", "bound", "lo"))
	require.Equal(t, 2600-wholeTokens(in.AmountIn.Big(), 6), lo1)
	hi10, _ := sample(t, reg, "rebal_planner_balance", loc("10", in.Route.DstToken, "bound", "hi"))
	raw := 300.0
	if in.Route.DstToken == "USDT" {
		raw = 1000
	}
	require.Equal(t, raw+wholeTokens(in.MinAmountOut.Big(), 6), hi10)
	lo10, _ := sample(t, reg, "rebal_planner_balance", loc("10", in.Route.DstToken, "bound", "lo"))
	require.Equal(t, raw, lo10, "a credit that may not have arrived is not counted in lo")
}

func TestWholeTokens(t *testing.T) {
	require.Equal(t, 1234.5, wholeTokens(big.NewInt(1_234_500_000), 6))
	require.Equal(t, -0.25, wholeTokens(big.NewInt(-250_000), 6))
}

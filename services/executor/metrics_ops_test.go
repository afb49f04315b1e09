package executor

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// gathered is one scrape of a registry: metric name → its samples.
type gathered map[string][]*dto.Metric

func scrape(t *testing.T, reg *prometheus.Registry) gathered {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := gathered{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetMetric()
	}
	return out
}

// find returns the sample of name whose labels include every name=value pair of want, or nil.
func (g gathered) find(name string, want ...string) *dto.Metric {
	for _, m := range g[name] {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			ok = ok && labels[want[i]] == want[i+1]
		}
		if ok {
			return m
		}
	}
	return nil
}

// gauge is the value of a gauge sample, failing the test when it is missing.
func (g gathered) gauge(t *testing.T, name string, want ...string) float64 {
	t.Helper()
	m := g.find(name, want...)
	require.NotNil(t, m, "no sample %s%v", name, want)
	return m.GetGauge().GetValue()
}

// TestOpsMetricsReadFromRedis writes intents in several states and their legs with the ledger
// writer, as a previous process would have, and checks that a fresh executor's first refresh
// reports them: the gauges are right after a restart because they come from Redis.
func TestOpsMetricsReadFromRedis(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	d := h.deps(h.connect("executor"))
	d.Metrics = reg
	entered := time.Unix(1_700_000_000, 0).UTC()
	d.Now = func() time.Time { return entered.Add(time.Hour) }
	e, err := New(h.cfg, d)
	require.NoError(t, err)

	w := pending.NewWriter(h.rdb)
	put := func(state events.State, whole int64, enteredAt time.Time, set string) *Record {
		t.Helper()
		in := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", whole)
		rec := &Record{Intent: *in, State: state, EnteredAt: enteredAt, Legs: initialLegs(in)}
		b, err := rec.encode()
		require.NoError(t, err)
		legs := make([]pending.Leg, len(rec.Legs))
		for i, l := range rec.Legs {
			legs[i] = pendingLeg(in.ID, l)
		}
		_, err = w.Accept(ctx, h.account.Hex(), in.ID, b, legs)
		require.NoError(t, err)
		key := openKey(h.account.Hex())
		if set == "done" {
			key = doneKey(h.account.Hex())
		}
		require.NoError(t, h.rdb.SAdd(ctx, key, in.ID).Err())
		return rec
	}
	a1 := put(events.StateAccepted, 100, entered.Add(2*time.Minute), "open")
	put(events.StateAccepted, 200, entered, "open")
	put(events.StateOrderPlaced, 300, entered, "open")
	put(events.StateNeedsAttention, 400, entered, "done")
	put(events.StateCompleted, 500, entered, "done") // legs awaiting GC: counted in the ledger, not as open

	// Nothing is reported before the first read: an empty gauge would claim there is no work.
	require.Empty(t, scrape(t, reg)["rebal_executor_intents"])
	require.NoError(t, e.refreshOps(ctx))
	g := scrape(t, reg)
	require.Equal(t, 2.0, g.gauge(t, "rebal_executor_intents", "venue", testVenueName, "state", "accepted"))
	require.Equal(t, 1.0, g.gauge(t, "rebal_executor_intents", "venue", testVenueName, "state", "order_placed"))
	require.Equal(t, 1.0, g.gauge(t, "rebal_executor_intents", "venue", testVenueName, "state", "needs_attention"))
	require.Nil(t, g.find("rebal_executor_intents", "state", "completed"))
	require.Equal(t, float64(entered.Unix()), g.gauge(t, "rebal_executor_intents_oldest_timestamp_seconds", "state", "accepted"),
		"the oldest of the two accepted intents")

	acct := strings.ToLower(h.account.Hex())
	require.Equal(t, 10.0, g.gauge(t, "rebal_executor_ledger_legs", "account", acct), "two legs for each of five intents")
	// Debits on Base: 100+200+300+400+500 USDC. Credits on BSC: each intent's minAmountOut.
	require.Equal(t, 1500.0, g.gauge(t, "rebal_executor_ledger_in_flight", "account", acct, "chain", "8453", "token", "USDC", "direction", "debit"))
	var credits float64
	for _, it := range h.intents {
		credits += wholeTokens(it.MinAmountOut.Big(), it.Route.DstDecimals)
	}
	require.InDelta(t, credits, g.gauge(t, "rebal_executor_ledger_in_flight", "account", acct, "chain", "56", "token", "USDT", "direction", "credit"), 1e-6)
	require.Equal(t, float64(entered.Add(time.Hour).Unix()), g.gauge(t, "rebal_executor_ops_refreshed_timestamp_seconds"))

	// A leg the chain shows at asOf is no longer in flight; an intent that completed leaves the
	// open count on the next read.
	src := a1.leg(legSrc)
	settled := *src
	settled.UntilBlock = 10
	_, err = w.Update(ctx, h.account.Hex(), a1.Intent.ID, 1, nil, []pending.LegUpdate{pending.SetLeg(pendingLeg(a1.Intent.ID, settled))})
	require.NoError(t, err)
	_, err = w.AdvanceAsOf(ctx, h.account.Hex(), simchain.Base, 10)
	require.NoError(t, err)
	done := *a1
	done.State = events.StateCompleted
	b, err := done.encode()
	require.NoError(t, err)
	_, err = w.Update(ctx, h.account.Hex(), a1.Intent.ID, 2, b, nil)
	require.NoError(t, err)
	require.NoError(t, e.refreshOps(ctx))
	g = scrape(t, reg)
	require.Equal(t, 1.0, g.gauge(t, "rebal_executor_intents", "state", "accepted"))
	require.Equal(t, 1400.0, g.gauge(t, "rebal_executor_ledger_in_flight", "chain", "8453", "token", "USDC", "direction", "debit"))
}

// TestStateSecondsObservedOnTransitions runs intents to completion and checks that every state
// they passed through was observed once per intent when they left it, and none they never left.
func TestStateSecondsObservedOnTransitions(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 50*time.Millisecond)
	reg := prometheus.NewRegistry()
	d := h.deps(h.connect("executor"))
	d.Metrics = reg
	e, err := New(h.cfg, d)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- e.Start(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 1234)
	h.publish(it)
	rec := h.waitTerminal([]string{it.ID}, 60*time.Second)[it.ID]
	require.Equal(t, events.StateCompleted, rec.State, rec.Error)

	g := scrape(t, reg)
	for _, st := range []events.State{events.StateAccepted, events.StateDepositSigned, events.StateDepositMined, events.StateWithdrawSent, events.StateLanded} {
		m := g.find("rebal_executor_state_seconds", "venue", testVenueName, "state", string(st))
		require.NotNil(t, m, "no observation of %s", st)
		require.Equal(t, uint64(1), m.GetHistogram().GetSampleCount(), st)
	}
	require.Nil(t, g.find("rebal_executor_state_seconds", "state", string(events.StateCompleted)), "a terminal state is never left")
	var total float64
	for _, m := range g["rebal_executor_state_seconds"] {
		total += m.GetHistogram().GetSampleSum()
	}
	require.Positive(t, total)

	// The scrape-time gauges follow: once the intent is retired nothing is open.
	require.Eventually(t, func() bool {
		if e.refreshOps(ctx) != nil {
			return false
		}
		return len(scrape(t, reg)["rebal_executor_intents"]) == 0
	}, 10*time.Second, 20*time.Millisecond)
}

func TestWholeTokens(t *testing.T) {
	require.Equal(t, 1234.5, wholeTokens(big.NewInt(1_234_500_000), 6))
	require.Equal(t, 0.5, wholeTokens(big.NewInt(5e17), 18))
}

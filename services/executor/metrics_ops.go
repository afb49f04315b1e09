package executor

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// Operations metrics read from Redis rather than counted in this process, so that they are right
// after a restart and on every replica (aggregate them with max, not sum):
//
//	rebal_executor_intents{venue,state}                       open intents (needs_attention included)
//	rebal_executor_intents_oldest_timestamp_seconds{venue,state}  when the oldest of them entered it
//	rebal_executor_ledger_legs{account}                       legs in the pending ledger
//	rebal_executor_ledger_in_flight{account,chain,token,direction}  Σ|amount| of the legs in effect at
//	                                                          asOf, whole tokens, debit or credit
//
// and one observed on each transition this process records:
//
//	rebal_executor_state_seconds{venue,state}                 time spent in the state left
//
// The amounts are decimal-scaled to float64 here, for the dashboard only: nothing reads them back.

// opsRefreshMin and opsRefreshMax bound how often opsLoop reads Redis: ten reconcile ticks.
const (
	opsRefreshMin = time.Second
	opsRefreshMax = 15 * time.Second
)

var (
	descIntents = prometheus.NewDesc("rebal_executor_intents",
		"Open intents by venue and state, read from Redis (every replica reports the same: aggregate with max).", []string{"venue", "state"}, nil)
	descOldest = prometheus.NewDesc("rebal_executor_intents_oldest_timestamp_seconds",
		"When the oldest open intent in the state entered it, by venue and state.", []string{"venue", "state"}, nil)
	descLegs = prometheus.NewDesc("rebal_executor_ledger_legs",
		"Legs in the pending ledger, by account.", []string{"account"}, nil)
	descInFlight = prometheus.NewDesc("rebal_executor_ledger_in_flight",
		"Sum of the ledger legs in effect at asOf, in whole tokens, by account, chain, token and direction (debit, credit).",
		[]string{"account", "chain", "token", "direction"}, nil)
	descRefreshed = prometheus.NewDesc("rebal_executor_ops_refreshed_timestamp_seconds",
		"When the executor last read the intents and the ledger for these metrics.", nil, nil)
)

// opsMetrics holds the last snapshot read from Redis and the state-duration histogram.
type opsMetrics struct {
	stateSeconds  *prometheus.HistogramVec
	refreshErrors prometheus.Counter

	mu   sync.Mutex
	snap opsSnapshot
}

type stateKey struct{ venue, state string }

type flowKey struct {
	account, token, direction string
	chain                     uint64
}

type opsSnapshot struct {
	at       time.Time
	intents  map[stateKey]int
	oldest   map[stateKey]time.Time
	legs     map[string]int
	inFlight map[flowKey]float64
}

func newOpsMetrics(reg prometheus.Registerer) *opsMetrics {
	m := &opsMetrics{
		stateSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rebal_executor_state_seconds",
			Help: "Time an intent spent in a state, observed when it leaves it, by venue and the state left.",
			// From a preflight to a withdrawal waiting for confirmations or an operator: 100ms to 4h.
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400},
		}, []string{"venue", "state"}),
		refreshErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rebal_executor_ops_refresh_errors_total",
			Help: "Failed reads of the intents or the ledger for the operations metrics.",
		}),
	}
	if reg == nil {
		return m
	}
	for _, c := range []prometheus.Collector{m.stateSeconds, m.refreshErrors, m} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
			// Another executor in this process (tests) registered first: this one counts privately.
		}
	}
	return m
}

// Describe implements prometheus.Collector for the snapshot metrics.
func (m *opsMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descIntents, descOldest, descLegs, descInFlight, descRefreshed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the last snapshot, unchanged until the next refresh.
func (m *opsMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	s := m.snap
	m.mu.Unlock()
	if s.at.IsZero() {
		return
	}
	ch <- prometheus.MustNewConstMetric(descRefreshed, prometheus.GaugeValue, float64(s.at.UnixMilli())/1e3)
	for k, n := range s.intents {
		ch <- prometheus.MustNewConstMetric(descIntents, prometheus.GaugeValue, float64(n), k.venue, k.state)
	}
	for k, t := range s.oldest {
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, float64(t.UnixMilli())/1e3, k.venue, k.state)
	}
	for a, n := range s.legs {
		ch <- prometheus.MustNewConstMetric(descLegs, prometheus.GaugeValue, float64(n), a)
	}
	for k, v := range s.inFlight {
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, v, k.account, strconv.FormatUint(k.chain, 10), k.token, k.direction)
	}
}

// transition observes the time rec spent in its state when next leaves it (a wait, or the state
// a wait resumes, counts as a state of its own). now is the time next is recorded at.
func (m *opsMetrics) transition(rec, next *Record, now time.Time) {
	if m == nil || (next.State == rec.State && next.Resume == rec.Resume) || rec.EnteredAt.IsZero() {
		return
	}
	m.stateSeconds.WithLabelValues(rec.Intent.Venue, string(rec.State)).Observe(max(now.Sub(rec.EnteredAt), 0).Seconds())
}

// opsLoop refreshes the snapshot every ten reconcile ticks (1s to 15s) until ctx ends.
func (e *Executor) opsLoop(ctx context.Context) error {
	every := min(max(10*e.cfg.Tick, opsRefreshMin), opsRefreshMax)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := e.refreshOps(ctx); err != nil && ctx.Err() == nil {
			e.m.ops.refreshErrors.Inc()
			e.log.Debug().Err(err).Msg("operations metrics not refreshed; will retry")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// refreshOps reads every account's open and done intents (one pipeline each) and its ledger
// (pkg/pending's one HGETALL) and replaces the snapshot. On an error the last snapshot stays.
func (e *Executor) refreshOps(ctx context.Context) error {
	s := opsSnapshot{at: e.d.Now(), intents: map[stateKey]int{}, oldest: map[stateKey]time.Time{}, legs: map[string]int{}, inFlight: map[flowKey]float64{}}
	reader := pending.NewReader(e.d.Redis)
	accounts := make([]string, 0, len(e.cfg.accounts))
	for a := range e.cfg.accounts {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts)
	for _, a := range accounts {
		if err := e.countIntents(ctx, a, &s); err != nil {
			return err
		}
		v, err := reader.Read(ctx, a, nil)
		if err != nil {
			return fmt.Errorf("read ledger of %s: %w", a, err)
		}
		s.legs[a] = 0
		for _, l := range v.Legs() {
			s.legs[a]++
			cv := v.Chains[l.ChainID]
			if l.UntilBlock != 0 && cv.Block >= l.UntilBlock {
				continue // already in the chain's balance at asOf
			}
			k := flowKey{account: a, chain: l.ChainID, token: l.Token, direction: "credit"}
			if l.Amount.Sign() < 0 {
				k.direction = "debit"
			}
			s.inFlight[k] += wholeTokens(new(big.Int).Abs(l.Amount), l.Decimals)
		}
	}
	e.m.ops.mu.Lock()
	e.m.ops.snap = s
	e.m.ops.mu.Unlock()
	return nil
}

// countIntents adds the account's intents that are open or await an operator (done and in
// needs_attention) to s.
func (e *Executor) countIntents(ctx context.Context, account string, s *opsSnapshot) error {
	rdb := e.d.Redis
	var open, done *redis.StringSliceCmd
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		open = p.SMembers(ctx, openKey(account))
		done = p.SMembers(ctx, doneKey(account))
		return nil
	}); err != nil {
		return fmt.Errorf("list intents of %s: %w", account, err)
	}
	ids := append(open.Val(), done.Val()...)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	cmds := make([]*redis.SliceCmd, 0, len(ids))
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range ids {
			k, err := pending.IntentKey(account, id)
			if err != nil {
				continue
			}
			cmds = append(cmds, p.HMGet(ctx, k, "record"))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read intents of %s: %w", account, err)
	}
	for _, c := range cmds {
		raw, ok := c.Val()[0].(string)
		if !ok {
			continue // accepted by a handler that has not written yet, or GC'd since the listing
		}
		rec, err := decodeRecord([]byte(raw))
		if err != nil {
			return err
		}
		if rec.State == events.StateCompleted || rec.State == events.StateRejected {
			continue
		}
		k := stateKey{rec.Intent.Venue, string(rec.State)}
		s.intents[k]++
		if t, ok := s.oldest[k]; !ok || rec.EnteredAt.Before(t) {
			s.oldest[k] = rec.EnteredAt
		}
	}
	return nil
}

// wholeTokens scales base units to whole tokens for a metric. Only here does an amount become a
// float, and nothing reads it back.
func wholeTokens(units *big.Int, decimals uint8) float64 {
	f, _ := new(big.Rat).SetFrac(units, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)).Float64()
	return f
}

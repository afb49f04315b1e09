package planner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Stream is what the service needs from the bus; *bus.Bus implements it.
type Stream interface {
	ReadRange(ctx context.Context, r bus.Range, fn func(bus.Message) error) error
	Publish(ctx context.Context, ev events.Event) (bus.PublishResult, error)
	Consume(ctx context.Context, spec bus.ConsumerSpec, h bus.Handler) error
}

// Deps are the service's collaborators.
type Deps struct {
	Stream Stream
	// Costs quotes routes; nil means the configured static table.
	Costs CostModel
	Log   zerolog.Logger
	// Metrics registers the service's metrics; nil registers nothing.
	Metrics prometheus.Registerer
	// LagLimit is how old (in wall time since the stream stored it) a message may be for the
	// replica to count as live. Decisions made on older messages are held, not published, until
	// the replica handles a message within the limit: a replica that fell behind by more than the
	// stream's duplicate window could otherwise publish a second copy of an intent another
	// replica published long ago; by the time it is live again it has read that copy and drops
	// its own. Keep it well under the duplicate window (default 5 minutes).
	LagLimit time.Duration
	// Now is the wall clock, used only for LagLimit (never for decisions); time.Now when nil.
	Now func() time.Time
	// Instance names this replica (the pod name; the hostname when empty). Each replica reads the
	// whole stream through its own durable consumer "planner-<instance>": replicas do not split
	// the stream, they each decide everything and the stream keeps one copy of each intent.
	Instance string
}

// DefaultLagLimit is Deps.LagLimit's default.
const DefaultLagLimit = 5 * time.Minute

// inputSubjects are the subjects the planner folds; DLQ subjects are left out.
var inputSubjects = []string{
	events.SubjectBalances + ".>",
	events.SubjectIntents + ".>",
	events.SubjectExecutions + ".>",
	events.SubjectLedger + ".>",
	events.SubjectControl + ".>",
}

// Service is the planner service: it folds the stream, runs the core on each relevant input and
// publishes the decisions.
type Service struct {
	pol      *Policy
	costs    CostModel
	stream   Stream
	log      zerolog.Logger
	instance string
	accounts map[string]bool
	met      *metrics
	lagLimit time.Duration
	now      func() time.Time
	// live says the last message handled was within LagLimit.
	live atomic.Bool

	mu sync.Mutex
	st *State
	// memos keep each account's last search, reused when a decision meets the same matching
	// problem (exact: see solveMemo).
	memos map[string]*solveMemo
	// outbox holds decided intents not yet published, in decision order.
	outbox   []*events.RebalanceIntent
	caughtUp atomic.Bool
	folded   atomic.Uint64
}

// New prepares the service.
func New(cfg *config.Config, d Deps) (*Service, error) {
	pol, err := NewPolicy(cfg)
	if err != nil {
		return nil, fmt.Errorf("planner: %w", err)
	}
	if d.Stream == nil {
		return nil, errors.New("planner: no stream")
	}
	costs := d.Costs
	if costs == nil {
		costs = NewStaticCosts(cfg)
	}
	inst := d.Instance
	if inst == "" {
		inst, _ = os.Hostname()
	}
	inst = durableSafe(inst)
	if inst == "" {
		inst = "0"
	}
	st := NewState()
	st.Own(pol.hash)
	s := &Service{pol: pol, costs: costs, stream: d.Stream, log: d.Log.With().Str("service", "planner").Str("instance", inst).Logger(),
		instance: inst, accounts: map[string]bool{}, st: st, memos: map[string]*solveMemo{}, met: newMetrics(d.Metrics)}
	for _, a := range cfg.Accounts {
		s.accounts[a] = true
	}
	s.lagLimit, s.now = d.LagLimit, d.Now
	if s.lagLimit <= 0 {
		s.lagLimit = DefaultLagLimit
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.live.Store(true)
	s.registerBalanceMetrics(d.Metrics)
	return s, nil
}

// Run runs the planner until ctx ends: catch up, publish what was decided but is missing from
// the stream, then follow the stream.
func Run(ctx context.Context, cfg *config.Config, d Deps) error {
	s, err := New(cfg, d)
	if err != nil {
		return err
	}
	return s.Start(ctx)
}

// Start catches up by replaying the stream (deciding again without publishing), publishes the
// decisions it does not find in the stream, then consumes new events until ctx ends.
func (s *Service) Start(ctx context.Context) error {
	began := time.Now()
	err := s.stream.ReadRange(ctx, bus.Range{Subjects: inputSubjects}, func(m bus.Message) error {
		s.handle(m)
		return nil
	})
	if stopped(ctx) {
		return nil // stopped while catching up
	}
	if err != nil {
		return fmt.Errorf("planner: catch up: %w", err)
	}
	s.mu.Lock()
	missing := len(s.outbox)
	s.mu.Unlock()
	s.log.Info().Uint64("seq", s.folded.Load()).Int("unpublished", missing).Dur("took", time.Since(began)).Str("config_hash", s.pol.hash).Msg("caught up")
	s.caughtUp.Store(true)
	if err := s.flush(ctx); err != nil {
		s.log.Warn().Err(err).Msg("publishing decisions missing from the stream; will retry")
	}
	err = s.stream.Consume(ctx, bus.ConsumerSpec{Durable: "planner-" + s.instance, Subjects: inputSubjects, Workers: 1},
		func(ctx context.Context, m bus.Message) error {
			s.live.Store(m.Time.IsZero() || s.now().Sub(m.Time) <= s.lagLimit)
			s.handle(m)
			if err := s.flush(ctx); err != nil {
				// The decision stays in the outbox and counts as in flight; the next event or
				// this redelivery publishes it.
				return bus.Retry(err, 0)
			}
			return nil
		})
	if stopped(ctx) {
		return nil // stopped (possibly while binding): a normal shutdown
	}
	return err
}

// stopped reports whether ctx has ended: Start returns nil then, like bus.Consume.
func stopped(ctx context.Context) bool { return ctx.Err() != nil }

// Ready reports whether the planner has caught up with the stream (for /readyz).
func (s *Service) Ready(context.Context) error {
	if !s.caughtUp.Load() {
		return errors.New("catching up with the stream")
	}
	return nil
}

// Seq is the stream sequence of the last event folded.
func (s *Service) Seq() uint64 { return s.folded.Load() }

// Pending is how many decided intents wait to be published.
func (s *Service) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.outbox)
}

// handle folds one message and decides on it. A message at or below the last folded sequence
// (a redelivery, or the consumer starting over what the catch-up read) is skipped.
func (s *Service) handle(m bus.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Event == nil || m.Seq <= s.st.Seq() {
		return
	}
	acct := s.st.Apply(m.Seq, m.Event)
	s.folded.Store(m.Seq)
	if _, ok := m.Event.(*events.RebalanceIntent); ok {
		// Its own copy, or another config's intent superseding decisions not yet published:
		// either way the outbox keeps only what the state still holds unpublished.
		s.outbox = slices.DeleteFunc(s.outbox, func(o *events.RebalanceIntent) bool { return !s.st.holds(o.ID) })
		return
	}
	if acct == "" || !s.accounts[acct] {
		return
	}
	meta := m.Event.EventMeta()
	began := time.Now()
	memo := s.memos[acct]
	if memo == nil {
		memo = &solveMemo{}
		s.memos[acct] = memo
	}
	d := plan(s.pol, s.costs, s.st, acct, Basis{Seq: m.Seq, EventID: meta.ID, At: meta.ProducedAt}, memo)
	s.met.observe(time.Since(began), d)
	if len(d.Intents) == 0 {
		if len(d.Record.WarmingUp) > 0 {
			s.log.Debug().Str("account", acct).Uint64("seq", m.Seq).Str("reason", d.Record.Reason).
				Strs("not_seen", d.Record.WarmingUp).Msg("warming up")
		}
		if len(d.Record.Deficit) > 0 {
			s.log.Debug().Str("account", acct).Uint64("seq", m.Seq).Str("reason", d.Record.Reason).
				Strs("excluded", d.Record.Excluded).Strs("rejected", d.Record.Rejected).Msg("no intent")
		}
		return
	}
	s.st.Decided(d.Intents)
	s.outbox = append(s.outbox, d.Intents...)
	for _, in := range d.Intents {
		s.log.Info().Str("intent_id", in.ID).Str("account", acct).Uint64("seq", m.Seq).Str("venue", in.Venue).
			Uint64("src_chain", in.Route.SrcChain).Str("src_token", in.Route.SrcToken).
			Uint64("dst_chain", in.Route.DstChain).Str("dst_token", in.Route.DstToken).
			Str("amount_in", in.AmountIn.String()).Str("cost_estimate", in.Why.CostEstimate.String()).
			Bool("proven", d.Record.Proven).Bool("replaying", !s.caughtUp.Load()).Msg("decided")
	}
}

// flush publishes the outbox in order once caught up and live (see Deps.LagLimit). An intent whose deadline has passed in
// stream time is dropped: the executor would refuse to start it.
func (s *Service) flush(ctx context.Context) error {
	if !s.caughtUp.Load() || !s.live.Load() {
		return nil
	}
	s.mu.Lock()
	out := slices.Clone(s.outbox)
	now := s.st.Clock()
	s.mu.Unlock()
	for _, in := range out {
		if now.After(in.Deadline) {
			s.log.Warn().Str("intent_id", in.ID).Time("deadline", in.Deadline).Msg("decided but never published before its deadline; dropped")
			s.drop(in.ID)
			continue
		}
		res, err := s.stream.Publish(ctx, in)
		if err != nil {
			s.met.publishErrors.Inc()
			return fmt.Errorf("publish intent %s: %w", in.ID, err)
		}
		if res.Duplicate {
			s.met.duplicates.Inc()
		} else {
			s.met.published.Inc()
		}
		s.drop(in.ID)
	}
	return nil
}

func (s *Service) drop(id string) {
	s.mu.Lock()
	s.outbox = slices.DeleteFunc(s.outbox, func(o *events.RebalanceIntent) bool { return o.ID == id })
	s.mu.Unlock()
}

// durableSafe keeps the characters a consumer name may have.
func durableSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

type metrics struct {
	decisions     prometheus.Counter
	intents       prometheus.Counter
	published     prometheus.Counter
	duplicates    prometheus.Counter
	publishErrors prometheus.Counter
	unproven      prometheus.Counter
	planSeconds   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		decisions:     prometheus.NewCounter(prometheus.CounterOpts{Name: "rebal_planner_decisions_total", Help: "Core runs on relevant inputs."}),
		intents:       prometheus.NewCounter(prometheus.CounterOpts{Name: "rebal_planner_intents_decided_total", Help: "Intents decided (replayed decisions included)."}),
		published:     prometheus.NewCounter(prometheus.CounterOpts{Name: "rebal_planner_intents_published_total", Help: "Intents stored by the stream."}),
		duplicates:    prometheus.NewCounter(prometheus.CounterOpts{Name: "rebal_planner_intents_duplicate_total", Help: "Intents the stream already held (another replica published them)."}),
		publishErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "rebal_planner_publish_errors_total", Help: "Failed intent publishes (retried)."}),
		unproven:      prometheus.NewCounter(prometheus.CounterOpts{Name: "rebal_planner_unproven_plans_total", Help: "Plans not proven optimal (search budget or trimmed notional cap)."}),
		planSeconds:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rebal_planner_plan_seconds", Help: "Time of one core run.", Buckets: prometheus.ExponentialBuckets(1e-5, 4, 10)}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.decisions, m.intents, m.published, m.duplicates, m.publishErrors, m.unproven, m.planSeconds} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					panic(err)
				}
			}
		}
	}
	return m
}

func (m *metrics) observe(d time.Duration, dec Decision) {
	m.decisions.Inc()
	m.intents.Add(float64(len(dec.Intents)))
	if !dec.Record.Proven {
		m.unproven.Inc()
	}
	m.planSeconds.Observe(d.Seconds())
}

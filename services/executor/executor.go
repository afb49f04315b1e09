package executor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// Durable consumer names.
const (
	DurableIntents  = "executor-intents"
	DurableControl  = "executor-control"
	DurableBalances = "executor-balances"
)

// Executor carries out intents. Build it with New and run it with Start, or use Run.
type Executor struct {
	cfg     *compiled
	d       Deps
	log     zerolog.Logger
	w       *pending.Writer
	control *Control
	leases  map[scope]*Lease
	m       *metrics

	restMu sync.Mutex
	rest   map[string]time.Time // intent id → no venue or chain polling before

	haltMu  sync.Mutex
	halted  map[string]bool      // venue → seen halted
	resumed map[string]time.Time // venue → when it was last seen resuming
}

// scope is one writer's domain: a (venue, account).
type scope struct {
	venue   string
	account string // normalized
}

// New checks the configuration and prepares an executor.
func New(cfg Config, d Deps) (*Executor, error) {
	c, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	if d.Bus == nil || d.Redis == nil {
		return nil, fmt.Errorf("%w: bus and redis are required", ErrConfig)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if c.ReplicaID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		c.ReplicaID = "executor-" + hex.EncodeToString(b[:])
	}
	e := &Executor{cfg: c, d: d, log: d.Log.With().Str("service", "executor").Str("replica", c.ReplicaID).Logger(),
		w: pending.NewWriter(d.Redis, pending.WithClock(d.Now)), leases: map[scope]*Lease{}, rest: map[string]time.Time{}, m: newMetrics(d.Metrics),
		halted: map[string]bool{}, resumed: map[string]time.Time{}}
	e.control = newControl(d.Redis, d.Now, e.log)
	for a := range c.accounts {
		for v := range d.Venues {
			e.leases[scope{v, a}] = newLease(d.Redis, a, v, c.ReplicaID, c.LeaseTTL, d.Now, e.log)
		}
	}
	return e, nil
}

// Run is the service's entry point: New, then Start until ctx ends.
func Run(ctx context.Context, cfg Config, d Deps) error {
	e, err := New(cfg, d)
	if err != nil {
		return err
	}
	return e.Start(ctx)
}

// Start runs every part (intent, control and balance consumers, leases, the control refresher,
// one reconcile loop per (venue, account)) until ctx ends or one fails; leases are released on a
// graceful return.
func (e *Executor) Start(ctx context.Context) error {
	if err := e.control.load(ctx); err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return e.control.Start(gctx) })
	g.Go(func() error {
		return e.d.Bus.Consume(gctx, bus.ConsumerSpec{Durable: DurableControl, Subjects: []string{events.SubjectControl + ".>"}}, e.handleControl)
	})
	g.Go(func() error {
		return e.d.Bus.Consume(gctx, bus.ConsumerSpec{Durable: DurableIntents, Subjects: []string{events.SubjectIntents + ".>"},
			Backoff: bus.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}, MaxDeliver: 100}, e.handleIntent)
	})
	g.Go(func() error {
		return e.d.Bus.Consume(gctx, bus.ConsumerSpec{Durable: DurableBalances, Subjects: []string{events.SubjectBalances + ".>"},
			Backoff: bus.Backoff{Base: 100 * time.Millisecond, Max: 2 * time.Second}, MaxDeliver: 1000}, e.handleSnapshot)
	})
	for s, l := range e.leases {
		g.Go(func() error { return l.Start(gctx) })
		g.Go(func() error { return e.loop(gctx, s, l) })
	}
	g.Go(func() error { return e.gcLoop(gctx) })
	g.Go(func() error { return e.opsLoop(gctx) })
	err := g.Wait()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if !errors.Is(err, ErrKilled) { // a killed instance leaves its leases to expire, as a crash would
		for _, l := range e.leases {
			l.Release(rctx)
		}
	}
	return err
}

func (e *Executor) handleControl(ctx context.Context, msg bus.Message) error {
	cmd, ok := msg.Event.(*events.ControlCommand)
	if !ok {
		return bus.Reject(fmt.Errorf("control subject carries %T", msg.Event))
	}
	return e.control.apply(ctx, cmd, msg.Seq)
}

// fault calls the test hook at a named point.
func (e *Executor) fault(point string) error {
	if e.d.Fault == nil {
		return nil
	}
	if err := e.d.Fault(point); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrKilled, point, err)
	}
	return nil
}

// Ready reports whether the executor can act: the control state (kill switch, pauses) has been
// read recently. For /readyz.
func (e *Executor) Ready() error {
	if halted, why := e.control.Halted(""); halted && why == "control state unknown" {
		return errors.New("executor: control state unknown (redis unreachable?)")
	}
	return nil
}

// noteHalt records whether venue is halted now and returns when it last resumed (zero if never
// seen halted by this process).
func (e *Executor) noteHalt(venue string, halted bool) time.Time {
	e.haltMu.Lock()
	defer e.haltMu.Unlock()
	if e.halted[venue] && !halted {
		e.resumed[venue] = e.d.Now()
	}
	e.halted[venue] = halted
	return e.resumed[venue]
}

// resting reports whether the intent made no progress recently and should not be polled yet.
func (e *Executor) resting(id string) bool {
	e.restMu.Lock()
	defer e.restMu.Unlock()
	return e.d.Now().Before(e.rest[id])
}

// restFor marks the intent as resting for d (0 clears it).
func (e *Executor) restFor(id string, d time.Duration) {
	e.restMu.Lock()
	defer e.restMu.Unlock()
	if d <= 0 {
		delete(e.rest, id)
		return
	}
	e.rest[id] = e.d.Now().Add(d)
}

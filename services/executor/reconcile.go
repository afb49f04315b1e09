package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// maxStepsPerTick bounds how many steps one intent takes in one tick, so a tick ends.
const maxStepsPerTick = 12

// loop drives the intents of one (venue, account) while this replica holds its lease.
func (e *Executor) loop(ctx context.Context, s scope, l *Lease) error {
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for {
		halted, _ := e.control.Halted(s.venue)
		e.m.halted.WithLabelValues(s.venue).Set(b2f(halted))
		fence, held := l.Held()
		e.m.leaseHeld.WithLabelValues(s.venue, s.account).Set(b2f(held))
		if held {
			if err := e.tick(ctx, s, l, fence); err != nil {
				if errors.Is(err, ErrKilled) {
					return err
				}
				if ctx.Err() == nil {
					e.log.Warn().Err(err).Str("venue", s.venue).Str("account", s.account).Msg("reconcile tick failed; will retry")
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// tick takes every open intent of the scope as far as it goes now.
func (e *Executor) tick(ctx context.Context, s scope, l *Lease, fence uint64) error {
	lost := l.Lost()
	if lost == nil {
		return nil
	}
	// Side effects in flight stop when the lease is lost.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-sctx.Done():
		}
	}()
	ids, err := e.d.Redis.SMembers(sctx, openKey(s.account)).Result()
	if err != nil {
		return fmt.Errorf("list open intents: %w", err)
	}
	slices.Sort(ids)
	var errs []error
	for _, id := range ids {
		if err := e.drive(sctx, s, l, fence, id); err != nil {
			if errors.Is(err, ErrKilled) || errors.Is(err, ErrLeaseLost) {
				return err
			}
			errs = append(errs, fmt.Errorf("intent %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// drive publishes what is recorded but not published, then takes steps until none applies.
func (e *Executor) drive(ctx context.Context, s scope, l *Lease, fence uint64, id string) error {
	for range maxStepsPerTick {
		if e.resting(id) {
			return nil
		}
		b, v, err := e.w.Intent(ctx, s.account, id)
		if errors.Is(err, pending.ErrNotFound) {
			return nil // accepted by a handler that has not written yet, or a stale entry: harmless
		}
		if err != nil {
			return err
		}
		rec, err := decodeRecord(b)
		if err != nil {
			return err
		}
		if rec.Intent.Venue != s.venue {
			return nil
		}
		if rec.Fence > fence {
			l.drop(fmt.Sprintf("intent %s written under fence %d > ours %d", id, rec.Fence, fence))
			return ErrLeaseLost
		}
		if err := e.outbox(ctx, s.account, rec, v); err != nil {
			return err
		}
		if rec.State == events.StateNeedsAttention {
			next, more, err := e.observe(ctx, rec)
			if err != nil {
				e.restFor(id, e.cfg.Poll)
				return err
			}
			if next != nil {
				if _, err := e.record(ctx, s.account, rec, v, next, fence, e.log.With().Str("intent", id).Logger()); err != nil {
					return err
				}
				continue
			}
			if more {
				e.restFor(id, e.cfg.Poll)
				return nil
			}
		}
		if rec.State.Terminal() {
			return e.retire(ctx, s.account, rec)
		}
		log := e.log.With().Str("intent", id).Str("venue", s.venue).Str("account", s.account).Logger()
		x := &stepEnv{e: e, s: s, l: l, fence: fence, log: log, base: rec, v: v}
		next, err := e.step(ctx, x, rec)
		if err != nil {
			e.m.stepErrors.WithLabelValues(s.venue).Inc()
			e.restFor(id, e.cfg.Poll)
			return err
		}
		if next == nil {
			if x.v != v {
				continue // an attempt was written; look again
			}
			e.restFor(id, e.cfg.Poll)
			return nil
		}
		if next.State == events.StateWaiting {
			e.restFor(id, e.cfg.Poll)
		} else {
			e.restFor(id, 0)
		}
		if _, err := e.record(ctx, s.account, x.base, x.v, next, fence, log); err != nil {
			return err
		}
	}
	return nil
}

// record writes next over rec at version v (compare-and-set), with the ledger changes it implies,
// and publishes the new version.
func (e *Executor) record(ctx context.Context, account string, rec *Record, v uint64, next *Record, fence uint64, log zerolog.Logger) (uint64, error) {
	now := e.d.Now()
	next.Fence = fence
	if next.State != rec.State || next.Resume != rec.Resume {
		next.EnteredAt = now
		st := next.State
		if st == events.StateWaiting {
			st = next.Resume
		}
		if !next.State.Terminal() {
			// A wait keeps the deadline of the state it waits in: waiting never extends a step.
			if !(next.State == events.StateWaiting && next.Resume == rec.State) && !(rec.State == events.StateWaiting && next.State == rec.Resume) {
				next.Deadline = now.Add(e.cfg.timeout(st))
			}
		}
	}
	b, err := next.encode()
	if err != nil {
		return 0, err
	}
	if e.cfg.DryRun {
		log.Info().Str("from", string(rec.State)).Str("to", string(next.State)).Msg("dry-run: would record step")
		return v, nil
	}
	if err := e.fault("record:" + string(next.State) + ":before"); err != nil {
		return 0, err
	}
	nv, err := e.w.Update(ctx, account, rec.Intent.ID, v, b, legChanges(rec.Intent.ID, rec.Legs, next.Legs))
	if err != nil {
		return 0, fmt.Errorf("record %s → %s: %w", rec.State, next.State, err)
	}
	e.m.steps.WithLabelValues(rec.Intent.Venue, string(next.State)).Inc()
	e.m.ops.transition(rec, next, now)
	ev := log.Info().Str("from", string(rec.State)).Str("to", string(next.State)).Uint64("version", nv)
	if next.Deposit.TxHash != "" {
		ev = ev.Str("depositTx", next.Deposit.TxHash)
	}
	if next.Withdraw.TxHash != "" {
		ev = ev.Str("withdrawTx", next.Withdraw.TxHash)
	}
	if next.Wait != "" {
		ev = ev.Str("wait", next.Wait)
	}
	if next.FundsAt != "" {
		ev = ev.Str("fundsAt", next.FundsAt)
	}
	if next.Error != "" {
		ev = ev.Str("error", next.Error)
	}
	ev.Msg("step recorded")
	if next.State == events.StateNeedsAttention {
		e.m.attention.WithLabelValues(rec.Intent.Venue, string(stateOf(rec))).Inc()
		log.Error().Str("fundsAt", next.FundsAt).Str("error", next.Error).Msg("intent needs attention")
	}
	if err := e.fault("record:" + string(next.State) + ":after"); err != nil {
		return 0, err
	}
	return nv, e.outbox(ctx, account, next, nv)
}

// outbox publishes version v of the record unless it already was.
func (e *Executor) outbox(ctx context.Context, account string, rec *Record, v uint64) error {
	if e.cfg.DryRun {
		return nil
	}
	p, err := published(ctx, e.d.Redis, account, rec.Intent.ID)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if p >= v {
		return nil
	}
	if _, err := e.d.Bus.Publish(ctx, rec.update(v, e.d.Now())); err != nil {
		return fmt.Errorf("outbox: publish version %d: %w", v, err)
	}
	if err := e.fault("outbox:after-publish"); err != nil {
		return err
	}
	if err := markPublished(ctx, e.d.Redis, account, rec.Intent.ID, v); err != nil {
		return fmt.Errorf("outbox: mark version %d: %w", v, err)
	}
	return nil
}

// retire moves a terminal, published intent off the work list; completed ones with legs left go
// to the GC list.
func (e *Executor) retire(ctx context.Context, account string, rec *Record) error {
	id := rec.Intent.ID
	if len(rec.Legs) > 0 {
		if err := e.d.Redis.SAdd(ctx, doneKey(account), id).Err(); err != nil {
			return err
		}
	}
	return e.d.Redis.SRem(ctx, openKey(account), id).Err()
}

// gcLoop removes settled legs of completed intents once the watcher's snapshots are past them
// and the retention has run.
func (e *Executor) gcLoop(ctx context.Context) error {
	period := min(max(e.cfg.GC.Retention/4, e.cfg.Tick), time.Minute)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if e.cfg.DryRun {
			continue
		}
		for a := range e.cfg.accounts {
			if err := e.gcAccount(ctx, a); err != nil && ctx.Err() == nil {
				e.log.Warn().Err(err).Str("account", a).Msg("ledger gc failed; will retry")
			}
		}
	}
}

func (e *Executor) gcAccount(ctx context.Context, account string) error {
	ids, err := e.d.Redis.SMembers(ctx, doneKey(account)).Result()
	if err != nil {
		return err
	}
	for _, id := range ids {
		b, _, err := e.w.Intent(ctx, account, id)
		if err != nil {
			continue
		}
		rec, err := decodeRecord(b)
		if err != nil || rec.State != events.StateCompleted {
			continue // needs_attention keeps its legs until an operator settles it
		}
		n, err := e.w.GC(ctx, account, id, e.cfg.GC)
		if err != nil {
			continue
		}
		if n > 0 {
			e.log.Info().Str("intent", id).Int("legs", n).Msg("settled legs garbage-collected")
		}
		lkey, err := pending.LedgerKey(account)
		if err != nil {
			return err
		}
		fields, err := e.d.Redis.HKeys(ctx, lkey).Result()
		if err != nil {
			return err
		}
		left := false
		for _, f := range fields {
			if strings.HasPrefix(f, id+":") {
				left = true
				break
			}
		}
		if !left {
			e.d.Redis.SRem(ctx, doneKey(account), id)
		}
	}
	return nil
}

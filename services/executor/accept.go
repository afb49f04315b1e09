package executor

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// handleIntent accepts an intent: stores its record and legs atomically, or rejects it with an
// ExecutionUpdate that says why. A replay of an accepted intent writes nothing.
func (e *Executor) handleIntent(ctx context.Context, msg bus.Message) error {
	in, ok := msg.Event.(*events.RebalanceIntent)
	if !ok {
		return bus.Reject(fmt.Errorf("intent subject carries %T", msg.Event))
	}
	log := e.log.With().Str("intent", in.ID).Str("venue", in.Venue).Str("account", in.Account).Logger()
	account, err := pending.NormalizeAccount(in.Account)
	if err != nil {
		return bus.Reject(err)
	}
	if _, _, err := e.w.Intent(ctx, account, in.ID); err == nil {
		log.Debug().Msg("intent replayed: already accepted, nothing to do")
		return e.ensureTracked(ctx, account, in.ID)
	} else if !errors.Is(err, pending.ErrNotFound) {
		return bus.Retry(err, 0)
	}
	if why := e.check(in, account); why != nil {
		return e.reject(ctx, in, why)
	}
	if e.cfg.DryRun {
		log.Info().Str("amountIn", in.AmountIn.String()).Uint64("srcChain", in.Route.SrcChain).Uint64("dstChain", in.Route.DstChain).
			Msg("dry-run: would accept intent and write its legs")
		return nil
	}
	if err := e.reserve(ctx, in); err != nil {
		if errors.Is(err, ErrUnexecutable) {
			return e.reject(ctx, in, err)
		}
		return bus.Retry(err, 0)
	}
	now := e.d.Now()
	rec := &Record{Intent: *in, State: events.StateAccepted, EnteredAt: now, Deadline: now.Add(e.cfg.timeout(events.StateAccepted)),
		Legs: initialLegs(in)}
	b, err := rec.encode()
	if err != nil {
		return bus.Reject(err)
	}
	legs := make([]pending.Leg, len(rec.Legs))
	for i, l := range rec.Legs {
		legs[i] = pendingLeg(in.ID, l)
	}
	if err := e.fault("accept:before-record"); err != nil {
		return err
	}
	created, err := e.w.Accept(ctx, account, in.ID, b, legs)
	if err != nil {
		return bus.Retry(err, 0)
	}
	if err := e.fault("accept:after-record"); err != nil {
		return err
	}
	if created {
		e.m.accepted.WithLabelValues(in.Venue).Inc()
		log.Info().Str("amountIn", in.AmountIn.String()).Uint64("srcChain", in.Route.SrcChain).Str("srcToken", in.Route.SrcToken).
			Uint64("dstChain", in.Route.DstChain).Str("dstToken", in.Route.DstToken).Msg("intent accepted; legs written")
	}
	return e.ensureTracked(ctx, account, in.ID)
}

// ensureTracked puts the intent in the account's open set (the reconcile loop's work list). The
// loop publishes the accepted version through the outbox.
func (e *Executor) ensureTracked(ctx context.Context, account, id string) error {
	if err := e.d.Redis.SAdd(ctx, openKey(account), id).Err(); err != nil {
		return bus.Retry(fmt.Errorf("track %s: %w", id, err), 0)
	}
	return nil
}

// check returns why an intent cannot be executed, or nil.
func (e *Executor) check(in *events.RebalanceIntent, account string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrUnexecutable, fmt.Sprintf(format, args...))
	}
	if _, ok := e.cfg.accounts[account]; !ok {
		return bad("account %s is not one of the relayer's accounts: destination not allowlisted", in.Account)
	}
	if _, ok := e.d.Venues[in.Venue]; !ok {
		return bad("venue %s is not enabled", in.Venue)
	}
	r := in.Route
	src, ok := e.cfg.route(in.Venue, r.SrcToken, r.SrcChain)
	if !ok {
		return bad("no executable route for %s on chain %d through %s", r.SrcToken, r.SrcChain, in.Venue)
	}
	dst, ok := e.cfg.route(in.Venue, r.DstToken, r.DstChain)
	if !ok {
		return bad("no executable route for %s on chain %d through %s", r.DstToken, r.DstChain, in.Venue)
	}
	if src.Decimals != r.SrcDecimals || dst.Decimals != r.DstDecimals {
		return bad("decimals %d→%d disagree with the configured %d→%d", r.SrcDecimals, r.DstDecimals, src.Decimals, dst.Decimals)
	}
	if _, ok := e.d.Chains[r.SrcChain]; !ok {
		return bad("chain %d is not connected", r.SrcChain)
	}
	if _, ok := e.d.Chains[r.DstChain]; !ok {
		return bad("chain %d is not connected", r.DstChain)
	}
	if e.d.Senders == nil {
		return bad("no senders")
	}
	if _, ok := e.d.Senders(r.SrcChain, account); !ok {
		return bad("no signer for %s on chain %d", in.Account, r.SrcChain)
	}
	if n := notional(in.AmountIn, r.SrcDecimals); n.Cmp(e.cfg.maxPerIntent) > 0 {
		return bad("amount %s is over the per-intent cap %s", n.FloatString(6), e.cfg.maxPerIntent.FloatString(6))
	}
	if !e.d.Now().Before(in.Deadline) {
		return bad("deadline %s has passed", in.Deadline.UTC().Format(time.RFC3339))
	}
	return nil
}

// reject publishes the rejection (version 1, no legs) and acks.
func (e *Executor) reject(ctx context.Context, in *events.RebalanceIntent, why error) error {
	e.log.Warn().Str("intent", in.ID).Str("venue", in.Venue).Err(why).Msg("intent rejected")
	e.m.rejected.WithLabelValues(in.Venue).Inc()
	if e.cfg.DryRun {
		return nil
	}
	u := &events.ExecutionUpdate{
		Meta:     events.NewMeta(events.TypeExecutionUpdate, in.ID+":1", in.ID, producer, e.d.Now()),
		IntentID: in.ID, Account: in.Account, Venue: in.Venue, IntentVersion: 1, State: events.StateRejected,
		Legs: []events.Leg{}, Error: why.Error(),
	}
	if _, err := e.d.Bus.Publish(ctx, u); err != nil {
		return bus.Retry(fmt.Errorf("publish rejection of %s: %w", in.ID, err), 0)
	}
	return nil
}

// reserve adds the intent's notional to its venue's rolling 24 h window, or fails with
// ErrUnexecutable when that would pass the cap. Members are <intent id>:<amount>:<decimals>, so a
// redelivered intent is counted once; the sum is exact (big.Rat), under WATCH so that two replicas
// cannot both take the last room.
func (e *Executor) reserve(ctx context.Context, in *events.RebalanceIntent) error {
	limit, ok := e.cfg.maxPerDay[in.Venue]
	if !ok {
		return fmt.Errorf("%w: no 24 h cap configured for venue %s", ErrUnexecutable, in.Venue)
	}
	key := notionalKey(in.Venue)
	now := e.d.Now()
	member := fmt.Sprintf("%s:%s:%d", in.ID, in.AmountIn, in.Route.SrcDecimals)
	var over error
	txf := func(tx *redis.Tx) error {
		over = nil
		from := now.Add(-24 * time.Hour).UnixMilli()
		members, err := tx.ZRangeArgs(ctx, redis.ZRangeArgs{Key: key, ByScore: true, Start: fmt.Sprint(from), Stop: "+inf"}).Result()
		if err != nil {
			return err
		}
		sum := new(big.Rat)
		for _, m := range members {
			parts := strings.Split(m, ":")
			if parts[0] == in.ID {
				return nil // already counted
			}
			if len(parts) != 3 {
				continue
			}
			amt, err1 := events.ParseAmount(parts[1])
			var dec uint8
			_, err2 := fmt.Sscan(parts[2], &dec)
			if err1 != nil || err2 != nil {
				continue
			}
			sum.Add(sum, notional(amt, dec))
		}
		sum.Add(sum, notional(in.AmountIn, in.Route.SrcDecimals))
		if sum.Cmp(limit) > 0 {
			over = fmt.Errorf("%w: venue %s 24 h notional would reach %s, over the cap %s", ErrUnexecutable, in.Venue, sum.FloatString(6), limit.FloatString(6))
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZRemRangeByScore(ctx, key, "-inf", fmt.Sprint("(", from))
			p.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: member})
			return nil
		})
		return err
	}
	for range 20 {
		err := e.d.Redis.Watch(ctx, txf, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reserve 24 h notional: %w", err)
		}
		return over
	}
	return fmt.Errorf("reserve 24 h notional: too much contention")
}

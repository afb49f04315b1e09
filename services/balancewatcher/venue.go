package balancewatcher

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// venueWatcher publishes one venue's snapshots for every account.
type venueWatcher struct {
	reader   VenueReader
	loc      events.Location
	stream   Stream
	accounts []common.Address
	opts     Config
	log      zerolog.Logger
	m        *metrics
	now      func() time.Time
	health   *health
	lastSeq  map[common.Address]uint64
}

// Start polls the venue until ctx ends.
func (w *venueWatcher) Start(ctx context.Context) error {
	poll(ctx, w.opts.VenueInterval, w.tick, func(err error) {
		w.m.errors.WithLabelValues(string(w.loc)).Inc()
		w.log.Warn().Err(err).Msg("venue read failed; no snapshot this round")
	})
	return nil
}

func (w *venueWatcher) tick(ctx context.Context) error {
	for _, acct := range w.accounts {
		cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
		seq, bals, err := w.reader.Balances(cctx, acct)
		cancel()
		if err != nil {
			return fmt.Errorf("balances of %s: %w", acct.Hex(), err)
		}
		// The sequence must increase even if the venue's clock does not.
		if last := w.lastSeq[acct]; seq <= last {
			seq = last + 1
		}
		s := &events.BalanceSnapshot{
			Meta:     events.NewMeta(events.TypeBalanceSnapshot, "", "", "balancewatcher", w.now()),
			Location: w.loc,
			Account:  acct.Hex(),
			VenueSeq: seq,
			Balances: bals,
		}
		s.ID = s.MsgID()
		if err := s.Validate(); err != nil {
			return fmt.Errorf("venue %s returned balances that do not validate: %w", w.loc, err)
		}
		dup, err := w.stream.Publish(ctx, s)
		if err != nil {
			return fmt.Errorf("publish snapshot %s: %w", s.ID, err)
		}
		w.lastSeq[acct] = seq
		if dup {
			w.m.dupes.WithLabelValues(string(w.loc)).Inc()
		} else {
			w.m.published.WithLabelValues(string(w.loc)).Inc()
		}
	}
	w.health.ok(w.loc, w.now())
	return nil
}

package balancewatcher

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// historyCap bounds the published (height, hash) pairs kept to find where a reorg began.
const historyCap = 256

// cursor is where one account's snapshots stand on one chain.
type cursor struct {
	known bool
	to    uint64
	hash  common.Hash
	at    time.Time
}

// chainWatcher publishes one chain's snapshots for every account.
type chainWatcher struct {
	cfg      ChainConfig
	loc      events.Location
	reader   ChainReader
	stream   Stream
	accounts []common.Address
	tokens   []common.Address
	opts     Config
	log      zerolog.Logger
	m        *metrics
	now      func() time.Time
	health   *health

	cursors map[common.Address]*cursor
	history []BlockRef
}

func newChainWatcher(cfg ChainConfig, opts Config, d Deps, m *metrics, h *health) *chainWatcher {
	w := &chainWatcher{
		cfg: cfg, loc: events.ChainLocation(cfg.ID), reader: d.Chains[cfg.ID], stream: d.Stream,
		accounts: opts.Accounts, opts: opts, m: m, now: d.Now, health: h,
		log:     d.Log.With().Uint64("chain", cfg.ID).Str("chain_name", cfg.Name).Logger(),
		cursors: map[common.Address]*cursor{},
	}
	for _, t := range cfg.Tokens {
		w.tokens = append(w.tokens, t.Address)
	}
	return w
}

// Start restores the cursors from the stream, then polls until ctx ends.
func (w *chainWatcher) Start(ctx context.Context) error {
	if err := w.restore(ctx); err != nil {
		return err
	}
	poll(ctx, w.cfg.PollInterval, w.tick, func(err error) {
		w.m.errors.WithLabelValues(string(w.loc)).Inc()
		w.log.Warn().Err(err).Msg("chain read failed; no snapshot this round")
	})
	return nil
}

// poll runs tick at once and then interval after each run ends (so a slow read never piles up
// rounds), reporting failures to failed, until ctx ends.
func poll(ctx context.Context, interval time.Duration, tick func(context.Context) error, failed func(error)) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := tick(ctx); err != nil && ctx.Err() == nil {
			failed(err)
		}
		t.Reset(interval)
	}
}

// restore reads each account's last snapshot from the stream, retrying until it succeeds: a
// watcher that guessed its position could publish a gap or an overlap.
func (w *chainWatcher) restore(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for _, acct := range w.accounts {
		for {
			snap, err := w.stream.LastSnapshot(ctx, w.loc, acct.Hex())
			if err == nil {
				c := &cursor{}
				if snap != nil && snap.Range != nil {
					c = &cursor{known: true, to: snap.Range.To, hash: common.HexToHash(snap.BlockHash), at: snap.ProducedAt}
					w.remember(BlockRef{Number: c.to, Hash: c.hash})
					w.log.Info().Str("account", acct.Hex()).Uint64("from_block", c.to).Msg("resuming after the last published snapshot")
				}
				w.cursors[acct] = c
				break
			}
			w.log.Warn().Err(err).Str("account", acct.Hex()).Msg("cannot read the last snapshot from the stream; retrying")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
	return nil
}

func (w *chainWatcher) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, w.opts.RPCTimeout)
}

// plan is what one tick publishes for one account.
type plan struct {
	acct  common.Address
	from  uint64
	reorg *events.Reorg
}

// tick reads the confirmed head and publishes what is due.
func (w *chainWatcher) tick(ctx context.Context) error {
	cctx, cancel := w.call(ctx)
	head, err := w.reader.ConfirmedHead(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("confirmed head: %w", err)
	}
	hashes := map[uint64]common.Hash{head.Number: head.Hash}
	hashAt := func(n uint64) (common.Hash, error) {
		if h, ok := hashes[n]; ok {
			return h, nil
		}
		cctx, cancel := w.call(ctx)
		defer cancel()
		h, err := w.reader.BlockHash(cctx, n)
		if err != nil {
			return common.Hash{}, fmt.Errorf("hash of block %d: %w", n, err)
		}
		hashes[n] = h
		return h, nil
	}

	now := w.now()
	var plans []plan
	for _, acct := range w.accounts {
		c := w.cursors[acct]
		if !c.known {
			plans = append(plans, plan{acct: acct, from: head.Number})
			continue
		}
		if head.Number < c.to {
			// Our reader is behind what we published (a lagging endpoint): wait for it.
			w.log.Debug().Uint64("head", head.Number).Uint64("published", c.to).Msg("confirmed head behind the last snapshot; waiting")
			continue
		}
		h, err := hashAt(c.to)
		if err != nil {
			return err
		}
		if h != c.hash {
			from, err := w.forkPoint(c.to, hashAt)
			if err != nil {
				return err
			}
			r := &events.Reorg{Height: c.to, OldHash: c.hash.Hex(), NewHash: h.Hex()}
			w.m.reorgs.WithLabelValues(string(w.loc)).Inc()
			w.log.Warn().Str("account", acct.Hex()).Uint64("height", c.to).Str("old_hash", r.OldHash).Str("new_hash", r.NewHash).
				Uint64("reread_from", from).Msg("reorg at or below the confirmed head; re-reading the range")
			plans = append(plans, plan{acct: acct, from: from, reorg: r})
			continue
		}
		if head.Number > c.to || now.Sub(c.at) >= w.opts.Heartbeat {
			plans = append(plans, plan{acct: acct, from: c.to})
		}
	}
	if len(plans) == 0 {
		w.health.ok(w.loc, now)
		return nil
	}

	accts := make([]common.Address, len(plans))
	for i, p := range plans {
		accts[i] = p.acct
	}
	cctx, cancel = w.call(ctx)
	readHash, bal, err := w.reader.BalancesAt(cctx, head.Number, w.tokens, accts)
	cancel()
	if err != nil {
		return fmt.Errorf("balances at block %d: %w", head.Number, err)
	}
	if len(bal) != len(w.tokens) {
		return fmt.Errorf("balances at block %d: %d token rows for %d tokens", head.Number, len(bal), len(w.tokens))
	}
	// The balances were read by number: make sure that number still means the block we hashed.
	if readHash != head.Hash {
		return fmt.Errorf("block %d changed while its balances were read (%s → %s); re-reading next round", head.Number, head.Hash.Hex(), readHash.Hex())
	}

	for i, p := range plans {
		snap := w.snapshot(p, head, now, bal, i)
		if err := snap.Validate(); err != nil {
			return fmt.Errorf("built an invalid snapshot: %w", err)
		}
		dup, err := w.stream.Publish(ctx, snap)
		if err != nil {
			return fmt.Errorf("publish snapshot %s: %w", snap.ID, err)
		}
		if dup {
			w.m.dupes.WithLabelValues(string(w.loc)).Inc()
		} else {
			w.m.published.WithLabelValues(string(w.loc)).Inc()
		}
		w.log.Debug().Str("account", p.acct.Hex()).Uint64("from", snap.Range.From).Uint64("to", snap.Range.To).Bool("duplicate", dup).Msg("snapshot published")
		w.cursors[p.acct] = &cursor{known: true, to: head.Number, hash: head.Hash, at: now}
	}
	w.remember(head)
	w.m.head.WithLabelValues(string(w.loc)).Set(float64(head.Number))
	w.health.ok(w.loc, now)
	return nil
}

// forkPoint finds the newest published height below the reorged one whose hash still holds; the
// re-read starts there. Without one, it starts MaxReorgDepth below.
func (w *chainWatcher) forkPoint(reorged uint64, hashAt func(uint64) (common.Hash, error)) (uint64, error) {
	for i := len(w.history) - 1; i >= 0; i-- {
		ref := w.history[i]
		if ref.Number >= reorged {
			continue
		}
		h, err := hashAt(ref.Number)
		if err != nil {
			return 0, err
		}
		if h == ref.Hash {
			w.history = w.history[:i+1]
			return ref.Number, nil
		}
	}
	w.history = w.history[:0]
	if reorged > w.opts.MaxReorgDepth {
		return reorged - w.opts.MaxReorgDepth, nil
	}
	return 0, nil
}

func (w *chainWatcher) remember(ref BlockRef) {
	if n := len(w.history); n > 0 && w.history[n-1].Number >= ref.Number {
		// Replace entries at or above ref (a re-read after a reorg).
		i := n
		for i > 0 && w.history[i-1].Number >= ref.Number {
			i--
		}
		w.history = w.history[:i]
	}
	w.history = append(w.history, ref)
	if len(w.history) > historyCap {
		w.history = w.history[len(w.history)-historyCap:]
	}
}

func (w *chainWatcher) snapshot(p plan, head BlockRef, now time.Time, bal [][]*big.Int, col int) *events.BalanceSnapshot {
	balances := make([]events.TokenBalance, len(w.cfg.Tokens))
	for i, t := range w.cfg.Tokens {
		balances[i] = events.TokenBalance{Token: t.Symbol, Address: t.Address.Hex(), Amount: events.NewAmount(bal[i][col]), Decimals: t.Decimals}
	}
	s := &events.BalanceSnapshot{
		Meta:      events.NewMeta(events.TypeBalanceSnapshot, "", "", "balancewatcher", now),
		Location:  w.loc,
		Account:   p.acct.Hex(),
		Range:     &events.BlockRange{From: p.from, To: head.Number},
		BlockHash: head.Hash.Hex(),
		Reorg:     p.reorg,
		Balances:  balances,
	}
	s.ID = s.MsgID()
	return s
}

// errStale is what readiness reports for a location that has not been read recently.
var errStale = errors.New("stale")

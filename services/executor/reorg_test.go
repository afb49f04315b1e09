package executor

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// reorgWatcher publishes BalanceSnapshots per chain at its head, as the balance watcher does,
// including its reorg discipline: when the hash of the last published height changed, the next
// snapshot carries a Reorg marker and its range starts at the newest published height whose hash
// still holds. Holding mu pauses it (for chain surgery a snapshot must not see half of).
type reorgWatcher struct {
	h         *harness
	mu        sync.Mutex
	published map[uint64]map[uint64]common.Hash
	last      map[uint64]uint64
	reorgs    int
}

func (h *harness) watchReorgs(ctx context.Context, period time.Duration) *reorgWatcher {
	w := &reorgWatcher{h: h, published: map[uint64]map[uint64]common.Hash{}, last: map[uint64]uint64{}}
	for _, id := range testChains {
		w.published[id] = map[uint64]common.Hash{}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			w.tick(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	h.t.Cleanup(func() { cancel(); <-done })
	return w
}

func (w *reorgWatcher) tick(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.h
	for _, id := range testChains {
		head := h.chains[id].Head()
		last := w.last[id]
		if head < last {
			continue // behind what was published: wait, as the watcher does
		}
		from := last
		var reorg *events.Reorg
		if last != 0 {
			cur, err := h.clients[id].BlockHash(ctx, last)
			if err != nil {
				continue
			}
			if old := w.published[id][last]; cur != old {
				from = 0
				heights := make([]uint64, 0, len(w.published[id]))
				for n := range w.published[id] {
					heights = append(heights, n)
				}
				sort.Slice(heights, func(i, j int) bool { return heights[i] > heights[j] })
				for _, n := range heights {
					if n >= last {
						continue
					}
					if hn, err := h.clients[id].BlockHash(ctx, n); err == nil && hn == w.published[id][n] {
						from = n
						break
					}
				}
				for n := range w.published[id] {
					if n > from {
						delete(w.published[id], n)
					}
				}
				reorg = &events.Reorg{Height: last, OldHash: old.Hex(), NewHash: cur.Hex()}
			} else if head == last {
				continue
			}
		}
		hash, err := h.clients[id].BlockHash(ctx, head)
		if err != nil {
			continue
		}
		snap := &events.BalanceSnapshot{Location: events.ChainLocation(id), Account: h.account.Hex(),
			Range: &events.BlockRange{From: from, To: head}, BlockHash: hash.Hex(), Reorg: reorg, Balances: []events.TokenBalance{}}
		snap.Meta = events.NewMeta(events.TypeBalanceSnapshot, snap.MsgID(), "", "balancewatcher", time.Now())
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = h.pub.Publish(pctx, snap)
		cancel()
		if err != nil {
			continue
		}
		if reorg != nil {
			w.reorgs++
		}
		w.published[id][head] = hash
		w.last[id] = head
	}
}

// setHead rewinds the chain to block n, discarding the blocks above it and their transactions (the
// node's own debug_setHead: unlike Reorg, nothing returns to the pool), so a transaction mined
// there is gone from the canonical chain until someone broadcasts it again.
func (h *harness) setHead(id, n uint64) {
	h.t.Helper()
	err := h.chains[id].Client().Client().CallContext(context.Background(), nil, "debug_setHead", hexutil.Uint64(n))
	require.NoError(h.t, err)
	require.Equal(h.t, n, h.chains[id].Head())
}

// asOf reads the chain's asOf from the ledger.
func (h *harness) asOf(id uint64) uint64 {
	lkey, _ := pending.LedgerKey(h.account.Hex())
	v, _ := h.rdb.HGet(context.Background(), lkey, pending.AsOfField(id)).Uint64()
	return v
}

// conservationFrom checks DESIGN §8's invariant on chain id at every block from lo to its asOf (the
// other chains at their asOf): balances at the block + the legs in effect there = inventory − fees.
func (h *harness) conservationFrom(ctx context.Context, id, lo uint64) error {
	lkey, _ := pending.LedgerKey(h.account.Hex())
	fields, err := h.rdb.HGetAll(ctx, lkey).Result()
	if err != nil {
		return err
	}
	base, err := pending.Parse(h.account.Hex(), fields, nil)
	if err != nil {
		return err
	}
	fees := new(big.Int)
	h.mu.Lock()
	for iid, it := range h.intents {
		for f := range fields {
			if len(f) > len(iid) && f[:len(iid)] == iid && f[len(iid)] == ':' {
				in := new(big.Int).Mul(it.AmountIn.Big(), pow10(18-it.Route.SrcDecimals))
				out := new(big.Int).Mul(it.MinAmountOut.Big(), pow10(18-it.Route.DstDecimals))
				fees.Add(fees, in.Sub(in, out))
				break
			}
		}
	}
	h.mu.Unlock()
	asOf := base.Chains[id].AsOf
	for b := lo; b <= asOf; b++ {
		view, err := pending.Parse(h.account.Hex(), fields, map[uint64]uint64{id: b})
		if err != nil {
			return err
		}
		total, initial := new(big.Int), new(big.Int)
		for _, c := range testChains {
			at := view.Chains[c].Block
			if view.Chains[c].Ahead {
				return fmt.Errorf("chain %d read ahead at %d", c, at)
			}
			for _, tok := range h.chains[c].Tokens() {
				bal, err := h.clients[c].BalanceOf(ctx, at, tok.Address, h.account)
				if err != nil {
					return err
				}
				if tt, ok := view.Total(c, tok.Symbol); ok {
					bal.Add(bal, tt.Amount)
				}
				total.Add(total, bal.Mul(bal, pow10(18-tok.Decimals)))
				initial.Add(initial, new(big.Int).Mul(big.NewInt(initialTokens), pow10(18)))
			}
		}
		if want := new(big.Int).Sub(initial, fees); total.Cmp(want) != 0 {
			return fmt.Errorf("chain %d block %d (asOf %d): chains+legs = %s, inventory−fees = %s (diff %s)",
				id, b, asOf, total, want, new(big.Int).Sub(total, want))
		}
	}
	return nil
}

// reorgWorld is an executor with a running watcher, after an intent's deposit (or landing) was
// recorded and asOf passed it.
type reorgWorld struct {
	h  *harness
	w  *reorgWatcher
	it *events.RebalanceIntent
}

func newReorgWorld(t *testing.T, hold bool) *reorgWorld {
	h := newHarness(t)
	h.venue.lookupLag = 0
	h.venue.holdDeposits.Store(hold)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// Empty blocks first, so that a deposit or a landing re-mined at the fork block moves.
	for _, id := range testChains {
		for range 3 {
			h.chains[id].Commit()
		}
	}
	w := h.watchReorgs(ctx, 30*time.Millisecond)
	h.start(h.cfg, nil)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 600)
	h.publish(it)
	return &reorgWorld{h: h, w: w, it: it}
}

// waitRecord waits until the intent's record satisfies ok, and returns it.
func (rw *reorgWorld) waitRecord(what string, ok func(*Record) bool) *Record {
	rw.h.t.Helper()
	var rec *Record
	require.Eventually(rw.h.t, func() bool {
		r, _, err := rw.h.record(rw.it.ID)
		if err == nil && ok(r) {
			rec = r
			return true
		}
		return false
	}, 30*time.Second, 20*time.Millisecond, what)
	if rec == nil {
		r, v, err := rw.h.record(rw.it.ID)
		rw.h.t.Fatalf("%s: record at version %d: %+v (%v)", what, v, r, err)
	}
	return rec
}

func (rw *reorgWorld) waitAsOf(id, block uint64) {
	rw.h.t.Helper()
	require.Eventually(rw.h.t, func() bool { return rw.h.asOf(id) >= block }, 30*time.Second, 20*time.Millisecond,
		"asOf on chain %d reaches %d", id, block)
}

func TestReorgMovesOrDropsRecordedDeposit(t *testing.T) {
	tests := []struct {
		name string
		// reorg rewrites the chain around the deposit mined at n; it returns the block the deposit
		// is expected at afterwards, 0 when the executor must rebroadcast it.
		reorg   func(rw *reorgWorld, n uint64, raw *types.Transaction) uint64
		rebcast bool
	}{
		{
			name: "re-mined at an earlier block by a reorg",
			reorg: func(rw *reorgWorld, n uint64, _ *types.Transaction) uint64 {
				c := rw.h.chains[simchain.Base]
				_, err := c.Reorg(c.Head() - (n - 3)) // fork at n-3: the pool's copy is mined at n-2
				require.NoError(rw.h.t, err)
				return n - 2
			},
		},
		{
			name: "re-mined at a later block",
			reorg: func(rw *reorgWorld, n uint64, raw *types.Transaction) uint64 {
				c := rw.h.chains[simchain.Base]
				head := c.Head()
				rw.h.setHead(simchain.Base, n-1)
				for c.Head() < head+2 {
					c.Commit()
				}
				require.NoError(rw.h.t, c.Client().SendTransaction(context.Background(), raw)) // the same bytes, from a peer's pool
				require.Eventually(rw.h.t, func() bool {
					_, err := rw.h.clients[simchain.Base].Receipt(context.Background(), raw.Hash())
					return err == nil
				}, 10*time.Second, 10*time.Millisecond)
				rcpt, err := rw.h.clients[simchain.Base].Receipt(context.Background(), raw.Hash())
				require.NoError(rw.h.t, err)
				require.Greater(rw.h.t, rcpt.BlockNumber.Uint64(), head)
				return rcpt.BlockNumber.Uint64()
			},
		},
		{
			name: "dropped: the executor rebroadcasts the same bytes",
			reorg: func(rw *reorgWorld, n uint64, _ *types.Transaction) uint64 {
				c := rw.h.chains[simchain.Base]
				head := c.Head()
				rw.h.setHead(simchain.Base, n-1)
				for c.Head() < head+1 {
					c.Commit()
				}
				return 0
			},
			rebcast: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rw := newReorgWorld(t, true)
			h := rw.h
			ctx := context.Background()
			mined := rw.waitRecord("deposit mined", func(r *Record) bool { return r.State == events.StateDepositMined })
			n := mined.Deposit.Block
			require.Equal(t, n, mined.leg(legSrc).UntilBlock)
			rw.waitAsOf(simchain.Base, n)
			require.NoError(t, h.conservationFrom(ctx, simchain.Base, n-3))
			_, v0, err := h.record(rw.it.ID)
			require.NoError(t, err)
			txr, ok, err := (&txStore{rdb: h.rdb, account: h.account.Hex()}).LoadTx(ctx, mined.depositStepKey())
			require.NoError(t, err)
			require.True(t, ok)
			raw := new(types.Transaction)
			require.NoError(t, raw.UnmarshalBinary(txr.Raw))

			rw.w.mu.Lock()
			want := tc.reorg(rw, n, raw)
			rw.w.mu.Unlock()

			var rec *Record
			if tc.rebcast {
				// Gone: back to deposit_signed, rebroadcast, mined again: the same transaction.
				rec = rw.waitRecord("deposit mined again", func(r *Record) bool {
					return r.State == events.StateDepositMined && r.Deposit.Block != 0 && r.Deposit.Block != n
				})
				rcpt, err := h.clients[simchain.Base].Receipt(ctx, txr.Hash)
				require.NoError(t, err, "the same signed transaction is on chain again")
				want = rcpt.BlockNumber.Uint64()
				var states []events.State
				for _, u := range h.updates(rw.it.ID) {
					states = append(states, u.State)
				}
				require.Contains(t, states[1:], events.StateDepositSigned, "the intent went back to deposit_signed: %v", states)
			} else {
				rec = rw.waitRecord("deposit block re-verified", func(r *Record) bool { return r.leg(legSrc).UntilBlock == want })
				require.Equal(t, events.StateDepositMined, rec.State)
			}
			require.NotEqual(t, n, want)
			require.Equal(t, want, rec.Deposit.Block)
			require.Equal(t, want, rec.leg(legSrc).UntilBlock)
			require.Equal(t, txr.Hash.Hex(), rec.Deposit.TxHash, "never a new signature")
			stored, _, err := (&txStore{rdb: h.rdb, account: h.account.Hex()}).LoadTx(ctx, mined.depositStepKey())
			require.NoError(t, err)
			require.Equal(t, txr.Raw, stored.Raw)
			_, v1, err := h.record(rw.it.ID)
			require.NoError(t, err)
			require.Greater(t, v1, v0, "the record's version was bumped")
			// The ledger leg says so, and the update published says so.
			for _, l := range h.legs(rw.it.ID) {
				if l.Name == legSrc {
					require.Equal(t, want, l.UntilBlock)
				}
			}
			require.Eventually(t, func() bool {
				us := h.updates(rw.it.ID)
				return len(us) > 0 && us[len(us)-1].Refs["depositBlock"] == fmt.Sprint(want)
			}, 10*time.Second, 20*time.Millisecond, "an ExecutionUpdate carries the new block")

			// asOf passes the new block again, and the books balance at every block up to it.
			rw.waitAsOf(simchain.Base, max(want, h.chains[simchain.Base].Head()))
			require.NoError(t, h.conservationFrom(ctx, simchain.Base, n-3))
			require.Positive(t, rw.w.reorgs)
			// Released, the intent completes with the venue crediting the deposit once.
			h.venue.holdDeposits.Store(false)
			require.Equal(t, events.StateCompleted, h.waitTerminal([]string{rw.it.ID}, 30*time.Second)[rw.it.ID].State)
			h.venue.mu.Lock()
			require.Len(t, h.venue.credited, 1)
			h.venue.mu.Unlock()
			rw.waitAsOf(simchain.BSC, h.chains[simchain.BSC].Head())
			require.NoError(t, h.conservation(ctx))
		})
	}
}

func TestReorgMovesOrDropsRecordedLanding(t *testing.T) {
	tests := []struct {
		name  string
		reorg func(rw *reorgWorld, n uint64, raw *types.Transaction) uint64
	}{
		{
			name: "re-mined at an earlier block by a reorg",
			reorg: func(rw *reorgWorld, n uint64, _ *types.Transaction) uint64 {
				c := rw.h.chains[simchain.BSC]
				_, err := c.Reorg(c.Head() - (n - 3))
				require.NoError(rw.h.t, err)
				return n - 2
			},
		},
		{
			name: "dropped, then sent again by the venue at a later block",
			reorg: func(rw *reorgWorld, n uint64, raw *types.Transaction) uint64 {
				h := rw.h
				c := h.chains[simchain.BSC]
				head := c.Head()
				h.setHead(simchain.BSC, n-1)
				for c.Head() < head+1 {
					c.Commit()
				}
				rw.w.mu.Unlock()
				// The executor sees the landing gone: the credit is in effect again.
				rw.waitRecord("landing gone", func(r *Record) bool { return r.leg(legDst).UntilBlock == 0 })
				require.NoError(h.t, h.conservationFrom(context.Background(), simchain.BSC, n-3))
				rw.w.mu.Lock()
				require.NoError(h.t, c.Client().SendTransaction(context.Background(), raw))
				require.Eventually(h.t, func() bool {
					_, err := h.clients[simchain.BSC].Receipt(context.Background(), raw.Hash())
					return err == nil
				}, 10*time.Second, 10*time.Millisecond)
				rcpt, err := h.clients[simchain.BSC].Receipt(context.Background(), raw.Hash())
				require.NoError(h.t, err)
				return rcpt.BlockNumber.Uint64()
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rw := newReorgWorld(t, false)
			h := rw.h
			ctx := context.Background()
			require.Equal(t, events.StateCompleted, h.waitTerminal([]string{rw.it.ID}, 30*time.Second)[rw.it.ID].State)
			done, v0, err := h.record(rw.it.ID)
			require.NoError(t, err)
			n := done.Withdraw.Block
			require.Equal(t, n, done.leg(legDst).UntilBlock)
			rw.waitAsOf(simchain.BSC, n)
			require.NoError(t, h.conservationFrom(ctx, simchain.BSC, n-3))
			raw, _, err := h.chains[simchain.BSC].Client().TransactionByHash(ctx, common.HexToHash(done.Withdraw.TxHash))
			require.NoError(t, err)

			rw.w.mu.Lock()
			want := tc.reorg(rw, n, raw)
			rw.w.mu.Unlock()
			require.NotEqual(t, n, want)

			rec := rw.waitRecord("landing re-verified", func(r *Record) bool { return r.leg(legDst).UntilBlock == want })
			require.Equal(t, events.StateCompleted, rec.State)
			require.Equal(t, want, rec.Withdraw.Block)
			require.Equal(t, done.Withdraw.Landed.String(), rec.Withdraw.Landed.String())
			_, v1, err := h.record(rw.it.ID)
			require.NoError(t, err)
			require.Greater(t, v1, v0)
			rw.waitAsOf(simchain.BSC, max(want, h.chains[simchain.BSC].Head()))
			require.NoError(t, h.conservationFrom(ctx, simchain.BSC, n-3))
			require.Eventually(t, func() bool {
				us := h.updates(rw.it.ID)
				return len(us) > 0 && us[len(us)-1].Refs["landedBlock"] == fmt.Sprint(want)
			}, 10*time.Second, 20*time.Millisecond)
			require.Equal(t, 1, h.venue.createdCount("withdraw", rw.it.ID), "one withdrawal")
		})
	}
}

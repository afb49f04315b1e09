package executor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// killAt returns a fault hook that kills the instance at the first visit of point.
func killAt(point string) func(*instance, string) error {
	return func(in *instance, p string) error {
		if p == point {
			return in.kill()
		}
		return nil
	}
}

func TestAsOfWaitsForUnrecordedMiningAndLanding(t *testing.T) {
	tests := []struct {
		name  string
		point string
		chain func(*events.RebalanceIntent) uint64
		tx    func(*harness, *Record) common.Hash
	}{
		{
			name: "deposit mined, not recorded", point: "record:deposit_mined:before",
			chain: func(it *events.RebalanceIntent) uint64 { return it.Route.SrcChain },
			tx:    func(_ *harness, r *Record) common.Hash { return common.HexToHash(r.Deposit.TxHash) },
		},
		{
			name: "withdrawal landed, venue answer lost", point: "effect:withdraw:after",
			chain: func(it *events.RebalanceIntent) uint64 { return it.Route.DstChain },
			tx: func(h *harness, r *Record) common.Hash {
				w, err := h.venue.FindWithdrawal(context.Background(), r.Intent.ID, stepWithdraw)
				require.NoError(h.t, err)
				return common.HexToHash(w.TxHash)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.venue.lookupLag = 0
			in := h.start(h.cfg, killAt(tc.point))
			it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 600)
			h.publish(it)
			<-in.done
			in.stop(t)

			r, _, err := h.record(it.ID)
			require.NoError(t, err)
			rcpt, err := h.clients[tc.chain(it)].Receipt(context.Background(), tc.tx(h, r))
			require.NoError(t, err, "the transaction is on chain")
			block := rcpt.BlockNumber.Uint64()

			e, err := New(h.cfg, h.deps(h.pub))
			require.NoError(t, err)
			account := strings.ToLower(h.account.Hex())
			ctx := context.Background()
			require.ErrorIs(t, e.recordedThrough(ctx, account, tc.chain(it), block), ErrNotRecorded,
				"a reader at the block would see what the ledger does not record")
			require.NoError(t, e.recordedThrough(ctx, account, tc.chain(it), block-1), "below it, the ledger is exact")

			// A running executor records it; then asOf may pass the block.
			h.start(h.cfg, nil)
			h.waitTerminal([]string{it.ID}, 30*time.Second)
			require.NoError(t, e.recordedThrough(ctx, account, tc.chain(it), block))
		})
	}
}

func TestCompletedLegsAreCollectedAfterRetention(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)
	cfg := h.cfg
	cfg.GC = pending.GCPolicy{Retention: 200 * time.Millisecond}
	h.start(cfg, nil)
	done := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 600)
	h.publish(done)
	require.Equal(t, events.StateCompleted, h.waitTerminal([]string{done.ID}, 30*time.Second)[done.ID].State)

	// A stuck intent keeps its legs, whatever the retention.
	h.venue.holdDeposits.Store(true)
	stuck := h.intent(simchain.BSC, "USDT", simchain.Base, "USDT", 300)
	h.publish(stuck)
	require.Eventually(t, func() bool {
		r, _, err := h.record(stuck.ID)
		return err == nil && r.State == events.StateDepositMined
	}, 30*time.Second, 20*time.Millisecond)

	require.Eventually(t, func() bool { return len(h.legs(done.ID)) == 0 }, 30*time.Second, 20*time.Millisecond,
		"settled legs leave after retention once asOf has passed them")
	require.Eventually(t, func() bool {
		n, err := h.rdb.SCard(ctx, doneKey(h.account.Hex())).Result()
		return err == nil && n == 0
	}, 10*time.Second, 20*time.Millisecond)
	require.Len(t, h.legs(stuck.ID), 2, "funds in flight are never collected")
	_, _, err := h.record(done.ID)
	require.NoError(t, err, "the record stays: it keeps a replayed intent a no-op")
}

package executor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// terminal waits until every listed intent is terminal and returns their records.
func (h *harness) waitTerminal(ids []string, within time.Duration) map[string]*Record {
	h.t.Helper()
	terminal := func() bool {
		for _, id := range ids {
			r, _, err := h.record(id)
			if err != nil || !r.State.Terminal() {
				return false
			}
		}
		return true
	}
	require.Eventually(h.t, terminal, within, 20*time.Millisecond)
	out := map[string]*Record{}
	for _, id := range ids {
		r, _, err := h.record(id)
		require.NoError(h.t, err)
		out[id] = r
	}
	return out
}

func TestBinanceRoutesComplete(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 50*time.Millisecond)
	h.start(h.cfg, nil)

	tests := []struct {
		name     string
		src, dst uint64
		from, to string
		whole    int64
	}{
		{"usdc base to usdt bsc (trade, 6→18 decimals)", simchain.Base, simchain.BSC, "USDC", "USDT", 1234},
		{"usdt bsc to usdt base (same asset, 18→6)", simchain.BSC, simchain.Base, "USDT", "USDT", 777},
		{"usdt base to usdc bsc (trade)", simchain.Base, simchain.BSC, "USDT", "USDC", 250},
	}
	var ids []string
	for _, tc := range tests {
		it := h.intent(tc.src, tc.from, tc.dst, tc.to, tc.whole)
		h.publish(it)
		ids = append(ids, it.ID)
	}
	recs := h.waitTerminal(ids, 60*time.Second)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := recs[ids[i]]
			require.Equal(t, events.StateCompleted, r.State, "error: %s", r.Error)
			wantOrders := 1
			if tc.from == tc.to {
				wantOrders = 0
			}
			require.Equal(t, wantOrders, h.venue.createdCount("order", ids[i]))
			require.Equal(t, 1, h.venue.createdCount("withdraw", ids[i]))
			src, dst := r.leg(legSrc), r.leg(legDst)
			require.Equal(t, r.Deposit.Block, src.UntilBlock)
			require.NotZero(t, src.UntilBlock)
			require.Equal(t, r.Withdraw.Block, dst.UntilBlock)
			require.Equal(t, r.Intent.MinAmountOut.String(), dst.Amount.String(), "realized equals the exact expectation")
			require.Equal(t, r.Withdraw.Landed.String(), dst.Amount.String())
		})
	}
	// The ledger's legs match the records, and asOf catches up with the heads.
	require.Eventually(t, func() bool {
		v, err := pending.NewReader(h.rdb).Read(ctx, h.account.Hex(), nil)
		if err != nil {
			return false
		}
		for _, id := range testChains {
			if v.Chains[id].AsOf < h.chains[id].Head() {
				return false
			}
		}
		return true
	}, 20*time.Second, 20*time.Millisecond)
	require.NoError(t, h.conservation(ctx))
}

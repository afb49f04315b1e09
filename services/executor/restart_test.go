package executor

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// TestNATSAndRedisRestartsMidRun restarts NATS and Redis (AOF, killed with SIGKILL) while intents
// run and the venue fails a fifth of its calls: every intent completes, nothing is done twice,
// and conservation holds after every recorded step that could be checked.
func TestNATSAndRedisRestartsMidRun(t *testing.T) {
	h := newHarness(t, withAOF())
	h.venue.setFaultRate(0.2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)

	var tally checkTally
	hook := func(in *instance, p string) error {
		tally.afterRecord(h, p)
		return nil
	}
	in := h.start(h.cfg, hook)
	var ids []string
	for i := 0; i < 6; i++ {
		it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", int64(400+i))
		h.publish(it)
		ids = append(ids, it.ID)
		it = h.intent(simchain.BSC, "USDT", simchain.Base, "USDT", int64(250+i))
		h.publish(it)
		ids = append(ids, it.ID)
	}
	c := &chaos{h: h}
	natsRestarts, redisRestarts := 0, 0
	tick := time.NewTicker(400 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(3 * time.Minute)
	for !c.allTerminal(ids) {
		require.True(t, time.Now().Before(deadline), "intents not terminal in time")
		<-tick.C
		switch {
		case natsRestarts < 3 && natsRestarts <= redisRestarts:
			require.NoError(t, h.nats.Restart())
			natsRestarts++
		case redisRestarts < 3:
			rctx, rcancel := context.WithTimeout(context.Background(), 15*time.Second)
			require.NoError(t, h.redis.Server.Restart(rctx))
			rcancel()
			redisRestarts++
		}
	}
	in.stop(t)
	for _, id := range ids {
		r, _, err := h.record(id)
		require.NoError(t, err)
		require.Equal(t, events.StateCompleted, r.State, r.Error)
		require.LessOrEqual(t, h.venue.createdCount("order", id), 1)
		require.Equal(t, 1, h.venue.createdCount("withdraw", id))
	}
	require.Eventually(t, func() bool { return h.conservation(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
	require.Zero(t, tally.violations.Load(), "%v", tally.firstErr.Load())
	require.Positive(t, natsRestarts+redisRestarts)
	t.Logf("restarts: nats %d, redis %d; intents %d; venue faults %d; checks %d; violations %d",
		natsRestarts, redisRestarts, len(ids), h.venue.faultCount(), tally.checks.Load(), tally.violations.Load())
}

// TestHyperliquidNATSAndRedisRestartsMidRun is TestNATSAndRedisRestartsMidRun on the Hyperliquid
// route: intents of every Hyperliquid route run through the real adapter and the simulator, which
// fails a fifth of all requests, while NATS and Redis (AOF, SIGKILL) restart three times each.
// Every intent completes, the simulator's record shows at most one order and exactly one
// withdrawal per intent, and conservation, the venue's unattributed balances included, holds after
// every recorded step that could be read.
func TestHyperliquidNATSAndRedisRestartsMidRun(t *testing.T) {
	h, w := newHLHarness(t, withAOF())
	w.sim.SetFaultRate(0.2, 13)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)

	var tally checkTally
	hook := func(in *instance, p string) error {
		tally.afterRecord(h, p)
		return nil
	}
	in := h.start(h.cfg, hook)
	var ids []string
	for i := 0; i < 2; i++ {
		for j, r := range hlRoutes {
			it := h.hlIntent(r.src, r.from, r.dst, r.to, r.whole+int64(10*i+j))
			h.publish(it)
			ids = append(ids, it.ID)
		}
	}
	c := &chaos{h: h}
	natsRestarts, redisRestarts := 0, 0
	tick := time.NewTicker(400 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(4 * time.Minute)
	for !c.allTerminal(ids) {
		require.True(t, time.Now().Before(deadline), "intents not terminal in time")
		<-tick.C
		switch {
		case natsRestarts < 3 && natsRestarts <= redisRestarts:
			require.NoError(t, h.nats.Restart())
			natsRestarts++
		case redisRestarts < 3:
			rctx, rcancel := context.WithTimeout(context.Background(), 15*time.Second)
			require.NoError(t, h.redis.Server.Restart(rctx))
			rcancel()
			redisRestarts++
		}
	}
	in.stop(t)
	duplicates := 0
	for _, id := range ids {
		r, _, err := h.record(id)
		require.NoError(t, err)
		require.Equal(t, events.StateCompleted, r.State, "%s: %s (funds at %s)", id, r.Error, r.FundsAt)
		cloid := strings.ToLower(hyperliquid.Cloid(id+"/"+stepOrder, 0))
		orders := w.sim.Count(hlsim.EvOrder, h.account, cloid)
		nonce, err := strconv.ParseUint(r.Withdraw.VenueID, 10, 64)
		require.NoError(t, err)
		wds := w.sim.CountNonce(hlsim.EvWithdraw, h.account, nonce) + w.sim.CountNonce(hlsim.EvSpotSend, h.account, nonce)
		if orders > 1 || wds != 1 {
			duplicates++
		}
		require.LessOrEqual(t, orders, 1, "orders of %s", id)
		require.Equal(t, 1, wds, "withdrawals of %s", id)
	}
	require.Equal(t, len(ids), w.sim.Count(hlsim.EvWithdraw, h.account, "")+w.sim.Count(hlsim.EvSpotSend, h.account, ""))
	require.Eventually(t, func() bool { return h.conservation(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
	require.Zero(t, tally.violations.Load(), "%v", tally.firstErr.Load())
	require.Equal(t, 3, natsRestarts)
	require.Equal(t, 3, redisRestarts)
	t.Logf("hyperliquid restarts: nats %d, redis %d; intents %d; venue faults %d; checks %d (venue-inclusive %d, re-read %d); duplicates %d; violations %d",
		natsRestarts, redisRestarts, len(ids), w.sim.Count(hlsim.EvFault, common.Address{}, ""), tally.checks.Load(), h.venueChecks.Load(),
		h.retries.Load(), duplicates, tally.violations.Load())
}

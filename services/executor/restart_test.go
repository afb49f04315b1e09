package executor

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
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

	var checks, violations atomic.Int64
	var firstErr atomic.Value
	hook := func(in *instance, p string) error {
		if strings.HasPrefix(p, "record:") && strings.HasSuffix(p, ":after") {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := h.conservation(cctx); err != nil {
				if strings.Contains(err.Error(), "conservation violated") {
					violations.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			} else {
				checks.Add(1)
			}
		}
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
	require.Zero(t, violations.Load(), "%v", firstErr.Load())
	require.Positive(t, natsRestarts+redisRestarts)
	t.Logf("restarts: nats %d, redis %d; intents %d; venue faults %d; checks %d; violations %d",
		natsRestarts, redisRestarts, len(ids), h.venue.faultCount(), checks.Load(), violations.Load())
}

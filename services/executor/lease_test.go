package executor

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// clock is a settable clock for lease tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestLeaseFencingAndLoss(t *testing.T) {
	rdb := testenv.StartRedis(t).Client(t)
	ctx := context.Background()
	account := strings.ToLower(simchain.DevAddress(testenv.UniqueName("acct")).Hex())
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	log := testLogger(t)
	a := newLease(rdb, account, "binance", "replica-a", time.Second, clk.Now, log)
	b := newLease(rdb, account, "binance", "replica-b", time.Second, clk.Now, log)

	require.True(t, a.tryOnce(ctx))
	fa, ok := a.Held()
	require.True(t, ok)
	require.False(t, b.tryOnce(ctx), "one holder at a time")
	_, ok = b.Held()
	require.False(t, ok)
	lost := a.Lost()

	// a's clock passes its validity without a renewal: it stops before the key can expire.
	clk.Advance(800 * time.Millisecond)
	_, ok = a.Held()
	require.False(t, ok, "held only until TTL minus the margin after the last renewal")
	clk.Advance(-800 * time.Millisecond)
	require.True(t, a.tryOnce(ctx), "renewal extends it")

	// The key vanishes (it expired while a was stalled) and b takes over with a newer fence.
	require.NoError(t, rdb.Del(ctx, leaseKey(account, "binance")).Err())
	require.True(t, b.tryOnce(ctx))
	fb, ok := b.Held()
	require.True(t, ok)
	require.Greater(t, fb, fa, "fencing tokens increase")
	require.False(t, a.tryOnce(ctx), "a's renewal fails")
	_, ok = a.Held()
	require.False(t, ok)
	select {
	case <-lost:
	default:
		t.Fatal("losing the lease closes Lost, which cancels side effects in flight")
	}

	// A graceful release lets the other take over at once.
	b.Release(ctx)
	require.True(t, a.tryOnce(ctx))
}

// TestTwoReplicasOneWriter runs two executors side by side while one or the other is killed at
// random points and replaced: side effects of the (venue, account) never overlap, the replica
// that takes over repeats no step, and everything completes once.
func TestTwoReplicasOneWriter(t *testing.T) {
	h := newHarness(t)
	h.venue.setFaultRate(0.1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)

	var (
		mu      sync.Mutex
		inside  = map[*instance]string{}
		overlap atomic.Int64
	)
	c := newChaos(h, 11, 0.04)
	hook := func(in *instance, p string) error {
		if strings.HasPrefix(p, "effect:") {
			mu.Lock()
			if strings.HasSuffix(p, ":before") {
				for other, what := range inside {
					if other != in && !other.killed.Load() {
						overlap.Add(1)
						t.Errorf("side effect %s while another replica is inside %s", p, what)
					}
				}
				inside[in] = p
			} else {
				delete(inside, in)
			}
			mu.Unlock()
		}
		err := c.hook(in, p)
		if err != nil {
			mu.Lock()
			delete(inside, in)
			mu.Unlock()
		}
		return err
	}
	var ids []string
	for i := 0; i < 6; i++ {
		it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", int64(300+i))
		h.publish(it)
		ids = append(ids, it.ID)
		it = h.intent(simchain.BSC, "USDT", simchain.Base, "USDT", int64(200+i))
		h.publish(it)
		ids = append(ids, it.ID)
	}
	running := []*instance{h.start(h.cfg, hook), h.start(h.cfg, hook)}
	deadline := time.Now().Add(3 * time.Minute)
	for !c.allTerminal(ids) {
		require.True(t, time.Now().Before(deadline), "intents not terminal in time")
		// Replace a dead replica as soon as it dies; look at the intents at least every 50ms.
		select {
		case <-running[0].done:
			running[0].stop(t)
			running[0] = h.start(h.cfg, hook)
		case <-running[1].done:
			running[1].stop(t)
			running[1] = h.start(h.cfg, hook)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, in := range running {
		in.stop(t)
	}
	for _, id := range ids {
		r, _, err := h.record(id)
		require.NoError(t, err)
		require.Equal(t, events.StateCompleted, r.State, r.Error)
		require.LessOrEqual(t, h.venue.createdCount("order", id), 1)
		require.Equal(t, 1, h.venue.createdCount("withdraw", id))
	}
	require.Zero(t, overlap.Load())
	require.Zero(t, c.violations.Load(), "%v", c.firstErr.Load())
	t.Logf("two replicas: intents %d, kills %d, overlaps %d", len(ids), c.kills.Load(), overlap.Load())
}

package executor

import (
	"context"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// chaos kills executor instances at fault points and checks the conservation invariant after
// every recorded step.
type chaos struct {
	h          *harness
	mu         sync.Mutex
	rng        *rand.Rand
	killedAt   map[string]int
	seen       map[string]bool
	randomRate float64
	// checkConservation checks the invariant after every recorded step (exact only with the test
	// venue, whose amounts the harness knows in advance).
	checkConservation bool
	kills             atomic.Int64
	checks            atomic.Int64
	violations        atomic.Int64
	firstErr          atomic.Value
}

func newChaos(h *harness, seed uint64, randomRate float64) *chaos {
	return &chaos{h: h, rng: rand.New(rand.NewPCG(seed, 99)), killedAt: map[string]int{}, seen: map[string]bool{}, randomRate: randomRate,
		checkConservation: true}
}

func (c *chaos) hook(in *instance, point string) error {
	if c.checkConservation && strings.HasPrefix(point, "record:") && strings.HasSuffix(point, ":after") {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.h.conservation(ctx)
		cancel()
		c.checks.Add(1)
		if err != nil {
			c.violations.Add(1)
			c.firstErr.CompareAndSwap(nil, err.Error()+" at "+point)
		}
	}
	c.mu.Lock()
	first := !c.seen[point]
	c.seen[point] = true
	random := c.rng.Float64() < c.randomRate
	if first || random {
		c.killedAt[point]++
	}
	c.mu.Unlock()
	if first || random {
		c.kills.Add(1)
		return in.kill()
	}
	return nil
}

// run restarts instances until every intent is terminal.
func (c *chaos) run(t *testing.T, cfg Config, ids []string, within time.Duration) (rounds int) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		rounds++
		in := c.h.start(cfg, c.hook)
		for {
			if c.allTerminal(ids) {
				in.stop(t)
				return rounds
			}
			select {
			case <-in.done:
			case <-time.After(50 * time.Millisecond):
				continue
			}
			break
		}
		in.stop(t)
	}
	t.Fatalf("intents not terminal after %s and %d instances", within, rounds)
	return rounds
}

func (c *chaos) allTerminal(ids []string) bool {
	for _, id := range ids {
		r, _, err := c.h.record(id)
		if err != nil || !r.State.Terminal() {
			return false
		}
	}
	return true
}

// TestCrashAtEveryStepBoundary kills the executor at the first visit of every fault point (each
// recorded step's before and after, each side effect's before and after, accept and the outbox)
// and then at random points, while the venue fails a fifth of its calls (errors before acting and
// dropped answers after acting). Every intent must end completed, the venue's own book must show
// one order (cross-token) and one withdrawal per intent, the chain one deposit per intent, and the
// conservation invariant must hold after every recorded step.
func TestCrashAtEveryStepBoundary(t *testing.T) {
	h := newHarness(t)
	h.venue.setFaultRate(0.2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)

	routes := []struct {
		src   uint64
		from  string
		dst   uint64
		to    string
		whole int64
	}{
		{simchain.Base, "USDC", simchain.BSC, "USDT", 1000},
		{simchain.BSC, "USDT", simchain.Base, "USDT", 700},
		{simchain.BSC, "USDC", simchain.Base, "USDT", 450},
		{simchain.Base, "USDT", simchain.BSC, "USDT", 321},
	}
	const perRoute = 4
	var ids []string
	for i := 0; i < perRoute; i++ {
		for j, r := range routes {
			it := h.intent(r.src, r.from, r.dst, r.to, r.whole+int64(10*i+j))
			h.publish(it)
			h.publish(it) // the stream keeps one copy
			ids = append(ids, it.ID)
		}
	}
	c := newChaos(h, 1, 0.03)
	rounds := c.run(t, h.cfg, ids, 4*time.Minute)

	completed, duplicates := 0, 0
	for _, id := range ids {
		r, _, err := h.record(id)
		require.NoError(t, err)
		require.Equal(t, events.StateCompleted, r.State, "intent %s: %s (funds at %s)", id, r.Error, r.FundsAt)
		completed++
		orders, wds := h.venue.createdCount("order", id), h.venue.createdCount("withdraw", id)
		wantOrders := 1
		if r.Intent.Route.SrcToken == r.Intent.Route.DstToken {
			wantOrders = 0
		}
		if orders != wantOrders || wds != 1 {
			duplicates++
		}
		require.Equal(t, wantOrders, orders, "orders of %s", id)
		require.Equal(t, 1, wds, "withdrawals of %s", id)
		require.Len(t, r.Legs, 2)
		require.NotZero(t, r.leg(legSrc).UntilBlock)
		require.NotZero(t, r.leg(legDst).UntilBlock)
	}
	// One deposit transfer per intent on the chains.
	deposits := 0
	for _, id := range testChains {
		head, err := h.clients[id].HeadNumber(ctx)
		require.NoError(t, err)
		ts, err := h.clients[id].Transfers(ctx, chain.TransferFilter{FromBlock: 0, ToBlock: head,
			From: []common.Address{h.account}, To: []common.Address{h.venue.deposit}})
		require.NoError(t, err)
		deposits += len(ts)
	}
	require.Equal(t, len(ids), deposits, "one deposit per intent")
	require.Eventually(t, func() bool { return h.conservation(ctx) == nil }, 10*time.Second, 50*time.Millisecond)

	c.mu.Lock()
	points := make([]string, 0, len(c.killedAt))
	for p := range c.killedAt {
		points = append(points, p)
	}
	c.mu.Unlock()
	sort.Strings(points)
	t.Logf("intents %d completed %d; instances %d; kills %d at %d distinct points; venue faults %d; invariant checks %d; duplicates %d; violations %d",
		len(ids), completed, rounds, c.kills.Load(), len(points), h.venue.faultCount(), c.checks.Load(), duplicates, c.violations.Load())
	t.Logf("kill points: %s", strings.Join(points, " "))
	if v := c.violations.Load(); v != 0 {
		t.Fatalf("%d conservation violations; first: %v", v, c.firstErr.Load())
	}
}

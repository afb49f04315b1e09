package pending_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// countHook counts the commands a client sends, pipelines included.
type countHook struct {
	mu   sync.Mutex
	cmds []string
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.cmds = append(h.cmds, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.cmds = append(h.cmds, "pipeline")
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func TestReadIsOneRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for i := range 5 {
		_, err := e.w.Accept(ctx, e.account, fmt.Sprintf("i%d", i), nil,
			[]pending.Leg{leg("src", 56, "USDT", -10, 18, 0), leg("dst", 1, "USDC", 9, 6, 0)})
		require.NoError(t, err)
	}
	_, err := e.w.AdvanceAsOf(ctx, e.account, 56, 7)
	require.NoError(t, err)

	hook := &countHook{}
	e.rdb.AddHook(hook)
	view, err := e.r.Read(ctx, e.account, map[uint64]uint64{56: 9, 1: 3})
	require.NoError(t, err)
	require.Equal(t, []string{"hgetall"}, hook.cmds, "legs and asOf come back in one HGETALL")
	require.Equal(t, "-50", amount(t, view, 56, "USDT"))
	require.Equal(t, "0", amount(t, view, 1, "USDC"), "chain 1 has no asOf: block 3 is ahead and credits are withheld")
	tot, _ := view.Total(1, "USDC")
	require.Equal(t, "45", tot.Withheld.String())
	require.Len(t, view.Legs(), 10)
}

// TestReadersNeverSeeHalfAWrite runs readers against writers whose every step keeps the account's
// net total at zero (a debit and a credit of the same amount, written or updated together). A
// reader that saw half of a step would see a non-zero total.
func TestReadersNeverSeeHalfAWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const intents = 40
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		for i := range intents {
			id := fmt.Sprintf("i%d", i)
			amt := int64(1000 + i)
			_, err := e.w.Accept(ctx, e.account, id, nil,
				[]pending.Leg{leg("src", 56, "USDT", -amt, 18, 0), leg("dst", 56, "USDT", amt, 18, 0)})
			if !assertNoError(t, err) {
				return
			}
			_, err = e.w.Update(ctx, e.account, id, 1, nil, []pending.LegUpdate{
				pending.SetLeg(leg("src", 56, "USDT", -amt-1, 18, 0)),
				pending.SetLeg(leg("dst", 56, "USDT", amt+1, 18, 0)),
			})
			if !assertNoError(t, err) {
				return
			}
			if i%2 == 0 {
				_, err = e.w.Update(ctx, e.account, id, 2, nil, []pending.LegUpdate{pending.DropLeg("src"), pending.DropLeg("dst")})
				if !assertNoError(t, err) {
					return
				}
			}
		}
	}()
	// Several readers share one Reader (and its cache) while the writer runs.
	var reads atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !done.Load() || n == 0; n++ {
				view, err := e.r.Read(ctx, e.account, nil)
				if !assertNoError(t, err) {
					return
				}
				if tot, ok := view.Total(56, "USDT"); ok && tot.Amount.Sign() != 0 {
					t.Errorf("a read saw half of a write: %s", tot.Amount)
					return
				}
				if len(view.Legs())%2 != 0 {
					t.Errorf("a read saw an odd number of legs")
					return
				}
				reads.Add(1)
			}
		}()
	}
	wg.Wait()
	view, err := e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.Len(t, view.Legs(), intents)
	t.Logf("%d reads during %d intents", reads.Load(), intents)
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("writer: %v", err)
		return false
	}
	return true
}

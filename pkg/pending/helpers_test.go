package pending_test

import (
	"context"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// env is one test's view of Redis: a client, a writer with a settable clock, a reader and an
// account of its own, so tests may share a server (REDIS_URL) without seeing each other.
type env struct {
	rdb     *redis.Client
	w       *pending.Writer
	r       *pending.Reader
	account string
	clock   *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEnv(t testing.TB) *env {
	t.Helper()
	r := testenv.StartRedis(t)
	return newEnvOn(t, r)
}

func newEnvOn(t testing.TB, r *testenv.Redis) *env {
	t.Helper()
	rdb := r.Client(t)
	clk := &clock{t: time.UnixMilli(1764000000000).UTC()}
	e := &env{
		rdb:     rdb,
		w:       pending.NewWriter(rdb, pending.WithClock(clk.Now)),
		r:       pending.NewReader(rdb),
		account: newAccount(),
		clock:   clk,
	}
	// On a shared server (REDIS_URL) leave nothing behind. Registered after Client, so it runs
	// before the client is closed.
	t.Cleanup(func() {
		ctx := context.Background()
		acct, _ := pending.NormalizeAccount(e.account)
		keys, err := rdb.Keys(ctx, "rebal:v1:{"+acct+"}:*").Result()
		if err == nil && len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
	})
	return e
}

// newAccount returns a unique address in EIP-55-like mixed case, so every test also exercises
// the key's normalization.
func newAccount() string {
	h := []byte(strings.Repeat("0", 28) + testenv.UniqueName(""))
	for i := range h {
		if i%2 == 0 && h[i] >= 'a' {
			h[i] -= 'a' - 'A'
		}
	}
	return "0x" + string(h)
}

func leg(name string, chain uint64, token string, amount int64, decimals uint8, until uint64) pending.Leg {
	state := pending.StateRealized
	if until != 0 {
		state = pending.StateSettled
	}
	return pending.Leg{Name: name, ChainID: chain, Token: token, Amount: big.NewInt(amount),
		Decimals: decimals, UntilBlock: until, State: state}
}

func amount(t *testing.T, v pending.View, chain uint64, token string) string {
	t.Helper()
	tot, ok := v.Total(chain, token)
	if !ok {
		return "absent"
	}
	return tot.Amount.String()
}

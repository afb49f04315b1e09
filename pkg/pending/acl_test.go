package pending_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// TestACLLinesInDocs runs the ACL lines docs/ledger.md gives operators against a real redis-server
// and checks that the writer works as the executor's user, the reader as the inventory user, and
// that the inventory user cannot write.
func TestACLLinesInDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/ledger.md")
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, "ACL SETUSER ") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 2, "the doc gives one executor and one inventory line")

	// ACL SETUSER changes the server: ask for a private one even when REDIS_URL is set (any option
	// does; the append-only file is harmless here).
	r := testenv.StartRedis(t, testenv.WithAOF())
	admin := r.Client(t)
	ctx := context.Background()
	secrets := map[string]string{"EXECUTOR_PASSWORD": testenv.UniqueName("x"), "INVENTORY_PASSWORD": testenv.UniqueName("i")}
	for _, l := range lines {
		var args []any
		for _, f := range strings.Fields(l) {
			if s, ok := secrets[strings.TrimPrefix(f, ">")]; ok && strings.HasPrefix(f, ">") {
				f = ">" + s
			}
			args = append(args, f)
		}
		require.NoError(t, admin.Do(ctx, args...).Err(), l)
	}
	as := func(user, password string) *redis.Client {
		opt, err := redis.ParseURL(r.URL)
		require.NoError(t, err)
		opt.Username, opt.Password = user, password
		c := redis.NewClient(opt)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	exe := as("rebal-executor", secrets["EXECUTOR_PASSWORD"])
	inv := as("rebal-inventory", secrets["INVENTORY_PASSWORD"])
	require.NoError(t, exe.Ping(ctx).Err())
	require.NoError(t, inv.Ping(ctx).Err())

	account := newAccount()
	w := pending.NewWriter(exe)
	created, err := w.Accept(ctx, account, "i1", []byte("r"), []pending.Leg{leg("src", 56, "USDT", -9, 18, 0), leg("dst", 1, "USDC", 8, 6, 0)})
	require.NoError(t, err)
	require.True(t, created)
	v, err := w.Update(ctx, account, "i1", 1, []byte("r2"), []pending.LegUpdate{pending.SetLeg(leg("src", 56, "USDT", -9, 18, 10))})
	require.NoError(t, err)
	_, err = w.AdvanceAsOf(ctx, account, 56, 12)
	require.NoError(t, err)
	_, ver, err := w.Intent(ctx, account, "i1")
	require.NoError(t, err)
	require.Equal(t, v, ver)
	n, err := w.GC(ctx, account, "i1", pending.GCPolicy{RecordTTL: 1 << 40})
	require.NoError(t, err)
	require.Equal(t, 1, n)

	view, err := pending.NewReader(inv).Read(ctx, account, nil)
	require.NoError(t, err)
	require.Len(t, view.Legs(), 1)
	require.Equal(t, "8", amount(t, view, 1, "USDC"))

	key := mustKey(t, account)
	require.ErrorContains(t, inv.HSet(ctx, key, "asof:56", "1").Err(), "NOPERM")
	require.ErrorContains(t, inv.Del(ctx, key).Err(), "NOPERM")
	_, err = pending.NewWriter(inv).AdvanceAsOf(ctx, account, 56, 100)
	require.ErrorContains(t, err, "NOPERM")
	require.ErrorContains(t, exe.HSet(ctx, "other:key", "f", "x").Err(), "NOPERM", "the executor's user is confined to rebal:*")
}

package devnet

import (
	"context"
	"math/big"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// The embedded fallback must run the ledger's scripts exactly like Redis: accept, CAS update,
// asOf and a read, through pkg/pending.
func TestEmbeddedRedisRunsTheLedger(t *testing.T) {
	m := miniredis.NewMiniRedis()
	require.NoError(t, m.StartAddr("127.0.0.1:0"))
	t.Cleanup(m.Close)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	acct := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	id := "3f7a1c2b9d8e4f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6"
	w := pending.NewWriter(c)
	legs := []pending.Leg{{IntentID: id, Name: "src", ChainID: 10, Token: "USDC", Amount: big.NewInt(-5), Decimals: 6, State: "accepted"}}
	created, err := w.Accept(ctx, acct, id, []byte("r1"), legs)
	require.NoError(t, err)
	require.True(t, created)
	created, err = w.Accept(ctx, acct, id, []byte("r1"), legs)
	require.NoError(t, err)
	require.False(t, created, "SET-if-absent holds")
	_, err = w.Update(ctx, acct, id, 1, []byte("r2"), []pending.LegUpdate{pending.SetLeg(pending.Leg{IntentID: id, Name: "src", ChainID: 10, Token: "USDC", Amount: big.NewInt(-5), Decimals: 6, UntilBlock: 7, State: "deposit_mined"})})
	require.NoError(t, err)
	_, err = w.Update(ctx, acct, id, 1, []byte("r3"), nil)
	require.ErrorIs(t, err, pending.ErrVersionConflict)
	_, err = w.AdvanceAsOf(ctx, acct, 10, 9)
	require.NoError(t, err)
	v, err := pending.NewReader(c).Read(ctx, acct, map[uint64]uint64{10: 6})
	require.NoError(t, err)
	tot, ok := v.Total(10, "USDC")
	require.True(t, ok)
	require.Equal(t, "-5", tot.Amount.String())
	v, err = pending.NewReader(c).Read(ctx, acct, map[uint64]uint64{10: 8})
	require.NoError(t, err)
	tot, _ = v.Total(10, "USDC")
	require.Equal(t, "0", tot.Amount.String())
}

func TestStartRedisPrefersEnv(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1/0")
	url, src, stop, err := startRedis(context.Background(), t.TempDir(), zerolog.Nop())
	require.NoError(t, err)
	defer stop()
	require.Equal(t, RedisFromEnv, src)
	require.Equal(t, "redis://127.0.0.1:1/0", url)
}

package app_test

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
)

func TestRedisNoncesUniqueIncreasingAcrossClients(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	key := testenv.UniqueName("rebal:test:nonce:")
	fixed := time.UnixMilli(1_700_000_000_000)
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		n := app.RedisNonces{R: r.Client(t), Key: key, Now: func() time.Time { return fixed }}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for i := 0; i < 50; i++ {
				v, err := n.Next(context.Background())
				require.NoError(t, err)
				require.Greater(t, v, last)
				require.GreaterOrEqual(t, v, uint64(fixed.UnixMilli()))
				last = v
				mu.Lock()
				require.False(t, seen[v], "nonce %d handed out twice", v)
				seen[v] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, 200)
	// A clock ahead of the counter wins: nonces stay close to the time.
	later := app.RedisNonces{R: r.Client(t), Key: key, Now: func() time.Time { return fixed.Add(time.Hour) }}
	v, err := later.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, uint64(fixed.Add(time.Hour).UnixMilli()), v)
}

func TestRedisPreparedRoundTrip(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	s := app.RedisPrepared{R: r.Client(t), Prefix: testenv.UniqueName("rebal:test:prep:")}
	ctx := context.Background()
	_, ok, err := s.Load(ctx, "i/withdraw")
	require.NoError(t, err)
	require.False(t, ok)
	p := hyperliquid.Prepared{Kind: "withdraw3", Nonce: 7, Body: []byte(`{"a":1}`), Amount: big.NewInt(5), Token: "USDC"}
	require.NoError(t, s.Save(ctx, "i/withdraw", p))
	got, ok, err := s.Load(ctx, "i/withdraw")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, p.Nonce, got.Nonce)
	require.JSONEq(t, `{"a":1}`, string(got.Body))
	require.Equal(t, "5", got.Amount.String())
	require.NoError(t, s.Delete(ctx, "i/withdraw"))
	_, ok, err = s.Load(ctx, "i/withdraw")
	require.NoError(t, err)
	require.False(t, ok)
}

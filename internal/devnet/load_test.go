package devnet

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
)

// The load's own account of what it moved must match the chains: that record is what the
// conservation check subtracts.
func TestLoadMovesWhatItRecords(t *testing.T) {
	t.Parallel()
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	relayer := crypto.PubkeyToAddress(key.PublicKey)
	userKey, err := crypto.GenerateKey()
	require.NoError(t, err)
	user := crypto.PubkeyToAddress(userKey.PublicKey)
	var cfgs []simchain.Config
	for _, id := range []uint64{10, 56} {
		c, ok := simchain.DefaultChain(id)
		require.True(t, ok)
		c.AutoMine = true
		c.Funded = append(c.Funded, relayer, user)
		cfgs = append(cfgs, c)
	}
	set, err := simchain.StartAll(cfgs)
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Close() })

	cfg := config.Default()
	ctx := context.Background()
	start := map[string]*big.Int{}
	for _, c := range set {
		for _, tok := range []string{"USDC", "USDT"} {
			tc, _ := cfg.TokenOn(tok, c.ChainID())
			amt, _ := config.MustDecimal("50000").Units(tc.Decimals)
			require.NoError(t, c.Mint(ctx, tok, relayer, amt))
			require.NoError(t, c.Mint(ctx, tok, user, new(big.Int).Mul(amt, big.NewInt(10))))
			start[fmt.Sprintf("%d/%s", c.ChainID(), tok)] = amt
		}
	}
	l := &Load{Chains: set, Config: cfg, Relayer: key, User: userKey, Interval: 5 * time.Millisecond, Seed: 7, Log: zerolog.Nop()}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- l.Start(lctx) }()
	require.Eventually(t, func() bool { l.mu.Lock(); defer l.mu.Unlock(); return l.fills >= 10 }, 20*time.Second, 5*time.Millisecond)
	cancel()
	require.NoError(t, <-done)

	ext := map[string]*big.Int{}
	for _, f := range l.Flows() {
		k := fmt.Sprintf("%d/%s", f.Chain, f.Token)
		if ext[k] == nil {
			ext[k] = new(big.Int)
		}
		ext[k].Add(ext[k], f.Delta)
		require.Positive(t, f.Block, "every flow knows its block")
	}
	drained, filled := 0, 0
	for k, s := range start {
		var id uint64
		var tok string
		_, err := fmt.Sscanf(k, "%d/%s", &id, &tok)
		require.NoError(t, err)
		bal, err := set.ByID(id).BalanceOf(ctx, tok, relayer)
		require.NoError(t, err)
		want := new(big.Int).Set(s)
		if d := ext[k]; d != nil {
			want.Add(want, d)
			if d.Sign() < 0 {
				drained++
			} else {
				filled++
			}
		}
		require.Equal(t, want.String(), bal.String(), k)
	}
	require.Positive(t, drained, "some chain was drained")
	require.Positive(t, filled, "some chain was refilled")
}

package simchain

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
)

func TestCloseStopsGoroutines(t *testing.T) {
	// Warm up once: geth starts a few process-wide goroutines on first use
	// (metrics, caches) that are not the chain's.
	warm, err := New(Config{ChainID: 5})
	require.NoError(t, err)
	require.NoError(t, warm.Close())
	base := runtime.NumGoroutine()

	for i := range 4 {
		alice := DevAddress("alice")
		c, err := New(Config{ChainID: uint64(100 + i), BlockInterval: time.Millisecond, AutoMine: true, Funded: []common.Address{alice},
			Tokens: []TokenSpec{{Symbol: "USDC", Decimals: 6}}})
		require.NoError(t, err)
		_, err = c.AddEndpoint()
		require.NoError(t, err)
		cl := dial(t, c.RPCURL())
		_, err = cl.BlockNumber(context.Background())
		require.NoError(t, err)
		require.NoError(t, c.Mint(context.Background(), "USDC", alice, common.Big1))
		cl.Close()
		require.NoError(t, c.Close())
	}
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= base+2 }, 10*time.Second, 10*time.Millisecond,
		"goroutines: base %d, now %d", base, runtime.NumGoroutine())
}

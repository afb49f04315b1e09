package devnet

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func TestInfraStartsFundedAndImbalanced(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	ctx := context.Background()
	in, err := Start(ctx, Options{Seed: 42, Log: zerolog.Nop()})
	require.NoError(t, err)
	defer in.Close()

	require.NoError(t, in.Config.Validate())
	require.Len(t, in.Config.Chains, 7, "every devnet chain is served")
	relayer := crypto.PubkeyToAddress(in.Relayer.PublicKey)
	require.Equal(t, []string{relayer.Hex()}, in.Config.Accounts)

	var below, above int
	for _, tg := range in.Config.Targets {
		tc, ok := in.Config.TokenOn(tg.Token, tg.Chain)
		require.True(t, ok)
		bal, err := in.Chains.ByID(tg.Chain).BalanceOf(ctx, tg.Token, relayer)
		require.NoError(t, err)
		thr, _ := tg.Threshold.Units(tc.Decimals)
		mx, _ := tg.Max.Units(tc.Decimals)
		if bal.Cmp(thr) < 0 {
			below++
		}
		if bal.Cmp(mx) > 0 {
			above++
		}
	}
	require.Positive(t, below, "some chain starts below its threshold")
	require.Positive(t, above, "some chain starts above its max")

	resp, err := http.Get(in.BinanceURL + "/api/v3/time")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Post(in.HyperliquidURL+"/info", "application/json", bytes.NewReader([]byte(`{"type":"spotMeta"}`)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

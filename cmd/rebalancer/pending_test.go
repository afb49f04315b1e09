package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

func TestParseBlocks(t *testing.T) {
	got, err := parseBlocks("1=100, 42161=2000")
	require.NoError(t, err)
	require.Equal(t, map[uint64]uint64{1: 100, 42161: 2000}, got)
	for _, bad := range []string{"1", "x=1", "0=5", "1=-3", "1=2,1=3"} {
		_, err := parseBlocks(bad)
		require.Error(t, err, bad)
	}
}

func TestFormatUnits(t *testing.T) {
	cases := map[string]struct {
		x   string
		dec uint8
	}{
		"1.500000":             {"1500000", 6},
		"-0.000001":            {"-1", 6},
		"0.000000000000000001": {"1", 18},
		"12":                   {"12", 0},
		"-20000.000000":        {"-20000000000", 6},
	}
	for want, c := range cases {
		x, _ := new(big.Int).SetString(c.x, 10)
		require.Equal(t, want, formatUnits(x, c.dec))
	}
}

// TestPendingCommandReadsLedger writes a ledger through pkg/pending and checks the command prints
// the totals an inventory client would compute at the given blocks.
func TestPendingCommandReadsLedger(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	acct := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	w := pending.NewWriter(r.Client(t))
	id := "3f7a1c2b9d8e4f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6"
	_, err := w.Accept(ctx, acct, id, []byte(`{}`), []pending.Leg{
		{IntentID: id, Name: "src", ChainID: 42161, Token: "USDC", Amount: big.NewInt(-20_000_000), Decimals: 6, UntilBlock: 150, State: "deposit_mined"},
		{IntentID: id, Name: "dst", ChainID: 56, Token: "USDT", Amount: new(big.Int).Mul(big.NewInt(19_950_000), big.NewInt(1_000_000_000_000)), Decimals: 18, State: "accepted"},
	})
	require.NoError(t, err)
	_, err = w.AdvanceAsOf(ctx, acct, 42161, 200)
	require.NoError(t, err)
	_, err = w.AdvanceAsOf(ctx, acct, 56, 900)
	require.NoError(t, err)

	var out, errOut bytes.Buffer
	err = run(ctx, []string{"pending", "--redis", r.URL, "--account", acct, "--blocks", "42161=120,56=901", "--json"}, &out, &errOut)
	require.NoError(t, err, errOut.String())
	var got struct {
		Chains []jsonChain
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	byChain := map[uint64]jsonChain{}
	for _, c := range got.Chains {
		byChain[c.ChainID] = c
	}
	// At 120 < untilBlock 150 the debit still counts; the chain is not ahead of asOf 200.
	require.Equal(t, "-20000000", byChain[42161].Tokens["USDC"].Amount)
	require.False(t, byChain[42161].Ahead)
	// At 901 > asOf 900 the unconfirmed credit is withheld.
	require.True(t, byChain[56].Ahead)
	require.Equal(t, "0", byChain[56].Tokens["USDT"].Amount)
	require.Equal(t, "19950000000000000000", byChain[56].Tokens["USDT"].Withheld)

	out.Reset()
	require.NoError(t, run(ctx, []string{"pending", "--redis", r.URL, "--account", acct, "--legs"}, &out, &errOut))
	require.Contains(t, out.String(), "-20.000000")
	require.Contains(t, out.String(), id)

	err = run(ctx, []string{"pending", "--redis", r.URL}, &out, &errOut)
	require.ErrorIs(t, err, errUsage)
}

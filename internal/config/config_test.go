package config_test

import (
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/config"
)

func TestDefaultValidates(t *testing.T) {
	c := config.Default()
	require.NoError(t, c.Validate())
	require.Equal(t, config.ModeChain, c.Planner.Mode)
	require.Equal(t, "0.025", c.Planner.FeeBound.String())
	bsc, ok := c.TokenOn("USDC", 56)
	require.True(t, ok)
	require.EqualValues(t, 18, bsc.Decimals, "BSC stablecoins have 18 decimals")
	for _, id := range []uint64{1, 10, 56, 137, 8453, 42161, 999} {
		_, ok := c.Chain(id)
		require.True(t, ok, "chain %d", id)
	}
	for _, v := range []string{"binance", "hyperliquid"} {
		_, ok := c.Venue(v)
		require.True(t, ok, v)
	}
	require.EqualValues(t, 6, c.ValueDecimals())
}

func TestDecimalUnits(t *testing.T) {
	cases := []struct {
		in       string
		decimals uint8
		want     string
		err      string
	}{
		{"50000", 6, "50000000000", ""},
		{"1.5", 6, "1500000", ""},
		{"1.5", 18, "1500000000000000000", ""},
		{"0.000001", 6, "1", ""},
		{"0.0000001", 6, "", "more precision"},
		{"1.50", 1, "15", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			d, err := config.ParseDecimal(tc.in)
			require.NoError(t, err)
			u, err := d.Units(tc.decimals)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			want, _ := new(big.Int).SetString(tc.want, 10)
			require.Equal(t, want, u)
		})
	}
	for _, bad := range []string{"", "-1", "1e5", "1.", ".5", "1,5", "0x10", " 1"} {
		_, err := config.ParseDecimal(bad)
		require.Error(t, err, "%q", bad)
	}
}

// mutate applies a textual replacement to the devnet file and parses it.
func mutate(t *testing.T, old, new string) error {
	t.Helper()
	src := string(config.DevnetYAML())
	require.Contains(t, src, old, "the mutation must apply")
	_, err := config.Parse([]byte(strings.Replace(src, old, new, 1)))
	return err
}

func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		name, old, new, path string
	}{
		{"threshold above target", `{token: USDC, chain: 10, target: "50000", threshold: "20000"`, `{token: USDC, chain: 10, target: "50000", threshold: "60000"`, "targets[1].threshold"},
		{"max below target", `{token: USDC, chain: 1, target: "50000", threshold: "20000", max: "100000"`, `{token: USDC, chain: 1, target: "50000", threshold: "20000", max: "100"`, "targets[0].max"},
		{"too precise for 6 decimals", `{token: USDC, chain: 1, target: "50000"`, `{token: USDC, chain: 1, target: "50000.0000001"`, "targets[0].target"},
		{"precise enough for 18 decimals", `{token: USDC, chain: 56, target: "50000"`, `{token: USDC, chain: 56, target: "50000.0000001"`, ""},
		{"tier out of range", `chain: 8453, target: "50000", threshold: "20000", max: "100000", tier: 1}`, `chain: 8453, target: "50000", threshold: "20000", max: "100000", tier: 9}`, "targets[4].tier"},
		{"unknown token in target", `{token: USDT, chain: 1, target`, `{token: DAI, chain: 1, target`, "targets[7].token"},
		{"bad checksum", `"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"`, `"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"`, "accounts[0]"},
		{"fee bound of 1", `feeBound: "0.025"`, `feeBound: "1"`, "planner.feeBound"},
		{"float in yaml", `feeBound: "0.025"`, `feeBound: 0.025`, "want a decimal string"},
		{"unknown mode", `mode: chain`, `mode: magic`, "planner.mode"},
		{"unknown venue", `- name: hyperliquid`, `- name: kraken`, "venues[1].name"},
		{"leg on undeployed token", `{chain: 999, token: USDC, network: hyperevm`, `{chain: 5, token: USDC, network: hyperevm`, "venues[1].legs[1]"},
		{"stale shorter than poll", `pollInterval: "20s"`, `pollInterval: "120s"`, "chains[0].staleAfter"},
		{"misspelt key", `aheadOfLedger: conservative`, `aheadOfLeger: conservative`, "aheadOfLeger"},
		{"same-token trade", `{from: USDC, to: USDT, fee: "0.0007"`, `{from: USDC, to: USDC, fee: "0.0007"`, "venues[1].trades"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := mutate(t, tc.old, tc.new)
			if tc.path == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, errors.Is(err, config.ErrInvalid), "%v", err)
			require.Contains(t, err.Error(), tc.path)
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	src := strings.Replace(string(config.DevnetYAML()), `mode: chain`, `mode: magic`, 1)
	src = strings.Replace(src, `intentTTL: "30m"`, `intentTTL: "-1m"`, 1)
	_, err := config.Parse([]byte(src))
	var es config.Errors
	require.ErrorAs(t, err, &es)
	require.Len(t, es, 2)
	require.Equal(t, "planner.mode", es[0].Path)
	require.Equal(t, "planner.intentTTL", es[1].Path)
}

func TestHash(t *testing.T) {
	base := config.Default().Hash()
	require.Len(t, base, 64)
	same := func(old, new string) string {
		t.Helper()
		src := string(config.DevnetYAML())
		require.Contains(t, src, old)
		c, err := config.Parse([]byte(strings.Replace(src, old, new, 1)))
		require.NoError(t, err)
		return c.Hash()
	}
	// Formatting, equal values written differently, and non-planner fields keep the hash.
	require.Equal(t, base, same(`feeBound: "0.025"`, `feeBound: "0.0250"`))
	require.Equal(t, base, same(`rpc: ["http://127.0.0.1:8545"]`, `rpc: ["http://10.0.0.1:8545"]`))
	require.Equal(t, base, same("network: devnet", "# a comment\nnetwork: devnet"))
	require.Equal(t, base, same(`pollInterval: "20s"`, `pollInterval: "10s"`))
	// A decision-relevant change moves it.
	require.NotEqual(t, base, same(`feeBound: "0.025"`, `feeBound: "0.02"`))
	require.NotEqual(t, base, same(`{token: USDC, chain: 1, target: "50000"`, `{token: USDC, chain: 1, target: "50001"`))
	require.NotEqual(t, base, same(`maxInFlight: 6`, `maxInFlight: 5`))
	// List order does not matter.
	src := string(config.DevnetYAML())
	i := strings.Index(src, "  - {token: USDC, chain: 1,")
	j := strings.Index(src[i:], "\n") + i + 1
	line := src[i:j]
	swapped := src[:i] + src[j:]
	k := strings.Index(swapped, "\naggregates:")
	swapped = swapped[:k] + "\n" + strings.TrimSuffix(line, "\n") + swapped[k:]
	c, err := config.Parse([]byte(swapped))
	require.NoError(t, err)
	require.Equal(t, base, c.Hash())
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	require.NoError(t, os.WriteFile(p, config.DevnetYAML(), 0o600))
	c, err := config.Load(p)
	require.NoError(t, err)
	require.Equal(t, config.Default().Hash(), c.Hash())
	_, err = config.Load(filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
	require.False(t, errors.Is(err, config.ErrInvalid))
	require.NoError(t, os.WriteFile(p, nil, 0o600))
	_, err = config.Load(p)
	require.ErrorIs(t, err, config.ErrInvalid)
}

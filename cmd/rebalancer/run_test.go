package main

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/config"
)

func TestHelpListsEveryTarget(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"--help"}, &out, &errOut)
	require.ErrorIs(t, err, errHelp)
	for _, name := range []string{"balancewatcher", "planner", "executor", "all", "devnet", "replay", "pending", "plan", "config check"} {
		require.Contains(t, out.String(), "  "+name+" ", "help lists %s", name)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := map[string][]string{
		"no target":      {},
		"unknown target": {"frobnicate"},
		"bad log level":  {"--log-level", "loud", "planner"},
		"bad log format": {"--log-format", "xml", "planner"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), args, &out, &errOut)
			require.ErrorIs(t, err, errUsage)
		})
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	// The embedded devnet file has no executor section: `rebalancer devnet` fills it in with the
	// simulators' URLs. A file for the services needs one.
	// devnet's HyperEVM USDC leg takes deposits, so the file names a CoreDepositWallet too.
	const executor = "\nexecutor:\n  maxPerIntent: \"1000\"\n  hyperliquid: {network: mainnet, coreDepositWallet: \"0x6B9E773128f453f5c2C60935Ee2DE2CBc5390A24\"}\n"
	good := dir + "/good.yaml"
	require.NoError(t, os.WriteFile(good, append(config.DevnetYAML(), executor...), 0o600))
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"config", "check", good}, &out, &errOut))
	require.Contains(t, out.String(), "ok (network devnet")
	require.Contains(t, out.String(), "binance https://api.binance.com", "the resolved defaults are shown")

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"config", "check", "../../deploy/k8s/base/config.yaml"}, &out, &errOut), "the shipped config")
	require.Contains(t, out.String(), "ok (network mainnet")

	for name, c := range map[string]struct{ section, field string }{
		"no executor section": {"", "executor.maxPerIntent"},
		"no maxPerIntent":     {"\nexecutor:\n  hyperliquid: {network: mainnet}\n", "executor.maxPerIntent"},
		"bad network":         {"\nexecutor:\n  maxPerIntent: \"1000\"\n  hyperliquid: {network: mainet}\n", "executor.hyperliquid.network"},
		"unknown key":         {executor + "  maxPerIntnet: \"5\"\n", "executor.maxPerIntnet"},
	} {
		t.Run(name, func(t *testing.T) {
			f := dir + "/executor.yaml"
			require.NoError(t, os.WriteFile(f, append(config.DevnetYAML(), c.section...), 0o600))
			err := run(context.Background(), []string{"config", "check", f}, &out, &errOut)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.field, "the error names the field")
		})
	}

	bad := dir + "/bad.yaml"
	require.NoError(t, os.WriteFile(bad, []byte("network: devnet\naccounts: [\"0xnope\"]\n"), 0o600))
	err := run(context.Background(), []string{"config", "check", bad}, &out, &errOut)
	require.Error(t, err)
	require.Contains(t, err.Error(), "accounts[0]", "the error names the field")

	err = run(context.Background(), []string{"config", "check"}, &out, &errOut)
	require.ErrorIs(t, err, errUsage)
}

func TestServiceTargetsRequireConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"balancewatcher"}, &out, &errOut)
	require.Error(t, err)
	require.Contains(t, err.Error(), "--config")
}

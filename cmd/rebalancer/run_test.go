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
	good := dir + "/good.yaml"
	require.NoError(t, os.WriteFile(good, config.DevnetYAML(), 0o600))
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"config", "check", good}, &out, &errOut))
	require.Contains(t, out.String(), "ok (network devnet")

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

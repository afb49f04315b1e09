package main

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
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

// A target whose issue has not landed must fail and say so, never pretend to run.
func TestUnfinishedTargetsFailPlainly(t *testing.T) {
	for name, tg := range targets {
		if tg.issue == 0 {
			continue
		}
		var out, errOut bytes.Buffer
		err := tg.run(context.Background(), env{stdout: &out, stderr: &errOut}, nil)
		require.Error(t, err, name)
		require.False(t, errors.Is(err, errUsage), name)
		require.Contains(t, err.Error(), "nothing was done", name)
	}
}

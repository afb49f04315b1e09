//go:build !nodevnet && !race

package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
	"github.com/rebalancer-dev/rebalancer/internal/devnet"
)

// TestDevnetCompletesIntentsAndKeepsTheLedgerTrue runs the whole system, as `rebalancer devnet`
// does, long enough for the starting imbalance to turn into intents that complete on the
// simulators, with the conservation check running every two seconds.
//
// It is built without the race detector (make test runs it in a second pass): under -race on two
// cores the simulated chains and venue fall so far behind that signed venue requests outlive
// their recvWindow and nothing completes; every component it runs has its own race-checked tests.
func TestDevnetCompletesIntentsAndKeepsTheLedgerTrue(t *testing.T) {
	t.Setenv("REDIS_URL", "")
	report := filepath.Join(t.TempDir(), "report.json")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	got, err := app.Devnet(ctx, app.Options{Log: zerolog.Nop()}, app.DevnetOptions{
		// Stop once two intents completed, at most after four minutes: a loaded CI machine is slow.
		Duration: 4 * time.Minute, StopAfterCompleted: 2, ReportPath: report, Seed: 7, LoadInterval: 2 * time.Second,
	})
	require.NoError(t, err)
	require.Positive(t, got.IntentsEmitted, "the starting imbalance becomes intents")
	require.Positive(t, got.IntentsCompleted, "intents complete on the simulators")
	require.Zero(t, got.IntentsNeedsAttention)
	require.Zero(t, got.LedgerInvariantViolations, "samples: %v", got.ViolationSamples)
	require.Positive(t, got.LedgerInvariantChecks, "the conservation check ran")

	raw, err := os.ReadFile(report)
	require.NoError(t, err)
	var fromFile devnet.Report
	require.NoError(t, json.Unmarshal(raw, &fromFile))
	require.Equal(t, got.IntentsCompleted, fromFile.IntentsCompleted)
	require.Len(t, fromFile.SecondsBelowThreshold, 14, "every chain and token is reported")
}

package app_test

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// TestWatcherTargetFromConfigFile runs the balancewatcher target as the binary would, from a
// configuration file naming simulated chains, and checks snapshots reach the stream and the ops
// server reports ready.
func TestWatcherTargetFromConfigFile(t *testing.T) {
	t.Parallel()
	relayer := simchain.DevAddress("relayer")
	var chains []*simchain.Chain
	for _, id := range []uint64{42161, 56} {
		cfg, ok := simchain.DefaultChain(id)
		require.True(t, ok)
		cfg.Funded = append(cfg.Funded, relayer)
		c, err := simchain.New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		require.NoError(t, c.Mint(context.Background(), "USDC", relayer, big.NewInt(5_000_000)))
		chains = append(chains, c)
	}
	// The devnet file, with its RPC URLs pointed at the simulated chains and only those chains.
	cfg := config.Default()
	cfg.Accounts = []string{relayer.Hex()}
	var kept []config.Chain
	for _, c := range cfg.Chains {
		for _, sc := range chains {
			if c.ID == sc.ChainID() {
				c.RPC = []string{sc.RPCURL()}
				c.Confirmations = 0
				c.PollInterval = config.Duration{Duration: 20 * time.Millisecond}
				kept = append(kept, c)
			}
		}
	}
	cfg.Chains = kept
	cfg.Venues = nil // venues have their own test: TestWatcherTargetReadsVenues
	nats := testenv.NATS(t)
	port, err := localinfra.FreePort()
	require.NoError(t, err)
	o := app.Options{OpsAddr: fmt.Sprintf("127.0.0.1:%d", port), NATS: bus.Config{URL: nats.URL()}, ShutdownBudget: 5 * time.Second, Log: zerolog.Nop()}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Watcher(ctx, cfg, o) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + o.OpsAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 15*time.Second, 20*time.Millisecond)

	reader, err := bus.Connect(context.Background(), bus.Config{URL: nats.URL(), Name: "reader"}, zerolog.Nop(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = reader.Close(context.Background()) })
	require.Eventually(t, func() bool {
		seen := map[events.Location]bool{}
		_ = reader.ReadRange(context.Background(), bus.Range{}, func(m bus.Message) error {
			if s, ok := m.Event.(*events.BalanceSnapshot); ok && s.Account == relayer.Hex() {
				for _, b := range s.Balances {
					if b.Token == "USDC" && b.Amount.String() == "5000000" {
						seen[s.Location] = true
					}
				}
			}
			return nil
		})
		return seen["eip155:42161"] && seen["eip155:56"]
	}, 15*time.Second, 20*time.Millisecond)

	resp, err := http.Get("http://" + o.OpsAddr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), "rebal_watcher_snapshots_published_total")
}

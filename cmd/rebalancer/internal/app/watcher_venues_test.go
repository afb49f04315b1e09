package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWatcherTargetReadsVenues runs the balancewatcher target as production does, with the
// venues' URLs pointed at the simulators: the Binance read key from the environment (its secret
// from a file, as the Deployment mounts it), Hyperliquid by the account's address alone. Both
// venues' snapshots reach the stream with the simulators' balances, their requests are counted,
// and neither the key nor the secret reaches a log line.
func TestWatcherTargetReadsVenues(t *testing.T) {
	const (
		apiKey    = "watcher-read-key-7f3a9c"
		apiSecret = "watcher-read-secret-0a1b2c3d4e5f60718293"
	)
	relayer := simchain.DevAddress("relayer")
	arbCfg, ok := simchain.DefaultChain(simchain.Arbitrum)
	require.True(t, ok)
	arb, err := simchain.New(arbCfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = arb.Close() })

	bsim, err := simbinance.New(simbinance.Config{Accounts: []simbinance.Account{{APIKey: apiKey, Secret: apiSecret,
		Spot: map[string]string{"USDC": "1234.5", "USDT": "7"}}}})
	require.NoError(t, err)
	burl, err := bsim.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = bsim.Close() })

	levels := []hlsim.Level{{Px: "1", Sz: "100000"}}
	tokens, pairs := hlsim.MainnetLikeTokens(common.Address{1}, common.Address{2}, levels, levels)
	hsim, err := hlsim.New(hlsim.Config{Network: wire.Mainnet, Tokens: tokens, Pairs: pairs}, zerolog.Nop())
	require.NoError(t, err)
	hsrv := httptest.NewServer(hsim.Handler())
	t.Cleanup(hsrv.Close)
	require.NoError(t, hsim.Credit(relayer, "USDC", big.NewInt(99_00000000)))

	cfg := config.Default()
	cfg.Accounts = []string{relayer.Hex()}
	var kept []config.Chain
	for _, c := range cfg.Chains {
		if c.ID == simchain.Arbitrum {
			c.RPC = []string{arb.RPCURL()}
			c.Confirmations = 0
			c.PollInterval = config.Duration{Duration: 20 * time.Millisecond}
			kept = append(kept, c)
		}
	}
	cfg.Chains = kept
	raw, err := yaml.Marshal(map[string]any{
		"maxPerIntent": "1000",
		"binance":      map[string]string{"baseURL": burl},
		// devnet's HyperEVM USDC leg takes deposits, which the executor section must then route.
		"hyperliquid": map[string]string{"baseURL": hsrv.URL, "network": "mainnet", "coreDepositWallet": "0x6B9E773128f453f5c2C60935Ee2DE2CBc5390A24"},
	})
	require.NoError(t, err)
	var node yaml.Node
	require.NoError(t, yaml.Unmarshal(raw, &node))
	cfg.Executor = *node.Content[0]

	secretFile := filepath.Join(t.TempDir(), "binance-api-secret")
	require.NoError(t, os.WriteFile(secretFile, []byte(apiSecret+"\n"), 0o600))
	t.Setenv(binance.EnvAPIKey, apiKey)
	t.Setenv(binance.EnvAPISecretFile, secretFile)

	logs := &lockedBuffer{}
	nats := testenv.NATS(t)
	port, err := localinfra.FreePort()
	require.NoError(t, err)
	o := app.Options{OpsAddr: fmt.Sprintf("127.0.0.1:%d", port), NATS: bus.Config{URL: nats.URL()}, ShutdownBudget: 5 * time.Second,
		Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Watcher(ctx, cfg, o) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	reader, err := bus.Connect(context.Background(), bus.Config{URL: nats.URL(), Name: "reader"}, zerolog.Nop(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = reader.Close(context.Background()) })
	want := map[events.Location]string{
		events.VenueLocation(events.VenueBinance):     "123450000000", // 1234.5 in Binance's 8 decimals
		events.VenueLocation(events.VenueHyperliquid): "9900000000",   // 99 USDC in HyperCore wei (spot + perp)
	}
	require.Eventually(t, func() bool {
		seen := map[events.Location]bool{}
		_ = reader.ReadRange(context.Background(), bus.Range{}, func(m bus.Message) error {
			s, ok := m.Event.(*events.BalanceSnapshot)
			if !ok || s.Account != relayer.Hex() {
				return nil
			}
			for _, b := range s.Balances {
				if b.Token == "USDC" && b.Amount.String() == want[s.Location] {
					seen[s.Location] = true
				}
			}
			return nil
		})
		return len(seen) == len(want)
	}, 20*time.Second, 50*time.Millisecond, "venue snapshots with the simulators' balances")

	resp, err := http.Get("http://" + o.OpsAddr + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Contains(t, string(body), `rebal_venue_requests_total{endpoint="/api/v3/account",venue="binance"}`)
	require.Contains(t, string(body), `rebal_venue_requests_total{endpoint="/info",venue="hyperliquid"}`)
	require.Contains(t, string(body), `rebal_watcher_snapshots_published_total{location="binance"}`)

	out := logs.String()
	require.Contains(t, out, "reading Binance balances with the read key", "the logs were captured")
	require.NotContains(t, out, apiSecret, "the secret never reaches a log line")
	require.NotContains(t, out, apiKey, "nor the key")
	require.False(t, strings.Contains(out, apiSecret[:12]), "nor a prefix of the secret")
}

package app_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// TestExecutorTargetStartsFromTheShippedConfig runs the executor target, and `all`, as the
// Deployment does, on deploy/k8s/base/config.yaml with only what an operator or a test must change:
// the relayer account, the venues' URLs (pointed at the simulators) and the chains' RPC URLs
// (pointed at a local server that answers nothing, so no request leaves the machine). Keys come
// from the environment. The executor connects both venue adapters, takes its leases, and its
// /metrics counts the adapters' requests; no key reaches a log line.
func TestExecutorTargetStartsFromTheShippedConfig(t *testing.T) {
	targets := map[string]func(context.Context, *config.Config, app.Options) error{
		"executor": app.Executor,
		"all":      app.All,
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			const (
				apiKey    = "executor-trade-key-5b1e77"
				apiSecret = "executor-trade-secret-9c8d7e6f5a4b3c2d1e0f"
			)
			relayerKey := newKey(t)
			relayer := crypto.PubkeyToAddress(relayerKey.PublicKey)

			bsim, err := simbinance.New(simbinance.Config{Accounts: []simbinance.Account{{APIKey: apiKey, Secret: apiSecret}}})
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
			noRPC := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "no chain here", http.StatusServiceUnavailable)
			}))
			t.Cleanup(noRPC.Close)

			raw, err := os.ReadFile(shippedConfig)
			require.NoError(t, err)
			file := string(raw)
			for from, to := range map[string]string{
				`"0x000000000000000000000000000000000000dEaD"`: `"` + relayer.Hex() + `"`,
				`"https://api.binance.com"`:                    `"` + burl + `"`,
				`"https://api.hyperliquid.xyz"`:                `"` + hsrv.URL + `"`,
			} {
				require.True(t, strings.Contains(file, from), "the shipped config names %s", from)
				file = strings.ReplaceAll(file, from, to)
			}
			file = regexp.MustCompile(`rpc: \[[^\]]*\]`).ReplaceAllString(file, `rpc: ["`+noRPC.URL+`"]`)
			cfgPath := t.TempDir() + "/config.yaml"
			require.NoError(t, os.WriteFile(cfgPath, []byte(file), 0o600))
			cfg, err := app.LoadConfig(cfgPath)
			require.NoError(t, err)

			t.Setenv("EVM_PRIVATE_KEY", hex.EncodeToString(crypto.FromECDSA(relayerKey)))
			t.Setenv("EVM_PRIVATE_KEY_FILE", "")
			t.Setenv("HYPERLIQUID_PRIVATE_KEY", "")
			t.Setenv("HYPERLIQUID_PRIVATE_KEY_FILE", "")
			t.Setenv(binance.EnvAPIKey, apiKey)
			t.Setenv(binance.EnvAPISecret, apiSecret)
			t.Setenv(binance.EnvAPIKeyFile, "")
			t.Setenv(binance.EnvAPISecretFile, "")
			t.Setenv(app.EnvVenueAccount, "")
			t.Setenv(app.EnvHyperliquidAccount, "")

			logs := &lockedBuffer{}
			nats := testenv.NATS(t)
			port, err := localinfra.FreePort()
			require.NoError(t, err)
			o := app.Options{OpsAddr: fmt.Sprintf("127.0.0.1:%d", port), NATS: bus.Config{URL: nats.URL()},
				RedisURL: testenv.StartRedis(t).URL, ShutdownBudget: 5 * time.Second, Log: zerolog.New(logs).Level(zerolog.DebugLevel)}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- target(ctx, cfg, o) }()
			t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

			metrics := func() string {
				resp, err := http.Get("http://" + o.OpsAddr + "/metrics")
				if err != nil {
					return ""
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return string(b)
			}
			want := []string{
				// binance.New syncs the clock and reads the symbol's rules; hyperliquid.New reads spot metadata.
				`rebal_venue_requests_total{endpoint="/api/v3/time",venue="binance"}`,
				`rebal_venue_requests_total{endpoint="/api/v3/exchangeInfo",venue="binance"}`,
				`rebal_venue_requests_total{endpoint="/info",venue="hyperliquid"}`,
				// The executor runs: it took the (venue, account) leases.
				fmt.Sprintf(`rebal_executor_lease_held{account=%q,venue="binance"} 1`, strings.ToLower(relayer.Hex())),
				fmt.Sprintf(`rebal_executor_lease_held{account=%q,venue="hyperliquid"} 1`, strings.ToLower(relayer.Hex())),
			}
			var last string
			require.Eventually(t, func() bool {
				last = metrics()
				for _, w := range want {
					if !strings.Contains(last, w) {
						return false
					}
				}
				return true
			}, 30*time.Second, 50*time.Millisecond, "executor metrics; last scrape:\n%s\nlogs:\n%s", grepLines(last, "rebal_venue_requests_total", "rebal_executor_lease_held"), logs)

			select {
			case err := <-done:
				t.Fatalf("%s stopped: %v", name, err)
			default:
			}
			out := logs.String()
			require.NotContains(t, out, apiSecret, "the secret never reaches a log line")
			require.NotContains(t, out, apiKey, "nor the key")
		})
	}
}

func grepLines(s string, subs ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, sub := range subs {
			if strings.Contains(l, sub) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

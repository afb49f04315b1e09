package app_test

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/rebalancer-dev/rebalancer/cmd/rebalancer/internal/app"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/ops"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/services/executor"
)

// The manifests, from this package's directory.
const (
	shippedConfig = "../../../../deploy/k8s/base/config.yaml"
	overlaysDir   = "../../../../deploy/k8s/overlays/"
)

// withExecutor returns the shipped configuration with its executor section replaced by section
// (YAML; "" removes it).
func withExecutor(t *testing.T, section string) *config.Config {
	t.Helper()
	cfg, err := app.LoadConfig(shippedConfig)
	require.NoError(t, err)
	cfg.Executor = yaml.Node{}
	if section != "" {
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte(section), &doc))
		cfg.Executor = *doc.Content[0]
	}
	return cfg
}

func fieldPaths(err error) []string {
	var es config.Errors
	if !errors.As(err, &es) {
		return nil
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	return out
}

func TestResolveExecutor(t *testing.T) {
	const hl = "hyperliquid: {network: mainnet}\n"
	bad := map[string]struct {
		section string
		fields  []string // every field the error names
	}{
		"no section":            {"", []string{"executor.maxPerIntent", "executor.hyperliquid.network"}},
		"no maxPerIntent":       {hl + "dryRun: true\n", []string{"executor.maxPerIntent"}},
		"maxPerIntent zero":     {hl + "maxPerIntent: \"0\"\n", []string{"executor.maxPerIntent"}},
		"maxPerIntent exponent": {hl + "maxPerIntent: \"1e5\"\n", []string{"executor.maxPerIntent"}},
		"no network":            {"maxPerIntent: \"10\"\n", []string{"executor.hyperliquid.network"}},
		"bad network":           {"maxPerIntent: \"10\"\nhyperliquid: {network: mainet}\n", []string{"executor.hyperliquid.network"}},
		"unknown key":           {hl + "maxPerIntnet: \"10\"\n", []string{"executor.maxPerIntnet"}},
		"unknown nested key":    {"maxPerIntent: \"10\"\nhyperliquid: {network: mainnet, chainName: testnet}\n", []string{"executor.hyperliquid.chainName"}},
		"unknown venue cap":     {hl + "maxPerIntent: \"10\"\nmaxPerDay: {kraken: \"5\"}\n", []string{"executor.maxPerDay.kraken"}},
		"bad venue cap":         {hl + "maxPerIntent: \"10\"\nmaxPerDay: {binance: \"-5\"}\n", []string{"executor.maxPerDay.binance"}},
		"negative stepTimeout":  {hl + "maxPerIntent: \"10\"\nstepTimeout: \"-1m\"\n", []string{"executor.stepTimeout"}},
		"bad base URL":          {"maxPerIntent: \"10\"\nbinance: {baseURL: \"api.binance.com\"}\n" + hl, []string{"executor.binance.baseURL"}},
		"bad bridge2":           {"maxPerIntent: \"10\"\nhyperliquid: {network: mainnet, bridge2: \"0x12\"}\n", []string{"executor.hyperliquid.bridge2"}},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := app.ResolveExecutor(withExecutor(t, c.section))
			require.Error(t, err)
			require.ErrorIs(t, err, config.ErrInvalid)
			require.ElementsMatch(t, c.fields, fieldPaths(err), "%v", err)
		})
	}

	t.Run("a wrong type names its line", func(t *testing.T) {
		_, err := app.ResolveExecutor(withExecutor(t, hl+"maxPerIntent: \"10\"\ndryRun: maybe\n"))
		require.ErrorContains(t, err, "executor")
		require.ErrorContains(t, err, "line 3")
	})

	t.Run("defaults", func(t *testing.T) {
		sec, err := app.ResolveExecutor(withExecutor(t, hl+"maxPerIntent: \"10\"\n"))
		require.NoError(t, err)
		require.Equal(t, app.DefaultBinanceURL, sec.Binance.BaseURL)
		require.Equal(t, app.DefaultHyperliquidURL, sec.Hyperliquid.BaseURL)
		require.Equal(t, executor.DefaultTimeout, sec.StepTimeout.Duration)
		require.Equal(t, executor.DefaultLeaseTTL, sec.LeaseTTL.Duration)
		require.False(t, sec.DryRun)
	})

	t.Run("HyperEVM USDC deposits need the CoreDepositWallet", func(t *testing.T) {
		cfg := withExecutor(t, hl+"maxPerIntent: \"10\"\n")
		var path string
		for i, v := range cfg.Venues {
			for j, l := range v.Legs {
				if v.Name == events.VenueHyperliquid && l.Network == "hyperevm" && l.Token == "USDC" {
					require.False(t, l.Deposit, "the shipped config keeps that gateway closed")
					cfg.Venues[i].Legs[j].Deposit = true
					path = fmt.Sprintf("venues[%d].legs[%d].deposit", i, j)
				}
			}
		}
		require.NotEmpty(t, path)
		_, err := app.ResolveExecutor(cfg)
		require.ElementsMatch(t, []string{path}, fieldPaths(err), "%v", err)

		cfg.Executor = yaml.Node{}
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte("maxPerIntent: \"10\"\nhyperliquid: {network: mainnet, coreDepositWallet: \"0x6B9E773128f453f5c2C60935Ee2DE2CBc5390A24\"}\n"), &doc))
		cfg.Executor = *doc.Content[0]
		_, err = app.ResolveExecutor(cfg)
		require.NoError(t, err)
	})

	t.Run("no network needed without the hyperliquid venue", func(t *testing.T) {
		cfg := withExecutor(t, "maxPerIntent: \"10\"\n")
		var kept []config.Venue
		for _, v := range cfg.Venues {
			if v.Name != events.VenueHyperliquid {
				kept = append(kept, v)
			}
		}
		cfg.Venues = kept
		_, err := app.ResolveExecutor(cfg)
		require.NoError(t, err)
	})
}

// shippedConfigs are the configuration files the manifests ship: base/config.yaml as the binary
// loads it, and the config.yaml each overlay's rendered rebalancer-config ConfigMap carries.
func shippedConfigs(t *testing.T) map[string]*config.Config {
	t.Helper()
	cfg, err := app.LoadConfig(shippedConfig)
	require.NoError(t, err)
	out := map[string]*config.Config{"base": cfg}
	for _, o := range []string{"dev", "prod"} {
		res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), overlaysDir+o)
		require.NoError(t, err, "kustomize build %s", o)
		found := 0
		for _, r := range res.Resources() {
			if r.GetKind() != "ConfigMap" || r.GetLabels()["app.kubernetes.io/part-of"] != "rebalancer" {
				continue
			}
			b, err := r.AsYAML()
			require.NoError(t, err)
			var cm struct {
				Data map[string]string `json:"data"`
			}
			require.NoError(t, sigsyaml.Unmarshal(b, &cm))
			if raw, ok := cm.Data["config.yaml"]; ok {
				c, err := config.Parse([]byte(raw))
				require.NoError(t, err, o)
				out[o] = c
				found++
			}
		}
		require.Equal(t, 1, found, "%s renders one ConfigMap with config.yaml", o)
	}
	return out
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	require.NoError(t, err)
	return k
}

// TestShippedConfigsBuildTheExecutor takes each configuration the manifests ship through what the
// executor does before its first venue request: resolve the executor section, check it against
// the planner's limits, build both venue adapters' configurations with (fake) secrets, and compile
// the executor's own configuration. TestExecutorTargetStartsFromTheShippedConfig goes on from
// there against the simulators.
func TestShippedConfigsBuildTheExecutor(t *testing.T) {
	for name, cfg := range shippedConfigs(t) {
		t.Run(name, func(t *testing.T) {
			sec, err := app.ResolveExecutor(cfg)
			require.NoError(t, err, "the executor refuses the shipped config")

			maxPerIntent, ok := new(big.Rat).SetString(sec.MaxPerIntent)
			require.True(t, ok)
			for _, v := range cfg.Venues {
				require.LessOrEqual(t, v.MaxTransfer.Rat().Cmp(maxPerIntent), 0,
					"venue %s: maxTransfer %s is above executor.maxPerIntent %s: the planner's largest intents would be rejected", v.Name, v.MaxTransfer, sec.MaxPerIntent)
				require.Contains(t, sec.MaxPerDay, v.Name, "every venue has a daily cap in production")
			}

			relayer := newKey(t)
			creds := binance.NewCredentials("fake-api-key", "fake-api-secret")
			secrets := app.ExecutorSecrets{Relayer: relayer, Binance: &creds, Hyperliquid: newKey(t)}
			o := app.Options{Log: zerolog.Nop()}

			// devnet's watcher readers build them without an ops server: no metrics, no panic.
			vc := app.ExecutorVenueConfigs(cfg, sec, app.ExecutorDeps{Secrets: secrets}, o)
			require.NotNil(t, vc.Binance)
			require.Nil(t, vc.Binance.Metrics)

			srv := ops.New(ops.Config{Addr: "127.0.0.1:0"}, zerolog.Nop())
			vc = app.ExecutorVenueConfigs(cfg, sec, app.ExecutorDeps{Secrets: secrets, Ops: srv}, o)
			require.NotNil(t, vc.Binance, "binance adapter")
			require.Equal(t, "https://api.binance.com", vc.Binance.BaseURL)
			require.Equal(t, srv.Registry(), vc.Binance.Metrics, "the adapter counts on the executor's /metrics")
			var networks []string
			for _, n := range vc.Binance.Networks {
				networks = append(networks, n.Name)
			}
			require.ElementsMatch(t, []string{"ETH", "BSC", "BASE", "ARBITRUM"}, networks)
			require.NotNil(t, vc.Hyperliquid, "hyperliquid adapter")
			require.Equal(t, "https://api.hyperliquid.xyz", vc.Hyperliquid.BaseURL)
			require.Equal(t, wire.Mainnet, vc.Hyperliquid.Network)
			require.Equal(t, srv.Registry(), vc.Hyperliquid.Metrics)
			require.NotNil(t, vc.Hyperliquid.Nonces)
			require.NotNil(t, vc.HyperliquidVenue.Store)

			// The operator replaces the placeholder account with the relayer's; then the
			// executor's configuration compiles (routes, accounts, caps).
			ec := app.ExecutorConfig(cfg, sec)
			ec.Accounts = []string{crypto.PubkeyToAddress(relayer.PublicKey).Hex()}
			require.NotEmpty(t, ec.Routes)
			require.Equal(t, 30*time.Minute, ec.DefaultStepTimeout)
			require.Equal(t, 6*time.Second, ec.LeaseTTL)
			_, err = executor.New(ec, executor.Deps{})
			require.ErrorIs(t, err, executor.ErrConfig)
			require.ErrorContains(t, err, "bus and redis are required", "the configuration compiled; only the connections are missing")
		})
	}
}

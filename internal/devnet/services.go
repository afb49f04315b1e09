package devnet

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"gopkg.in/yaml.v3"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// ServiceFiles are what `rebalancer balancewatcher|planner|executor` need to run against this
// devnet as separate processes, the way they run in Kubernetes: one configuration file and the
// keys in files named by the environment (never on a command line, never in the repository).
type ServiceFiles struct {
	// Config is the configuration file: the devnet configuration with the executor section
	// pointing at the simulators.
	Config string
	// Env holds NATS_URL, REDIS_URL and the *_FILE variables naming the key files, as KEY=VALUE.
	Env []string
}

// ExecutorSection is the configuration's `executor:` section for this devnet: the simulators'
// URLs and addresses and caps wide enough for any devnet run.
func (in *Infra) ExecutorSection(ctx context.Context) (map[string]any, error) {
	// The simulator learns its CoreDepositWallet from HyperEVM shortly after it starts; without it
	// the HyperEVM USDC gateway cannot be configured.
	var cdw common.Address
	for deadline := time.Now().Add(5 * time.Second); ; {
		if cdw = in.Hyperliquid.CoreDepositWallet(); cdw != (common.Address{}) {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("devnet: the Hyperliquid simulator has not found its CoreDepositWallet on HyperEVM")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	// hyperEVMPayer: a simulated chain cannot sign as a system address, so the simulator pays
	// HyperEVM withdrawals from a key of its own, by which the executor finds their landings.
	hl := map[string]string{"baseURL": in.HyperliquidURL, "network": "mainnet", "bridge2": in.Bridge2.Hex(),
		"coreDepositWallet": cdw.Hex(), "hyperEVMPayer": in.HyperEVMPayer.Hex()}
	return map[string]any{
		"maxPerIntent": "200000",
		"maxPerDay":    map[string]string{events.VenueBinance: "5000000", events.VenueHyperliquid: "5000000"},
		"stepTimeout":  "5m",
		"binance":      map[string]string{"baseURL": in.BinanceURL},
		"hyperliquid":  hl,
	}, nil
}

// WriteServiceFiles writes the configuration file and the key files into dir (private to this
// user) and returns them with the environment the services read.
func (in *Infra) WriteServiceFiles(ctx context.Context, dir string) (ServiceFiles, error) {
	var out ServiceFiles
	sec, err := in.ExecutorSection(ctx)
	if err != nil {
		return out, err
	}
	raw, err := yaml.Marshal(in.Config)
	if err != nil {
		return out, fmt.Errorf("devnet config: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return out, fmt.Errorf("devnet config: %w", err)
	}
	doc["executor"] = sec
	if raw, err = yaml.Marshal(doc); err != nil {
		return out, fmt.Errorf("devnet config: %w", err)
	}
	// What the services will read must be what this process checks against.
	parsed, err := config.Parse(raw)
	if err != nil {
		return out, fmt.Errorf("devnet config does not round-trip: %w", err)
	}
	if parsed.Hash() != in.Config.Hash() {
		return out, errors.New("devnet config does not round-trip: its hash changed")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return out, err
	}
	write := func(name string, b []byte) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, b, 0o600)
	}
	if out.Config, err = write("config.yaml", raw); err != nil {
		return out, err
	}
	files := []struct{ env, name, value string }{
		{"EVM_PRIVATE_KEY_FILE", "relayer.key", keyHex(in.Relayer)},
		{"BINANCE_API_KEY_FILE", "binance.key", in.BinanceKey},
		{"BINANCE_API_SECRET_FILE", "binance.secret", in.BinanceSecret},
	}
	out.Env = []string{"NATS_URL=" + in.NATS.URL(), "REDIS_URL=" + in.RedisURL}
	for _, f := range files {
		p, err := write(f.name, []byte(f.value+"\n"))
		if err != nil {
			return out, err
		}
		out.Env = append(out.Env, f.env+"="+p)
	}
	return out, nil
}

func keyHex(k *ecdsa.PrivateKey) string { return hex.EncodeToString(crypto.FromECDSA(k)) }

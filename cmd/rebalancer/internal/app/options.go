package app

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
)

// Options are what the command line and the environment give every service.
type Options struct {
	// OpsAddr is where /livez, /readyz, /metrics and /debug/pprof listen (":8080").
	OpsAddr string
	// NATS is the bus configuration; Name is set per service.
	NATS bus.Config
	// RedisURL is the executor's Redis.
	RedisURL string
	// ShutdownBudget bounds the ordered shutdown (default 20s, below Kubernetes' 30s grace).
	ShutdownBudget time.Duration
	// DryRun forces the executor's dry run whatever the file's executor.dryRun says: a latch that
	// only turns it on, so that an environment (the dev overlay) sharing production's config and
	// key shape cannot move funds.
	DryRun bool
	Log    zerolog.Logger
}

// EnvDryRun forces the executor's dry run (Options.DryRun): any value but "", "false" or "0".
const EnvDryRun = "EXECUTOR_DRY_RUN"

// OptionsFromEnv fills what the environment supplies: NATS_URL, NATS_CREDS_FILE, NATS_NKEY_FILE,
// NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY, REDIS_URL, EXECUTOR_DRY_RUN.
func OptionsFromEnv(log zerolog.Logger) Options {
	return Options{
		OpsAddr: ":8080",
		NATS: bus.Config{
			URL:       os.Getenv("NATS_URL"),
			CredsFile: os.Getenv("NATS_CREDS_FILE"),
			NKeyFile:  os.Getenv("NATS_NKEY_FILE"),
			TLSCA:     os.Getenv("NATS_TLS_CA"),
			TLSCert:   os.Getenv("NATS_TLS_CERT"),
			TLSKey:    os.Getenv("NATS_TLS_KEY"),
		},
		RedisURL:       os.Getenv("REDIS_URL"),
		ShutdownBudget: 20 * time.Second,
		DryRun:         dryRunFromEnv(os.Getenv(EnvDryRun)),
		Log:            log,
	}
}

// LoadConfig reads and validates the configuration file; an empty path is an error, because a
// service guessing its configuration could move real money by the wrong rules.
func LoadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, errors.New("no configuration: pass --config FILE (the devnet file is built in: `rebalancer devnet`)")
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// dryRunFromEnv fails safe: a value it cannot read as false forces the dry run.
func dryRunFromEnv(v string) bool {
	switch strings.TrimSpace(strings.ToLower(v)) {
	case "", "false", "0":
		return false
	}
	return true
}

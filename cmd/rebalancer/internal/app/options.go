package app

import (
	"errors"
	"fmt"
	"os"
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
	Log            zerolog.Logger
}

// OptionsFromEnv fills what the environment supplies: NATS_URL, NATS_CREDS_FILE, NATS_NKEY_FILE,
// NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY, REDIS_URL.
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

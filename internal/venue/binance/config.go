package binance

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Config configures one client, for one Binance account.
type Config struct {
	// BaseURL is the API root (https://api.binance.com); point it at the simulator in tests.
	BaseURL string
	// Credentials are the account's API key and secret (LoadCredentials).
	Credentials Credentials
	// Symbol is the spot market between the configured coins (USDCUSDT).
	Symbol string
	// Networks maps Binance network names to chains and the tokens the rebalancer moves there.
	Networks []Network
	// RecvWindow bounds how stale a signed request may arrive (5s; Binance allows up to 60s).
	RecvWindow time.Duration
	// Timeout bounds one HTTP request (10s).
	Timeout time.Duration
	// LookupLag is how long an id is looked up after an ambiguous answer before "absent" is trusted
	// within one call (2s). A later call looks up again before resubmitting.
	LookupLag time.Duration
	// RulesTTL is how long symbol rules and trade fees are cached (5m); Binance changes tick sizes
	// by announcement.
	RulesTTL time.Duration
	// RefreshEvery is how often Start resyncs the clock and re-reads the symbol's rules (1h).
	RefreshEvery time.Duration
	// WeightLimit is the /api request weight per minute the client allows itself (6000, Binance's
	// per-IP limit; lower it when processes share an IP). SAPIWeightLimit is the same for /sapi
	// (12000). Above 90% the client waits for the next minute.
	WeightLimit, SAPIWeightLimit int
	// MaxWait is the longest a request waits for a rate-limit window before failing with
	// ErrRateLimited (30s).
	MaxWait time.Duration
	// Transport is the base HTTP transport (http.DefaultTransport).
	Transport http.RoundTripper
	// Now and Sleep are the clock (time.Now and a timer that honours ctx).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Log   zerolog.Logger
	// Metrics receives rebal_venue_requests_total and rebal_venue_errors_total (nil: none).
	Metrics prometheus.Registerer
}

// Network is one Binance network the rebalancer uses.
type Network struct {
	Name    string // ETH, BSC, ARBITRUM, OPTIMISM, BASE, MATIC, ...
	ChainID uint64
	Tokens  []Token
}

// Token is a token on a network: the rebalancer's symbol, Binance's coin name (same unless
// set) and its decimals on that chain (18 for BSC stablecoins). Binance does not publish
// decimals; the contract address it reports is checked against Address when both are set.
type Token struct {
	Symbol   string
	Coin     string
	Decimals uint8
	Address  string
}

func (c *Config) setDefaults() error {
	if c.BaseURL == "" {
		return fmt.Errorf("%w: BaseURL", ErrConfig)
	}
	if c.Credentials.APIKey == "" || c.Credentials.secret == "" {
		return fmt.Errorf("%w: credentials", ErrConfig)
	}
	if c.Symbol == "" {
		c.Symbol = "USDCUSDT"
	}
	if len(c.Networks) == 0 {
		return fmt.Errorf("%w: no networks", ErrConfig)
	}
	for i, n := range c.Networks {
		if n.Name == "" || n.ChainID == 0 {
			return fmt.Errorf("%w: network %d needs a name and chain id", ErrConfig, i)
		}
		for j, t := range n.Tokens {
			if t.Symbol == "" {
				return fmt.Errorf("%w: network %s token %d needs a symbol", ErrConfig, n.Name, j)
			}
			if t.Coin == "" {
				c.Networks[i].Tokens[j].Coin = t.Symbol
			}
		}
	}
	if c.RecvWindow <= 0 {
		c.RecvWindow = 5 * time.Second
	}
	if c.RecvWindow > 60*time.Second {
		return fmt.Errorf("%w: recvWindow above 60s", ErrConfig)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.LookupLag <= 0 {
		c.LookupLag = 2 * time.Second
	}
	if c.RulesTTL <= 0 {
		c.RulesTTL = 5 * time.Minute
	}
	if c.RefreshEvery <= 0 {
		c.RefreshEvery = time.Hour
	}
	if c.WeightLimit <= 0 {
		c.WeightLimit = 6000
	}
	if c.SAPIWeightLimit <= 0 {
		c.SAPIWeightLimit = 12000
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 30 * time.Second
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Credentials are an API key and its secret. The secret is unexported and every way of printing
// Credentials redacts it, so it cannot reach a log line by accident.
type Credentials struct {
	APIKey string
	secret string
}

// NewCredentials builds credentials from a key and secret held elsewhere (env, a file, a vault).
func NewCredentials(apiKey, secret string) Credentials {
	return Credentials{APIKey: strings.TrimSpace(apiKey), secret: strings.TrimSpace(secret)}
}

// Environment variables LoadCredentials reads. *_FILE variants name files holding the value
// (Kubernetes secrets mounted as files).
const (
	EnvAPIKey        = "BINANCE_API_KEY"         //nolint:gosec // G101: the variable's name, not a credential
	EnvAPISecret     = "BINANCE_API_SECRET"      //nolint:gosec // G101: the variable's name, not a credential
	EnvAPIKeyFile    = "BINANCE_API_KEY_FILE"    //nolint:gosec // G101: the variable's name, not a credential
	EnvAPISecretFile = "BINANCE_API_SECRET_FILE" //nolint:gosec // G101: the variable's name, not a credential
)

// LoadCredentials reads the key and secret from the environment, or from the files the *_FILE
// variables name.
func LoadCredentials() (Credentials, error) {
	key, err := fromEnvOrFile(EnvAPIKey, EnvAPIKeyFile)
	if err != nil {
		return Credentials{}, err
	}
	secret, err := fromEnvOrFile(EnvAPISecret, EnvAPISecretFile)
	if err != nil {
		return Credentials{}, err
	}
	return NewCredentials(key, secret), nil
}

func fromEnvOrFile(env, fileEnv string) (string, error) {
	if v := strings.TrimSpace(os.Getenv(env)); v != "" {
		return v, nil
	}
	if path := os.Getenv(fileEnv); path != "" {
		b, err := os.ReadFile(path) //nolint:gosec // G703: the operator names the secret file
		if err != nil {
			return "", fmt.Errorf("%w: read %s: %w", ErrCredentials, fileEnv, err)
		}
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w: set %s or %s", ErrCredentials, env, fileEnv)
}

// String shows the key's first characters only.
func (c Credentials) String() string {
	k := c.APIKey
	if len(k) > 4 {
		k = k[:4]
	}
	return "binance-key(" + k + "…, secret redacted)"
}

// GoString redacts like String (for %#v).
func (c Credentials) GoString() string { return c.String() }

// MarshalJSON redacts like String.
func (c Credentials) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

// MarshalZerologObject redacts like String.
func (c Credentials) MarshalZerologObject(e *zerolog.Event) { e.Str("credentials", c.String()) }

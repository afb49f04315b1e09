package executor

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// Config is the executor's configuration.
type Config struct {
	// ReplicaID names this process in leases and logs (the pod name). Empty: a random one.
	ReplicaID string
	// Accounts are the relayer's own accounts: the only accounts whose intents are executed and
	// the only withdrawal destinations allowed (DESIGN §7).
	Accounts []string
	// Routes are the executable (venue, token, chain) entries: a Binance network ↔ chain id ↔ token
	// contract. An intent's source and destination must both be listed for its venue.
	Routes []RouteConfig
	// MaxPerIntent caps one intent's notional, in whole tokens (stablecoins count 1:1), e.g. "50000".
	MaxPerIntent string
	// MaxPerDay caps each venue's notional accepted in a rolling 24 h window, in whole tokens.
	MaxPerDay map[string]string
	// StepTimeout bounds how long an intent may stay in one state before it escalates to
	// needs_attention; per state, DefaultStepTimeout for the rest.
	StepTimeout        map[events.State]time.Duration
	DefaultStepTimeout time.Duration
	// LeaseTTL is the (venue, account) lease's time to live; it is renewed every LeaseTTL/3.
	LeaseTTL time.Duration
	// Tick is the reconcile loop's period (default 500ms).
	Tick time.Duration
	// Poll is how long an intent that made no progress rests before the venue and chains are
	// asked about it again (default 2s): venue lookups cost request weight (Binance's withdrawal
	// history is among the heaviest), and a tick is much shorter.
	Poll time.Duration
	// ResubmitLag is how long after an attempt whose outcome is unknown the venue's "not found" is
	// trusted enough to submit again (the venue's lookups may lag its writes).
	ResubmitLag time.Duration
	// GC says when legs of completed intents leave the ledger.
	GC pending.GCPolicy
	// DryRun decides and logs but sends nothing and writes nothing.
	DryRun bool
}

// RouteConfig is one executable way in or out of a venue.
type RouteConfig struct {
	Venue   string `yaml:"venue"`
	Token   string `yaml:"token"`
	ChainID uint64 `yaml:"chainId"`
	// Network is the venue's network name (BSC, ARBITRUM, ...).
	Network string `yaml:"network"`
	// TokenAddress is the token contract on the chain.
	TokenAddress string `yaml:"tokenAddress"`
	Decimals     uint8  `yaml:"decimals"`
}

// Default values for Config's zero fields.
const (
	DefaultLeaseTTL    = 6 * time.Second
	DefaultTick        = 500 * time.Millisecond
	DefaultPoll        = 2 * time.Second
	DefaultResubmitLag = 5 * time.Second
	DefaultTimeout     = 30 * time.Minute
)

// compiled is the validated configuration in the forms the executor uses.
type compiled struct {
	Config
	accounts     map[string]common.Address // normalized lowercase → address
	routes       map[routeKey]RouteConfig
	maxPerIntent *big.Rat
	maxPerDay    map[string]*big.Rat
}

type routeKey struct {
	venue   string
	token   string
	chainID uint64
}

func (c Config) compile() (*compiled, error) {
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.Tick <= 0 {
		c.Tick = DefaultTick
	}
	if c.Poll <= 0 {
		c.Poll = DefaultPoll
	}
	if c.ResubmitLag <= 0 {
		c.ResubmitLag = DefaultResubmitLag
	}
	if c.DefaultStepTimeout <= 0 {
		c.DefaultStepTimeout = DefaultTimeout
	}
	if c.GC.Retention <= 0 {
		c.GC.Retention = time.Hour
	}
	out := &compiled{Config: c, accounts: map[string]common.Address{}, routes: map[routeKey]RouteConfig{}, maxPerDay: map[string]*big.Rat{}}
	if len(c.Accounts) == 0 {
		return nil, fmt.Errorf("%w: no accounts", ErrConfig)
	}
	for _, a := range c.Accounts {
		n, err := pending.NormalizeAccount(a)
		if err != nil {
			return nil, fmt.Errorf("%w: account: %w", ErrConfig, err)
		}
		out.accounts[n] = common.HexToAddress(n)
	}
	for _, r := range c.Routes {
		if !events.IsKnownVenue(r.Venue) || r.Token == "" || r.ChainID == 0 || r.Network == "" || !common.IsHexAddress(r.TokenAddress) {
			return nil, fmt.Errorf("%w: route %+v: venue, token, chainId, network and tokenAddress are required", ErrConfig, r)
		}
		k := routeKey{r.Venue, r.Token, r.ChainID}
		if _, dup := out.routes[k]; dup {
			return nil, fmt.Errorf("%w: route %s %s on chain %d listed twice", ErrConfig, r.Venue, r.Token, r.ChainID)
		}
		out.routes[k] = r
	}
	var err error
	if out.maxPerIntent, err = parseCap("maxPerIntent", c.MaxPerIntent); err != nil {
		return nil, err
	}
	for v, s := range c.MaxPerDay {
		if !events.IsKnownVenue(v) {
			return nil, fmt.Errorf("%w: maxPerDay: unknown venue %q", ErrConfig, v)
		}
		if out.maxPerDay[v], err = parseCap("maxPerDay."+v, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseCap reads a cap in whole tokens as an exact rational (never a float).
func parseCap(field, s string) (*big.Rat, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: %s is required (a cap in whole tokens)", ErrConfig, field)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 || strings.ContainsAny(s, "eE/") {
		return nil, fmt.Errorf("%w: %s %q is not a positive decimal", ErrConfig, field, s)
	}
	return r, nil
}

func (c *compiled) timeout(s events.State) time.Duration {
	if d, ok := c.StepTimeout[s]; ok && d > 0 {
		return d
	}
	return c.DefaultStepTimeout
}

// route returns the configured route of (venue, token, chain).
func (c *compiled) route(v, token string, chainID uint64) (RouteConfig, bool) {
	r, ok := c.routes[routeKey{v, token, chainID}]
	return r, ok
}

// notional is amount/10^decimals whole tokens, exact.
func notional(a events.Amount, decimals uint8) *big.Rat {
	return new(big.Rat).SetFrac(a.Big(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))
}

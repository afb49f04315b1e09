package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file. Section order follows the file.
type Config struct {
	// Network names the deployment ("mainnet", "testnet", "devnet"); informational.
	Network string `yaml:"network"`
	// Accounts are the relayer addresses the rebalancer serves, EIP-55 checksummed.
	Accounts []string `yaml:"accounts"`
	Chains   []Chain  `yaml:"chains"`
	Tokens   []Token  `yaml:"tokens"`
	// Targets hold, per token and chain, where the balance should be (DESIGN §6).
	Targets []Target `yaml:"targets"`
	// Aggregates hold per-token totals; they drive decisions in planner.mode "aggregate".
	Aggregates []Aggregate `yaml:"aggregates,omitempty"`
	Venues     []Venue     `yaml:"venues"`
	Planner    Planner     `yaml:"planner"`
	// Watcher and Executor belong to those services; they are kept raw here until defined.
	Watcher  yaml.Node `yaml:"watcher,omitempty"`
	Executor yaml.Node `yaml:"executor,omitempty"`
}

// Chain is one EVM chain the rebalancer watches.
type Chain struct {
	ID   uint64 `yaml:"id"`
	Name string `yaml:"name"`
	// RPC are JSON-RPC URLs, tried in order. They may name secrets only through env expansion by
	// the service that reads them; they do not enter the config hash.
	RPC []string `yaml:"rpc"`
	// Confirmations is how far behind the head snapshots are read; Tag ("safe", "finalized")
	// replaces it on chains that have one.
	Confirmations uint64   `yaml:"confirmations,omitempty"`
	Tag           string   `yaml:"tag,omitempty"`
	PollInterval  Duration `yaml:"pollInterval"`
	// StaleAfter is how old (in stream time) the latest snapshot may be before the planner treats
	// the chain as stale and keeps it out of new intents.
	StaleAfter Duration `yaml:"staleAfter"`
}

// Token is one configured symbol with its contract and decimals per chain.
type Token struct {
	Symbol string       `yaml:"symbol"`
	Chains []TokenChain `yaml:"chains"`
	// FairPrice is the token's value in the common unit the planner compares amounts in (1 for a
	// stablecoin, the default). Spread costs are measured against it.
	FairPrice Decimal `yaml:"fairPrice,omitempty"`
}

// TokenChain is a token's deployment on one chain.
type TokenChain struct {
	Chain    uint64 `yaml:"chain"`
	Address  string `yaml:"address"`
	Decimals uint8  `yaml:"decimals"`
}

// Target is the wanted balance of one token on one chain. Below Threshold the chain is in deficit
// and is refilled to Target; above Max it has an excess that is moved away down to Target. Tier
// ranks deficits: tier 1 is filled before tier 2, whatever the cost.
type Target struct {
	Token     string  `yaml:"token"`
	Chain     uint64  `yaml:"chain"`
	Target    Decimal `yaml:"target"`
	Threshold Decimal `yaml:"threshold"`
	Max       Decimal `yaml:"max"`
	Tier      int     `yaml:"tier"`
}

// Aggregate is a per-token total across chains, used in aggregate mode: a token whose total falls
// below Threshold is refilled to Target from other tokens whose total is above their Max, placed on
// chains in tier order.
type Aggregate struct {
	Token     string  `yaml:"token"`
	Target    Decimal `yaml:"target"`
	Threshold Decimal `yaml:"threshold"`
	Max       Decimal `yaml:"max"`
}

// Venue is a venue account and the routes through it.
type Venue struct {
	Name string `yaml:"name"`
	// StaleAfter bounds the age of the venue's latest snapshot; older means its state is unknown.
	StaleAfter Duration `yaml:"staleAfter"`
	// MaxInFlight caps the venue's open intents; MaxNotional caps their total value (common unit).
	MaxInFlight int     `yaml:"maxInFlight"`
	MaxNotional Decimal `yaml:"maxNotional"`
	// MinTransfer and MaxTransfer bound one intent's size (common unit).
	MinTransfer Decimal `yaml:"minTransfer"`
	MaxTransfer Decimal `yaml:"maxTransfer"`
	// Cooldown is the minimum stream time between two intents on the same route through this
	// venue; planner.cooldown when zero.
	Cooldown Duration `yaml:"cooldown,omitempty"`
	// Legs are where funds enter and leave the venue.
	Legs []Leg `yaml:"legs"`
	// Trades are the books the venue converts tokens on.
	Trades []Trade `yaml:"trades,omitempty"`
}

// Leg is one (chain, token) gateway of a venue, with its static costs. Amounts are in the token's
// units on that chain; Latency is a rate charged on the amount for the time funds spend in transit
// through this gateway.
type Leg struct {
	Chain uint64 `yaml:"chain"`
	Token string `yaml:"token"`
	// Network is the venue's name for the gateway (Binance network "ARBITRUM"; Hyperliquid
	// "bridge2" or "hyperevm").
	Network  string `yaml:"network"`
	Deposit  bool   `yaml:"deposit"`
	Withdraw bool   `yaml:"withdraw"`
	// DepositMin: below it a deposit is lost or not credited (Hyperliquid Bridge2: 5 USDC).
	DepositMin Decimal `yaml:"depositMin,omitempty"`
	// DepositCost is the fixed cost of depositing (gas), in the token.
	DepositCost Decimal `yaml:"depositCost,omitempty"`
	WithdrawMin Decimal `yaml:"withdrawMin,omitempty"`
	WithdrawMax Decimal `yaml:"withdrawMax,omitempty"`
	// WithdrawFee is the venue's fixed withdrawal fee, in the token.
	WithdrawFee Decimal `yaml:"withdrawFee,omitempty"`
	Latency     Decimal `yaml:"latency,omitempty"`
}

// Trade is a book converting From into To, with its taker fee and the spread against the tokens'
// fair prices, both as rates of the amount.
type Trade struct {
	From   string  `yaml:"from"`
	To     string  `yaml:"to"`
	Fee    Decimal `yaml:"fee"`
	Spread Decimal `yaml:"spread"`
	// MinNotional is the book's minimum order value (common unit; Hyperliquid 10 USDC).
	MinNotional Decimal `yaml:"minNotional,omitempty"`
}

// Planner modes.
const (
	ModeChain     = "chain"
	ModeAggregate = "aggregate"
)

// What the planner does with a snapshot newer than the executor's ledger watermark (DESIGN §8).
const (
	AheadConservative = "conservative"
	AheadWait         = "wait"
)

// Planner holds the planner's own settings.
type Planner struct {
	// Mode is "chain" (per-chain targets, the default) or "aggregate" (per-token totals).
	Mode string `yaml:"mode"`
	// FeeBound caps an intent's total cost as a fraction of its amount (default 0.025).
	FeeBound Decimal `yaml:"feeBound"`
	// IntentTTL is added to the basis event's time to make the intent's deadline (default 30m).
	IntentTTL Duration `yaml:"intentTTL"`
	// Cooldown is the default per-route cooldown (default 10m).
	Cooldown Duration `yaml:"cooldown"`
	// AheadOfLedger is "conservative" (the default: count debits, not unconfirmed credits) or
	// "wait" (leave the location out until the watermark reaches the snapshot).
	AheadOfLedger string `yaml:"aheadOfLedger"`
	// SearchNodes bounds the matching's branch and bound (0: the planner's default). A plan cut
	// short is still feasible; its record says how far from optimal it can be at most.
	SearchNodes int `yaml:"searchNodes,omitempty"`
}

// Defaults for zero planner fields.
const (
	DefaultFeeBound  = "0.025"
	DefaultIntentTTL = 30 * time.Minute
	DefaultCooldown  = 10 * time.Minute
)

// Load reads, defaults and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads, defaults and validates a configuration. Unknown fields are errors: a misspelt key
// would otherwise silently fall back to a default.
func Parse(b []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) applyDefaults() {
	p := &c.Planner
	if p.Mode == "" {
		p.Mode = ModeChain
	}
	if !p.FeeBound.Set() {
		p.FeeBound = MustDecimal(DefaultFeeBound)
	}
	if p.IntentTTL.Duration == 0 {
		p.IntentTTL.Duration = DefaultIntentTTL
	}
	if p.Cooldown.Duration == 0 {
		p.Cooldown.Duration = DefaultCooldown
	}
	if p.AheadOfLedger == "" {
		p.AheadOfLedger = AheadConservative
	}
	for i := range c.Tokens {
		if !c.Tokens[i].FairPrice.Set() {
			c.Tokens[i].FairPrice = MustDecimal("1")
		}
	}
}

// TokenOn returns a token's deployment on a chain.
func (c *Config) TokenOn(symbol string, chain uint64) (TokenChain, bool) {
	for _, t := range c.Tokens {
		if t.Symbol != symbol {
			continue
		}
		for _, tc := range t.Chains {
			if tc.Chain == chain {
				return tc, true
			}
		}
	}
	return TokenChain{}, false
}

// Token returns a token by symbol.
func (c *Config) Token(symbol string) (Token, bool) {
	for _, t := range c.Tokens {
		if t.Symbol == symbol {
			return t, true
		}
	}
	return Token{}, false
}

// Chain returns a chain by id.
func (c *Config) Chain(id uint64) (Chain, bool) {
	for _, ch := range c.Chains {
		if ch.ID == id {
			return ch, true
		}
	}
	return Chain{}, false
}

// Venue returns a venue by name.
func (c *Config) Venue(name string) (Venue, bool) {
	for _, v := range c.Venues {
		if v.Name == name {
			return v, true
		}
	}
	return Venue{}, false
}

// RouteCooldown is the cooldown of routes through v.
func (c *Config) RouteCooldown(v Venue) time.Duration {
	if v.Cooldown.Duration > 0 {
		return v.Cooldown.Duration
	}
	return c.Planner.Cooldown.Duration
}

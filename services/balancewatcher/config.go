package balancewatcher

import (
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Config is what the watcher watches. Chain endpoints, confirmations and tags belong to the chain
// readers the caller builds; this is only what and how often.
type Config struct {
	// Accounts are the relayer's addresses.
	Accounts []common.Address
	Chains   []ChainConfig
	// Venues names the venue readers to poll (each must be in Deps.Venues).
	Venues []string
	// VenueInterval is how often venue balances are read (default 10s).
	VenueInterval time.Duration
	// Heartbeat is the longest a chain goes without a snapshot while its head stands still
	// (default 30s).
	Heartbeat time.Duration
	// MaxReorgDepth bounds how far back a reorg re-read starts when no published height below the
	// reorg is known (default 64).
	MaxReorgDepth uint64
	// RPCTimeout bounds each chain or venue call (default 10s).
	RPCTimeout time.Duration
}

// ChainConfig is one chain to watch.
type ChainConfig struct {
	ID   uint64
	Name string
	// PollInterval is how often the confirmed head is read (default 1s).
	PollInterval time.Duration
	// StaleAfter is how long without a successful read before the chain is reported stale
	// (default 10 × PollInterval, at least 30s).
	StaleAfter time.Duration
	Tokens     []Token
}

// Token is one ERC20 on one chain.
type Token struct {
	Symbol   string
	Address  common.Address
	Decimals uint8
}

// withDefaults fills zero values.
func (c Config) withDefaults() Config {
	if c.VenueInterval <= 0 {
		c.VenueInterval = 10 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 30 * time.Second
	}
	if c.MaxReorgDepth == 0 {
		c.MaxReorgDepth = 64
	}
	if c.RPCTimeout <= 0 {
		c.RPCTimeout = 10 * time.Second
	}
	chains := make([]ChainConfig, len(c.Chains))
	for i, ch := range c.Chains {
		if ch.PollInterval <= 0 {
			ch.PollInterval = time.Second
		}
		if ch.StaleAfter <= 0 {
			ch.StaleAfter = max(10*ch.PollInterval, 30*time.Second)
		}
		chains[i] = ch
	}
	c.Chains = chains
	return c
}

// Validate reports the first problem, naming the field.
func (c Config) Validate() error {
	if len(c.Accounts) == 0 {
		return errors.New("watcher.accounts: at least one account is required")
	}
	seenAcct := map[common.Address]bool{}
	for i, a := range c.Accounts {
		if a == (common.Address{}) {
			return fmt.Errorf("watcher.accounts[%d]: zero address", i)
		}
		if seenAcct[a] {
			return fmt.Errorf("watcher.accounts[%d]: %s listed twice", i, a)
		}
		seenAcct[a] = true
	}
	if len(c.Chains) == 0 && len(c.Venues) == 0 {
		return errors.New("watcher.chains: nothing to watch (no chains and no venues)")
	}
	seenChain := map[uint64]bool{}
	for i, ch := range c.Chains {
		f := fmt.Sprintf("watcher.chains[%d]", i)
		if ch.ID == 0 {
			return fmt.Errorf("%s.id: missing chain id", f)
		}
		if seenChain[ch.ID] {
			return fmt.Errorf("%s.id: chain %d listed twice", f, ch.ID)
		}
		seenChain[ch.ID] = true
		if len(ch.Tokens) == 0 {
			return fmt.Errorf("%s.tokens: no tokens to read on chain %d", f, ch.ID)
		}
		seenTok := map[string]bool{}
		for j, t := range ch.Tokens {
			tf := fmt.Sprintf("%s.tokens[%d]", f, j)
			if err := events.CheckToken(t.Symbol, t.Decimals); err != nil {
				return fmt.Errorf("%s: %w", tf, err)
			}
			if t.Address == (common.Address{}) {
				return fmt.Errorf("%s.address: zero address for %s", tf, t.Symbol)
			}
			if seenTok[t.Symbol] {
				return fmt.Errorf("%s.symbol: %s listed twice on chain %d", tf, t.Symbol, ch.ID)
			}
			seenTok[t.Symbol] = true
		}
		if ch.PollInterval < 0 || ch.StaleAfter < 0 {
			return fmt.Errorf("%s: negative interval", f)
		}
	}
	for i, v := range c.Venues {
		if !events.IsKnownVenue(v) {
			return fmt.Errorf("watcher.venues[%d]: unknown venue %q", i, v)
		}
	}
	return nil
}

package chain

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Finality says which block a chain's balances are read at.
type Finality string

const (
	// FinalityLatest reads at the head: fastest, may be reorged away.
	FinalityLatest Finality = "latest"
	// FinalityConfirmations reads at head minus Confirmations.
	FinalityConfirmations Finality = "confirmations"
	// FinalitySafe reads at the node's "safe" tag.
	FinalitySafe Finality = "safe"
	// FinalityFinalized reads at the node's "finalized" tag.
	FinalityFinalized Finality = "finalized"
)

// Config is one chain as this package reaches it.
type Config struct {
	ChainID uint64
	Name    string
	// RPCURLs are tried in order, sticking to the last one that worked. They
	// may carry provider keys: they are never logged or put in errors whole
	// (see redactURL).
	RPCURLs []string
	// Finality and Confirmations choose the settled head (Client.Settled).
	Finality      Finality
	Confirmations uint64
	// Multicall is the Multicall3 address; zero means the chain has none and
	// balances are read with individual eth_calls (sent as one JSON-RPC batch).
	Multicall common.Address
	// CallTimeout bounds one attempt on one endpoint (default 10s).
	CallTimeout time.Duration
	// MaxLogRange is the widest block range asked in one eth_getLogs
	// (default 2000); wider queries are split.
	MaxLogRange uint64
	// MaxBatch is the largest JSON-RPC batch sent (default 100).
	MaxBatch int
	Retry    RetryPolicy
}

// RetryPolicy controls retries of retryable failures (rate limits,
// unavailable endpoints, blocks a node does not have yet).
type RetryPolicy struct {
	// Attempts is the total number of tries over all endpoints (default:
	// 4 rounds over the endpoints, at least 4).
	Attempts int
	// BaseDelay is the backoff after the first full round over the
	// endpoints (default 100ms); it doubles each round up to MaxDelay
	// (default 5s). A 429's Retry-After lengthens the wait, still capped by
	// MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Sleep waits between rounds; nil uses a timer. Tests inject one to see
	// the backoff without waiting for it.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (c Config) withDefaults() Config {
	if c.Finality == "" {
		c.Finality = FinalityConfirmations
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.MaxLogRange == 0 {
		c.MaxLogRange = 2000
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 100
	}
	if c.Retry.Attempts <= 0 {
		c.Retry.Attempts = max(4, 4*len(c.RPCURLs))
	}
	if c.Retry.BaseDelay <= 0 {
		c.Retry.BaseDelay = 100 * time.Millisecond
	}
	if c.Retry.MaxDelay <= 0 {
		c.Retry.MaxDelay = 5 * time.Second
	}
	if c.Retry.Sleep == nil {
		c.Retry.Sleep = sleepCtx
	}
	return c
}

func (c Config) validate() error {
	if c.ChainID == 0 {
		return fmt.Errorf("%w: chain id 0", ErrInvalidConfig)
	}
	if len(c.RPCURLs) == 0 {
		return fmt.Errorf("chain %d: %w", c.ChainID, ErrNoEndpoint)
	}
	switch c.Finality {
	case FinalityLatest, FinalityConfirmations, FinalitySafe, FinalityFinalized:
	default:
		return fmt.Errorf("%w: chain %d: finality %q", ErrInvalidConfig, c.ChainID, c.Finality)
	}
	for _, u := range c.RPCURLs {
		if _, err := url.Parse(u); err != nil {
			return fmt.Errorf("%w: chain %d: rpc url %s: unparsable", ErrInvalidConfig, c.ChainID, redactURL(u))
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// redactURL keeps the scheme and host of an RPC URL: providers put API keys
// in the path, query or user info, and those must not reach logs or errors.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<rpc>"
	}
	return u.Scheme + "://" + u.Host
}

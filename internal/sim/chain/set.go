package simchain

import (
	"errors"
	"fmt"
)

// Set is several simulated chains started together, for devnet and for
// tests that need every chain.
type Set []*Chain

// StartAll starts a chain per config; if one fails, the ones already started
// are closed.
func StartAll(cfgs []Config) (Set, error) {
	set := make(Set, 0, len(cfgs))
	seen := map[uint64]bool{}
	for _, cfg := range cfgs {
		if seen[cfg.ChainID] {
			_ = set.Close()
			return nil, fmt.Errorf("%w: chain id %d twice", ErrInvalidConfig, cfg.ChainID)
		}
		seen[cfg.ChainID] = true
		c, err := New(cfg)
		if err != nil {
			_ = set.Close()
			return nil, fmt.Errorf("start chain %d (%s): %w", cfg.ChainID, cfg.Name, err)
		}
		set = append(set, c)
	}
	return set, nil
}

// Close closes every chain.
func (s Set) Close() error {
	var errs []error
	for _, c := range s {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// ByID returns the chain with chainID, or nil.
func (s Set) ByID(chainID uint64) *Chain {
	for _, c := range s {
		if c.ChainID() == chainID {
			return c
		}
	}
	return nil
}

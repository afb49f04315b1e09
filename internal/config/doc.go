// Package config is the schema of the one YAML file an operator writes for every rebalancer
// service: network, accounts, chains, tokens, targets, venues and the planner's settings. The
// watcher and executor sections are carried as raw YAML until their owners define them, so a file
// that already has them loads today.
//
// Guarantees:
//   - Amounts are written as human decimal strings ("50000", "1.5") and converted exactly to base
//     units with the token's decimals on that chain (big.Rat). More precision than the token has
//     is an error, never a silent rounding. Rates ("0.025") are exact big.Rat values. There is no
//     floating point anywhere in this package.
//   - Validate checks every section and returns all problems found, each naming the field path
//     ("targets[2].threshold: ..."), so an operator fixes a file in one pass.
//   - Hash is a stable hash of the canonical planner-relevant configuration (chains' staleness,
//     tokens, targets, venues, planner): independent of YAML formatting, key order and comments,
//     and of sections the planner does not read (RPC URLs, poll intervals, watcher, executor). It
//     is the configHash of every intent (DESIGN §6), so the same file always yields the same
//     intent ids and a changed target yields new ones.
//   - Default returns the embedded devnet configuration (devnet.yaml), which validates.
//
// Load reads and validates; Parse does the same from bytes. Both return errors wrapping
// ErrInvalid when the file is wrong, so callers tell a bad file from a missing one.
package config

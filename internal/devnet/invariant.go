package devnet

import (
	"context"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// valueDecimals is the common unit the check sums stablecoins in.
const valueDecimals = 18

// Checker checks DESIGN §8's conservation invariant as an inventory client would see it: for every
// chain c read at the ledger's asOf[c],
//
//	Σ balance(c, asOf[c]) + Σ legs in effect at asOf[c]
//	  = baseline + external flows up to asOf[c] − Σ over intents (source amount − destination amount)
//
// summed over chains and tokens in a common 18-decimal unit (the tokens are stablecoins). An
// intent still in the ledger contributes its own legs' amounts; one the executor removed after
// completion contributes the amounts of its last execution update. A leg counted twice or lost
// breaks the equation by that leg's amount.
type Checker struct {
	Config  *config.Config
	Account common.Address
	Clients map[uint64]*chain.Client
	Redis   redis.UniversalClient
	Tracker *Tracker
	Load    *Load

	mu         sync.Mutex
	baseBlock  map[uint64]uint64
	baseValue  *big.Int
	checks     int
	violations int
	samples    []string
}

// Baseline records each chain's head and the value held there; the check runs once every chain's
// asOf has reached its baseline block.
func (c *Checker) Baseline(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.baseBlock = map[uint64]uint64{}
	c.baseValue = new(big.Int)
	for id, cl := range c.Clients {
		n, err := cl.HeadNumber(ctx)
		if err != nil {
			return err
		}
		v, err := c.valueAt(ctx, id, n)
		if err != nil {
			return err
		}
		c.baseBlock[id] = n
		c.baseValue.Add(c.baseValue, v)
	}
	return nil
}

func scaleTo18(x *big.Int, decimals uint8) *big.Int {
	if decimals >= valueDecimals {
		return new(big.Int).Quo(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals-valueDecimals)), nil))
	}
	return new(big.Int).Mul(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(valueDecimals-decimals)), nil))
}

// valueAt is the account's tokens on chain id at block n, in the common unit, read in one round
// trip.
func (c *Checker) valueAt(ctx context.Context, id, n uint64) (*big.Int, error) {
	var tokens []common.Address
	var decimals []uint8
	for _, t := range c.Config.Tokens {
		if tc, ok := c.Config.TokenOn(t.Symbol, id); ok {
			tokens = append(tokens, common.HexToAddress(tc.Address))
			decimals = append(decimals, tc.Decimals)
		}
	}
	snap, err := c.Clients[id].SnapshotAt(ctx, n, tokens, []common.Address{c.Account})
	if err != nil {
		return nil, fmt.Errorf("balances on %d at %d: %w", id, n, err)
	}
	total := new(big.Int)
	for i, tok := range tokens {
		bal, ok := snap.Get(tok, c.Account)
		if !ok {
			return nil, fmt.Errorf("balance of %s on %d at %d missing", tok.Hex(), id, n)
		}
		total.Add(total, scaleTo18(bal, decimals[i]))
	}
	return total, nil
}

// Check runs the check once. It reports false when it could not run yet (some chain's asOf is
// behind its baseline).
func (c *Checker) Check(ctx context.Context) (ran bool, err error) {
	key, err := pending.LedgerKey(c.Account.Hex())
	if err != nil {
		return false, err
	}
	fields, err := c.Redis.HGetAll(ctx, key).Result()
	if err != nil {
		return false, err
	}
	view, err := pending.Parse(c.Account.Hex(), fields, nil)
	if err != nil {
		c.record(fmt.Sprintf("ledger does not parse: %v", err))
		return true, nil
	}
	c.mu.Lock()
	base, baseBlock := new(big.Int).Set(c.baseValue), c.baseBlock
	c.mu.Unlock()

	have := new(big.Int)
	asOf := map[uint64]uint64{}
	for id := range c.Clients {
		a := view.Chains[id].AsOf
		if a < baseBlock[id] {
			return false, nil
		}
		asOf[id] = a
		v, err := c.valueAt(ctx, id, a)
		if err != nil {
			return false, err
		}
		have.Add(have, v)
		for _, t := range view.Chains[id].Tokens {
			have.Add(have, scaleTo18(t.Amount, t.Decimals))
		}
	}

	want := base
	for _, f := range c.Load.Flows() {
		if b := baseBlock[f.Chain]; f.Block > b && f.Block <= asOf[f.Chain] {
			tc, _ := c.Config.TokenOn(f.Token, f.Chain)
			want.Add(want, scaleTo18(f.Delta, tc.Decimals))
		}
	}
	// What each intent took out of the inventory: its legs' sum, from the ledger while it is
	// there, from its last execution update once it is gone.
	inLedger := map[string]*big.Int{}
	for _, l := range view.Legs() {
		s := inLedger[l.IntentID]
		if s == nil {
			s = new(big.Int)
			inLedger[l.IntentID] = s
		}
		s.Add(s, scaleTo18(l.Amount, l.Decimals))
	}
	for _, s := range inLedger {
		want.Add(want, s)
	}
	for id, legs := range c.Tracker.lastLegs() {
		if _, ok := inLedger[id]; ok {
			continue
		}
		for _, l := range legs {
			want.Add(want, scaleTo18(l.Amount.Big(), l.Decimals))
		}
	}
	c.mu.Lock()
	c.checks++
	c.mu.Unlock()
	if have.Cmp(want) != 0 {
		c.record(fmt.Sprintf("chains+legs at asOf %v = %s, inventory = %s (diff %s, 18 decimals)", asOf, have, want, new(big.Int).Sub(have, want)))
	}
	return true, nil
}

func (c *Checker) record(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violations++
	if len(c.samples) < 5 {
		c.samples = append(c.samples, s)
	}
}

// Results are the number of checks run, violations and a few samples.
func (c *Checker) Results() (checks, violations int, samples []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checks, c.violations, append([]string(nil), c.samples...)
}

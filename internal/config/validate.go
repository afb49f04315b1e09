package config

import (
	"fmt"
	"math/big"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// MaxTier is the lowest priority a target may have; tiers run 1 (first) to MaxTier.
const MaxTier = 4

// Validate checks every section and returns Errors listing each problem with its field path. The
// watcher and executor sections are left to their services' own validation.
func (c *Config) Validate() error {
	var p problems
	if c.Network == "" {
		p.add("network", "missing (mainnet, testnet, devnet, ...)")
	}
	c.validateAccounts(&p)
	c.validateChains(&p)
	c.validateTokens(&p)
	c.validateTargets(&p)
	c.validateAggregates(&p)
	c.validateVenues(&p)
	c.validatePlanner(&p)
	return p.err()
}

// ValueDecimals is the precision of the common unit the planner compares amounts in: the smallest
// decimals of any configured token deployment, so every token amount converts to it by an exact
// power of ten (rounded down where a token has more decimals).
func (c *Config) ValueDecimals() uint8 {
	d := uint8(255)
	for _, t := range c.Tokens {
		for _, tc := range t.Chains {
			d = min(d, tc.Decimals)
		}
	}
	if d == 255 {
		return 6
	}
	return d
}

func (c *Config) validateAccounts(p *problems) {
	if len(c.Accounts) == 0 {
		p.add("accounts", "at least one account is required")
	}
	seen := map[string]bool{}
	for i, a := range c.Accounts {
		f := fmt.Sprintf("accounts[%d]", i)
		if cs := events.ChecksumAddress(a); cs == "" {
			p.add(f, "%q is not a 0x-prefixed 20-byte hex address", a)
		} else if cs != a {
			p.add(f, "%q is not EIP-55 checksummed (want %s)", a, cs)
		}
		if seen[a] {
			p.add(f, "%s listed twice", a)
		}
		seen[a] = true
	}
}

func (c *Config) validateChains(p *problems) {
	if len(c.Chains) == 0 {
		p.add("chains", "at least one chain is required")
	}
	seen := map[uint64]bool{}
	for i, ch := range c.Chains {
		f := fmt.Sprintf("chains[%d]", i)
		if ch.ID == 0 {
			p.add(f+".id", "missing")
		} else if seen[ch.ID] {
			p.add(f+".id", "chain %d listed twice", ch.ID)
		}
		seen[ch.ID] = true
		if ch.Name == "" {
			p.add(f+".name", "missing")
		}
		if len(ch.RPC) == 0 {
			p.add(f+".rpc", "at least one JSON-RPC URL is required")
		}
		for j, u := range ch.RPC {
			if u == "" {
				p.add(fmt.Sprintf("%s.rpc[%d]", f, j), "empty URL")
			}
		}
		switch ch.Tag {
		case "", "latest", "safe", "finalized":
		default:
			p.add(f+".tag", "%q is not latest, safe or finalized", ch.Tag)
		}
		if ch.Tag != "" && ch.Confirmations > 0 {
			p.add(f+".confirmations", "set together with tag %q: choose one", ch.Tag)
		}
		if ch.PollInterval.Duration <= 0 {
			p.add(f+".pollInterval", "must be positive")
		}
		if ch.StaleAfter.Duration <= 0 {
			p.add(f+".staleAfter", "must be positive")
		} else if ch.StaleAfter.Duration < ch.PollInterval.Duration {
			p.add(f+".staleAfter", "%s is shorter than pollInterval %s: every snapshot would be stale", ch.StaleAfter, ch.PollInterval)
		}
	}
}

func validSymbol(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func (c *Config) validateTokens(p *problems) {
	if len(c.Tokens) == 0 {
		p.add("tokens", "at least one token is required")
	}
	seen := map[string]bool{}
	for i, t := range c.Tokens {
		f := fmt.Sprintf("tokens[%d]", i)
		if !validSymbol(t.Symbol) {
			p.add(f+".symbol", "%q: 1 to 16 of A-Z and 0-9", t.Symbol)
		}
		if seen[t.Symbol] {
			p.add(f+".symbol", "%s listed twice", t.Symbol)
		}
		seen[t.Symbol] = true
		if t.FairPrice.Set() && t.FairPrice.IsZero() {
			p.add(f+".fairPrice", "must be positive")
		}
		if len(t.Chains) == 0 {
			p.add(f+".chains", "at least one chain is required")
		}
		chains := map[uint64]bool{}
		for j, tc := range t.Chains {
			g := fmt.Sprintf("%s.chains[%d]", f, j)
			if _, ok := c.Chain(tc.Chain); !ok {
				p.add(g+".chain", "chain %d is not in chains", tc.Chain)
			}
			if chains[tc.Chain] {
				p.add(g+".chain", "chain %d listed twice for %s", tc.Chain, t.Symbol)
			}
			chains[tc.Chain] = true
			if cs := events.ChecksumAddress(tc.Address); cs == "" {
				p.add(g+".address", "%q is not a 0x-prefixed 20-byte hex address", tc.Address)
			} else if cs != tc.Address {
				p.add(g+".address", "%q is not EIP-55 checksummed (want %s)", tc.Address, cs)
			}
			if tc.Decimals == 0 || tc.Decimals > 36 {
				p.add(g+".decimals", "%d: want 1 to 36", tc.Decimals)
			}
		}
	}
}

// units converts d for a token on a chain, reporting a problem at path when it cannot.
func (c *Config) units(p *problems, path string, d Decimal, token string, chain uint64) *big.Int {
	tc, ok := c.TokenOn(token, chain)
	if !ok {
		return nil
	}
	u, err := d.Units(tc.Decimals)
	if err != nil {
		p.add(path, "%v", err)
		return nil
	}
	return u
}

func (c *Config) valueUnits(p *problems, path string, d Decimal) *big.Int {
	u, err := d.Units(c.ValueDecimals())
	if err != nil {
		p.add(path, "%v", err)
		return nil
	}
	return u
}

// orderBand checks threshold ≤ target ≤ max on converted amounts.
func orderBand(p *problems, f string, threshold, target, max *big.Int) {
	if threshold == nil || target == nil || max == nil {
		return
	}
	if threshold.Cmp(target) > 0 {
		p.add(f+".threshold", "above target")
	}
	if target.Cmp(max) > 0 {
		p.add(f+".max", "below target")
	}
}

func (c *Config) validateTargets(p *problems) {
	if len(c.Targets) == 0 {
		p.add("targets", "at least one target is required")
	}
	type key struct {
		token string
		chain uint64
	}
	seen := map[key]bool{}
	for i, t := range c.Targets {
		f := fmt.Sprintf("targets[%d]", i)
		if _, ok := c.Token(t.Token); !ok {
			p.add(f+".token", "%q is not in tokens", t.Token)
		} else if _, ok := c.TokenOn(t.Token, t.Chain); !ok {
			p.add(f+".chain", "%s has no deployment on chain %d in tokens", t.Token, t.Chain)
		}
		if seen[key{t.Token, t.Chain}] {
			p.add(f, "%s on chain %d listed twice", t.Token, t.Chain)
		}
		seen[key{t.Token, t.Chain}] = true
		for _, d := range []struct {
			name string
			v    Decimal
		}{{"target", t.Target}, {"threshold", t.Threshold}, {"max", t.Max}} {
			if !d.v.Set() {
				p.add(f+"."+d.name, "missing")
			}
		}
		if !t.Target.Set() || !t.Threshold.Set() || !t.Max.Set() {
			continue
		}
		orderBand(p, f,
			c.units(p, f+".threshold", t.Threshold, t.Token, t.Chain),
			c.units(p, f+".target", t.Target, t.Token, t.Chain),
			c.units(p, f+".max", t.Max, t.Token, t.Chain))
		if t.Tier < 1 || t.Tier > MaxTier {
			p.add(f+".tier", "%d: want 1 (first) to %d", t.Tier, MaxTier)
		}
	}
}

func (c *Config) validateAggregates(p *problems) {
	if c.Planner.Mode == ModeAggregate && len(c.Aggregates) == 0 {
		p.add("aggregates", "planner.mode is aggregate but no aggregate is configured")
	}
	seen := map[string]bool{}
	for i, a := range c.Aggregates {
		f := fmt.Sprintf("aggregates[%d]", i)
		if _, ok := c.Token(a.Token); !ok {
			p.add(f+".token", "%q is not in tokens", a.Token)
		}
		if seen[a.Token] {
			p.add(f+".token", "%s listed twice", a.Token)
		}
		seen[a.Token] = true
		if !a.Target.Set() || !a.Threshold.Set() || !a.Max.Set() {
			p.add(f, "target, threshold and max are all required")
			continue
		}
		orderBand(p, f, c.valueUnits(p, f+".threshold", a.Threshold), c.valueUnits(p, f+".target", a.Target), c.valueUnits(p, f+".max", a.Max))
	}
}

// rateBelowOne checks a rate is in [0, 1).
func rateBelowOne(p *problems, path string, d Decimal) {
	if d.Set() && d.Rat().Cmp(big.NewRat(1, 1)) >= 0 {
		p.add(path, "%s: a rate must be below 1", d)
	}
}

func (c *Config) validateVenues(p *problems) {
	if len(c.Venues) == 0 {
		p.add("venues", "at least one venue is required")
	}
	seen := map[string]bool{}
	for i, v := range c.Venues {
		f := fmt.Sprintf("venues[%d]", i)
		if !events.IsKnownVenue(v.Name) {
			p.add(f+".name", "%q is not a known venue (%v)", v.Name, events.KnownVenues)
		}
		if seen[v.Name] {
			p.add(f+".name", "%s listed twice", v.Name)
		}
		seen[v.Name] = true
		if v.StaleAfter.Duration <= 0 {
			p.add(f+".staleAfter", "must be positive")
		}
		if v.MaxInFlight < 1 {
			p.add(f+".maxInFlight", "must be at least 1")
		}
		if v.Cooldown.Duration < 0 {
			p.add(f+".cooldown", "negative")
		}
		notional := c.valueUnits(p, f+".maxNotional", v.MaxNotional)
		if notional != nil && notional.Sign() == 0 {
			p.add(f+".maxNotional", "must be positive")
		}
		lo := c.valueUnits(p, f+".minTransfer", v.MinTransfer)
		hi := c.valueUnits(p, f+".maxTransfer", v.MaxTransfer)
		if hi != nil && hi.Sign() == 0 {
			p.add(f+".maxTransfer", "must be positive")
		}
		if lo != nil && hi != nil && lo.Cmp(hi) > 0 {
			p.add(f+".minTransfer", "above maxTransfer")
		}
		if len(v.Legs) == 0 {
			p.add(f+".legs", "at least one leg is required")
		}
		type key struct {
			chain uint64
			token string
		}
		legs := map[key]bool{}
		for j, l := range v.Legs {
			g := fmt.Sprintf("%s.legs[%d]", f, j)
			if _, ok := c.TokenOn(l.Token, l.Chain); !ok {
				p.add(g, "%s on chain %d is not in tokens", l.Token, l.Chain)
			}
			if legs[key{l.Chain, l.Token}] {
				p.add(g, "%s on chain %d listed twice", l.Token, l.Chain)
			}
			legs[key{l.Chain, l.Token}] = true
			if l.Network == "" {
				p.add(g+".network", "missing")
			}
			if !l.Deposit && !l.Withdraw {
				p.add(g, "neither deposit nor withdraw: the leg is useless")
			}
			c.units(p, g+".depositMin", l.DepositMin, l.Token, l.Chain)
			c.units(p, g+".depositCost", l.DepositCost, l.Token, l.Chain)
			c.units(p, g+".withdrawFee", l.WithdrawFee, l.Token, l.Chain)
			wmin := c.units(p, g+".withdrawMin", l.WithdrawMin, l.Token, l.Chain)
			wmax := c.units(p, g+".withdrawMax", l.WithdrawMax, l.Token, l.Chain)
			if wmin != nil && wmax != nil && wmax.Sign() > 0 && wmin.Cmp(wmax) > 0 {
				p.add(g+".withdrawMin", "above withdrawMax")
			}
			rateBelowOne(p, g+".latency", l.Latency)
		}
		type pair struct{ from, to string }
		trades := map[pair]bool{}
		for j, t := range v.Trades {
			g := fmt.Sprintf("%s.trades[%d]", f, j)
			if _, ok := c.Token(t.From); !ok {
				p.add(g+".from", "%q is not in tokens", t.From)
			}
			if _, ok := c.Token(t.To); !ok {
				p.add(g+".to", "%q is not in tokens", t.To)
			}
			if t.From == t.To {
				p.add(g, "from and to are both %s", t.From)
			}
			if trades[pair{t.From, t.To}] {
				p.add(g, "%s→%s listed twice", t.From, t.To)
			}
			trades[pair{t.From, t.To}] = true
			if !t.Fee.Set() {
				p.add(g+".fee", "missing")
			}
			rateBelowOne(p, g+".fee", t.Fee)
			rateBelowOne(p, g+".spread", t.Spread)
			c.valueUnits(p, g+".minNotional", t.MinNotional)
		}
	}
}

func (c *Config) validatePlanner(p *problems) {
	pl := c.Planner
	switch pl.Mode {
	case ModeChain, ModeAggregate:
	default:
		p.add("planner.mode", "%q is not chain or aggregate", pl.Mode)
	}
	if pl.FeeBound.IsZero() {
		p.add("planner.feeBound", "must be positive")
	}
	rateBelowOne(p, "planner.feeBound", pl.FeeBound)
	if pl.IntentTTL.Duration <= 0 {
		p.add("planner.intentTTL", "must be positive")
	}
	if pl.Cooldown.Duration < 0 {
		p.add("planner.cooldown", "negative")
	}
	if pl.SearchNodes < 0 {
		p.add("planner.searchNodes", "negative")
	}
	switch pl.AheadOfLedger {
	case AheadConservative, AheadWait:
	default:
		p.add("planner.aheadOfLedger", "%q is not conservative or wait", pl.AheadOfLedger)
	}
}

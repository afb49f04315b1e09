package planner

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Policy is a configuration prepared for the core: targets in base units, limits in value units,
// everything sorted so that iteration order never depends on a map. It is immutable.
type Policy struct {
	cfg      *config.Config
	hash     string
	vdec     uint8
	feeBound *big.Rat
	nodes    []nodePolicy // sorted by chain, token
	nodeIdx  map[nodeKey]int
	venues   []venuePolicy // sorted by name
	aggs     map[string]aggPolicy
	tokens   map[string]*big.Rat // fair prices
	// warmup is how long, in stream time after an account's first snapshot, the planner waits
	// for a first snapshot of each of its locations before deciding without them: the largest
	// staleAfter of the configured chains and venues (see warmingUp).
	warmup time.Duration
	// searchNodes bounds the solver's branch and bound (planner.searchNodes).
	searchNodes int
	// augmentGuard, when positive, bounds each min-cost flow's augmentations (tests); zero
	// leaves augmentGuard's default.
	augmentGuard int
	// arcs caches what each candidate costs under a static cost table (a cache: decisions do
	// not depend on it).
	arcs arcCache
}

type nodeKey struct {
	chain uint64
	token string
}

type nodePolicy struct {
	nodeKey
	decimals                 uint8
	address                  string
	target, threshold, upper *big.Int
	tier                     int
	hasTarget                bool
	staleAfter               time.Duration
	// where names the location in records: "chain/token".
	where string
	// idx is the node's index in Policy.nodes.
	idx int
	// div is 10^(decimals − value decimals) when the fair price is 1 and that fits a uint64:
	// then value conversions are one integer division (0 means use big.Rat).
	div uint64
}

type venuePolicy struct {
	name                  string
	maxCount              int
	maxValue              int64
	minValue, maxTransfer int64
	cooldown, staleAfter  time.Duration
}

type aggPolicy struct {
	target, threshold, upper int64 // value units
}

// NewPolicy prepares cfg, which must have passed Validate.
func NewPolicy(cfg *config.Config) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return newPolicy(cfg)
}

// newPolicy prepares a configuration without validating it (benchmarks use venues the event
// contract does not know yet).
func newPolicy(cfg *config.Config) (*Policy, error) {
	p := &Policy{cfg: cfg, hash: cfg.Hash(), vdec: cfg.ValueDecimals(), feeBound: cfg.Planner.FeeBound.Rat(), searchNodes: cfg.Planner.SearchNodes,
		nodeIdx: map[nodeKey]int{}, aggs: map[string]aggPolicy{}, tokens: map[string]*big.Rat{}}
	for _, c := range cfg.Chains {
		p.warmup = max(p.warmup, c.StaleAfter.Duration)
	}
	for _, v := range cfg.Venues {
		p.warmup = max(p.warmup, v.StaleAfter.Duration)
	}
	for _, t := range cfg.Tokens {
		p.tokens[t.Symbol] = t.FairPrice.Rat()
		for _, tc := range t.Chains {
			ch, _ := cfg.Chain(tc.Chain)
			p.nodes = append(p.nodes, nodePolicy{nodeKey: nodeKey{tc.Chain, t.Symbol}, where: fmt.Sprintf("%d/%s", tc.Chain, t.Symbol), decimals: tc.Decimals, address: tc.Address, staleAfter: ch.StaleAfter.Duration})
		}
	}
	slices.SortFunc(p.nodes, func(a, b nodePolicy) int { return cmpNode(a.nodeKey, b.nodeKey) })
	for i := range p.nodes {
		n := &p.nodes[i]
		p.nodeIdx[n.nodeKey] = i
		n.idx = i
		if p.tokens[n.token].Cmp(big.NewRat(1, 1)) == 0 && n.decimals >= p.vdec && n.decimals-p.vdec <= 19 {
			n.div = pow10(n.decimals - p.vdec).Uint64()
		}
	}
	var err error
	for _, t := range cfg.Targets {
		n := &p.nodes[p.nodeIdx[nodeKey{t.Chain, t.Token}]]
		n.hasTarget, n.tier = true, t.Tier
		if n.target, err = t.Target.Units(n.decimals); err != nil {
			return nil, err
		}
		if n.threshold, err = t.Threshold.Units(n.decimals); err != nil {
			return nil, err
		}
		if n.upper, err = t.Max.Units(n.decimals); err != nil {
			return nil, err
		}
	}
	for _, a := range cfg.Aggregates {
		p.aggs[a.Token] = aggPolicy{target: p.valueOf(a.Target), threshold: p.valueOf(a.Threshold), upper: p.valueOf(a.Max)}
	}
	for _, v := range cfg.Venues {
		p.venues = append(p.venues, venuePolicy{name: v.Name, maxCount: v.MaxInFlight, maxValue: p.valueOf(v.MaxNotional),
			minValue: p.valueOf(v.MinTransfer), maxTransfer: p.valueOf(v.MaxTransfer), cooldown: cfg.RouteCooldown(v), staleAfter: v.StaleAfter.Duration})
	}
	slices.SortFunc(p.venues, func(a, b venuePolicy) int { return compareStr(a.name, b.name) })
	return p, nil
}

// ConfigHash is the hash of the configuration, the basis of every intent id.
func (p *Policy) ConfigHash() string { return p.hash }

// Config returns the configuration the policy was made from.
func (p *Policy) Config() *config.Config { return p.cfg }

func cmpNode(a, b nodeKey) int {
	if a.chain != b.chain {
		if a.chain < b.chain {
			return -1
		}
		return 1
	}
	return compareStr(a.token, b.token)
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// valueOf converts a validated common-unit decimal to value units.
func (p *Policy) valueOf(d config.Decimal) int64 {
	u, err := d.Units(p.vdec)
	if err != nil {
		panic(fmt.Sprintf("planner: validated decimal %s does not convert: %v", d, err))
	}
	return clampInt64(u)
}

// maxValue bounds value amounts so that sums of many of them stay inside int64.
const maxValue = math.MaxInt64 / 1024

func clampInt64(x *big.Int) int64 {
	if !x.IsInt64() || x.Int64() > maxValue {
		return maxValue
	}
	return x.Int64()
}

// toValue converts base units of a node's token to value units, rounded down or up.
func (p *Policy) toValue(n *nodePolicy, base *big.Int, up bool) int64 {
	if n.div != 0 && base.IsUint64() {
		q, r := base.Uint64()/n.div, base.Uint64()%n.div
		if up && r != 0 {
			q++
		}
		if q > maxValue {
			return maxValue
		}
		return int64(q)
	}
	x := new(big.Rat).SetInt(base)
	x.Mul(x, p.tokens[n.token])
	x.Quo(x, new(big.Rat).SetInt(pow10(n.decimals)))
	x.Mul(x, new(big.Rat).SetInt(pow10(p.vdec)))
	return clampInt64(roundRat(x, up))
}

// fromValue converts value units to base units of a node's token, rounded down.
func (p *Policy) fromValue(n *nodePolicy, v int64) *big.Int {
	if n.div != 0 { // fair price 1: exactly v·10^(decimals − value decimals)
		x := new(big.Int).SetUint64(n.div)
		return x.Mul(x, big.NewInt(v))
	}
	x := new(big.Rat).SetInt64(v)
	x.Quo(x, new(big.Rat).SetInt(pow10(p.vdec)))
	x.Quo(x, p.tokens[n.token])
	x.Mul(x, new(big.Rat).SetInt(pow10(n.decimals)))
	return roundRat(x, false)
}

// convert turns an amount of one node's token into another's at fair prices, rounded down.
func (p *Policy) convert(from, to *nodePolicy, amount *big.Int) *big.Int {
	if p.tokens[from.token].Cmp(p.tokens[to.token]) == 0 { // same fair price: decimals only
		if to.decimals >= from.decimals {
			return new(big.Int).Mul(amount, pow10(to.decimals-from.decimals))
		}
		return new(big.Int).Quo(amount, pow10(from.decimals-to.decimals))
	}
	x := new(big.Rat).SetInt(amount)
	x.Mul(x, p.tokens[from.token])
	x.Quo(x, p.tokens[to.token])
	x.Mul(x, new(big.Rat).SetInt(pow10(to.decimals)))
	x.Quo(x, new(big.Rat).SetInt(pow10(from.decimals)))
	return roundRat(x, false)
}

func (p *Policy) node(chain uint64, token string) (*nodePolicy, bool) {
	i, ok := p.nodeIdx[nodeKey{chain, token}]
	if !ok {
		return nil, false
	}
	return &p.nodes[i], true
}

func (p *Policy) route(src, dst *nodePolicy) events.Route {
	return events.Route{SrcChain: src.chain, SrcToken: src.token, SrcDecimals: src.decimals, DstChain: dst.chain, DstToken: dst.token, DstDecimals: dst.decimals}
}

func neg(x *big.Int) *big.Int { return x.Neg(x) }

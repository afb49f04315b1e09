package planner

import (
	"fmt"
	"math/big"
	"slices"
	"sync"
)

// arcBase is the part of a candidate (venue, source location, destination location) that
// depends only on the configuration and the route's quote: whether the venue serves the route,
// a fee-bound rejection, and the solver's rate, fixed cost, least size and the quote's largest
// size in value units. Each decision adds only what depends on the state (the excess, the
// deficit, the venue's room).
type arcBase struct {
	quote Quote
	// noRoute says the venue does not serve the route (not worth a line in the record).
	noRoute bool
	// why is set when the route is ruled out whatever the amounts (the fee bound).
	why             string
	rate, fixed, lo int64
	maxQuote        int64 // the quote's Max in value units; maxValue when it has none
	maxTransfer     int64 // the venue's
}

// baseOf computes a candidate's arcBase from its quote.
func (pol *Policy) baseOf(src *nodePolicy, vp *venuePolicy, q Quote, err error) arcBase {
	if err != nil {
		return arcBase{noRoute: true}
	}
	b := arcBase{quote: q, maxQuote: maxValue, maxTransfer: vp.maxTransfer}
	// The quote's integer parts, cross-multiplied: no big.Rat is normalised.
	rn, rd := q.Rate.Num(), q.Rate.Denom()
	bn, bd := pol.feeBound.Num(), pol.feeBound.Denom()
	var rb, br, x, m big.Int
	rb.Mul(rn, bd) // rate < bound ⇔ rn·bd < bn·rd
	br.Mul(bn, rd)
	if rb.Cmp(&br) >= 0 {
		b.why = fmt.Sprintf("fee bound: proportional cost %s alone reaches the bound %s", ratPct(q.Rate), ratPct(pol.feeBound))
		return b
	}
	x.Mul(rn, bigRateScale)
	x.QuoRem(&x, rd, &m)
	if m.Sign() != 0 {
		x.Add(&x, bigOne)
	}
	b.rate, b.fixed = clampInt64(&x), pol.toValue(src, q.Fixed, true)
	b.lo = max(vp.minValue, pol.toValue(src, q.Min, true), 1)
	// Fee bound with the fixed cost: rate·x + fixed ≤ bound·x ⇔ x ≥ fixed / (bound − rate)
	// = fixed·bd·rd / (bn·rd − rn·bd), rounded up.
	if b.fixed > 0 {
		br.Sub(&br, &rb)
		x.SetInt64(b.fixed)
		x.Mul(&x, bd)
		x.Mul(&x, rd)
		x.QuoRem(&x, &br, &m)
		if m.Sign() != 0 {
			x.Add(&x, bigOne)
		}
		b.lo = max(b.lo, clampInt64(&x))
	}
	if q.Max != nil {
		b.maxQuote = pol.toValue(src, q.Max, false)
	}
	return b
}

// arcCache keeps the arcBase of each candidate a decision has met, for a cost model whose
// quotes never change (StaticCosts): the quote, the big-number conversions and the fee-bound
// arithmetic then run once per candidate and configuration instead of once per decision. It is
// a cache only: a decision is the same with or without it.
type arcCache struct {
	mu sync.RWMutex
	m  map[arcKey]arcBase
}

type arcKey struct {
	costs    *StaticCosts
	venue    int32
	src, dst int32
}

// maxCachedArcs bounds the cache; past it, it starts over (a world of thousands of locations
// would otherwise keep every pair it ever met).
const maxCachedArcs = 1 << 18

// base returns the arcBase of the candidate from src to dst through pol.venues[vi], from the
// cache when costs is a StaticCosts.
func (pol *Policy) base(costs CostModel, vi int, src, dst *nodePolicy) arcBase {
	vp := &pol.venues[vi]
	sc, static := costs.(*StaticCosts)
	if !static {
		q, err := costs.Quote(vp.name, pol.route(src, dst))
		return pol.baseOf(src, vp, q, err)
	}
	k := arcKey{costs: sc, venue: int32(vi), src: int32(src.idx), dst: int32(dst.idx)}
	c := &pol.arcs
	c.mu.RLock()
	b, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return b
	}
	q, err := sc.Quote(vp.name, pol.route(src, dst))
	b = pol.baseOf(src, vp, q, err)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedArcs {
		c.m = make(map[arcKey]arcBase, 1024)
	}
	c.m[k] = b
	c.mu.Unlock()
	return b
}

// arc turns a candidate's arcBase into the solver's candidate for this decision, or says why it
// is ruled out.
func (b *arcBase) arc(s, t *planNode, room int64) (arcSpec, string) {
	if b.why != "" {
		return arcSpec{}, b.why
	}
	a := arcSpec{rate: b.rate, fixed: b.fixed, lo: b.lo, hi: min(b.maxTransfer, room, s.value, t.value, b.maxQuote)}
	if a.lo > a.hi {
		return a, fmt.Sprintf("minimum %d value units (venue, route and fee bound) above the most it could carry, %d (excess %d, deficit %d, venue room %d, max transfer %d)",
			a.lo, a.hi, s.value, t.value, room, b.maxTransfer)
	}
	return a, ""
}

// solveMemo keeps one account's last matching problem and its solution. The search is a pure
// function of the problem and the node budget, so when a decision meets the same problem again
// (a snapshot that changed nothing the matching sees, deficits no route can fill) the solution
// is reused: the decision is the same, byte for byte, as with a fresh search. The service keeps
// one per account; Plan, replays and benchmarks use none.
type solveMemo struct {
	prob   flowProblem
	budget int
	sol    flowSolution
	ok     bool
	hits   int // searches saved
}

// solve returns solve(p, budget), from the memo when p is the problem it holds; m may be nil.
func (m *solveMemo) solve(p *flowProblem, budget int) flowSolution {
	if m == nil {
		return solve(p, budget)
	}
	if m.ok && m.budget == budget && m.prob.same(p) {
		m.hits++
		return m.sol
	}
	m.ok = false
	m.sol = solve(p, budget)
	m.budget = budget
	m.prob = flowProblem{supply: append(m.prob.supply[:0], p.supply...), demand: append(m.prob.demand[:0], p.demand...),
		tier: append(m.prob.tier[:0], p.tier...), arcs: append(m.prob.arcs[:0], p.arcs...),
		maxCount: append(m.prob.maxCount[:0], p.maxCount...), maxValue: append(m.prob.maxValue[:0], p.maxValue...), guard: p.guard}
	m.ok = true
	return m.sol
}

// same reports whether q is the same problem as p.
func (p *flowProblem) same(q *flowProblem) bool {
	return p.guard == q.guard && slices.Equal(p.supply, q.supply) && slices.Equal(p.demand, q.demand) &&
		slices.Equal(p.tier, q.tier) && slices.Equal(p.arcs, q.arcs) &&
		slices.Equal(p.maxCount, q.maxCount) && slices.Equal(p.maxValue, q.maxValue)
}

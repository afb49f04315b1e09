package planner

import (
	"errors"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"sync"

	"github.com/rebalancer-dev/rebalancer/internal/config"
)

// rateScale is the precision of per-unit costs inside the solver: rates are held in units of
// 1e-9 of the amount, rounded up (costs are rounded against us).
const rateScale = 1_000_000_000

// tierWeight is the reward per unit filled for each tier; tier 1 weighs most. A unit of flow
// always fills exactly one destination, so rewards that differ by more than any path's cost make
// the solver's single objective lexicographic: fill tier 1, then tier 2, ..., then spend least.
func tierWeight(tier int) int64 { return int64(config.MaxTier+1-tier) * 1e16 }

// arcSpec is one candidate intent: source i to sink j through a venue, in value units.
type arcSpec struct {
	src, dst, venue int
	rate            int64 // cost per unit, in 1/rateScale
	fixed           int64 // fixed cost per intent, value units
	lo, hi          int64 // allowed size when used
}

// flowProblem is the matching problem in value units (the config's common unit at
// ValueDecimals).
type flowProblem struct {
	supply   []int64 // per source: excess available
	demand   []int64 // per sink: deficit
	tier     []int   // per sink
	arcs     []arcSpec
	maxCount []int   // per venue: intents it may still take
	maxValue []int64 // per venue: notional it may still take
	// guard bounds the augmentations of each min-cost flow (0: augmentGuard's default).
	guard int
}

// objective orders plans by one integer, val = cost − Σ tierWeight(tier)·filled, in 1/rateScale
// value units: the quantity every relaxation of the search minimises, so that each bound is a
// true lower bound on every plan below it. The weights dwarf any cost, so a plan that fills more
// (tier 1 weighing most) is always preferred; among plans that fill the same, the cheaper wins.
type objective struct {
	fill [config.MaxTier]int64
	cost *big.Int // in 1/rateScale value units
	val  *big.Int
}

func (a objective) better(b objective) bool { return a.val.Cmp(b.val) < 0 }

// setVal computes val from fill and cost.
func (a *objective) setVal() {
	a.val = new(big.Int).Set(a.cost)
	var tmp big.Int
	for t, f := range a.fill {
		tmp.SetInt64(tierWeight(t + 1))
		tmp.Mul(&tmp, big.NewInt(f))
		a.val.Sub(a.val, &tmp)
	}
}

// flowSolution is the solver's answer.
type flowSolution struct {
	flow []int64 // per arc
	obj  objective
	// proven says the plan is optimal for the model; false only when the node budget ran out.
	proven bool
	nodes  int
	// lps counts the nodes whose bound was the linear programme (a notional cap binding).
	lps int
	// gap bounds how much cheaper than this plan an optimal one can be, in 1/rateScale value
	// units (0 when proven); nil when even the fill is not proven.
	gap *big.Int
	// guard says a min-cost flow reached its augmentation guard: the search stopped and the
	// solution is empty (fail closed).
	guard bool
}

// evaluate computes the true objective of a flow.
func (p *flowProblem) evaluate(flow []int64) objective {
	o := objective{cost: new(big.Int)}
	var fixed int64
	var tmp big.Int
	for a, x := range flow {
		if x == 0 {
			continue
		}
		arc := p.arcs[a]
		o.fill[p.tier[arc.dst]-1] += x
		tmp.SetInt64(arc.rate)
		tmp.Mul(&tmp, big.NewInt(x))
		o.cost.Add(o.cost, &tmp)
		fixed += arc.fixed
	}
	tmp.SetInt64(fixed)
	tmp.Mul(&tmp, big.NewInt(rateScale))
	o.cost.Add(o.cost, &tmp)
	o.setVal()
	return o
}

// feasible reports whether flow respects every constraint of the model.
func (p *flowProblem) feasible(flow []int64) bool {
	nS, nD, nV := len(p.supply), len(p.demand), len(p.maxValue)
	sums := make([]int64, nS+nD+2*nV) // one allocation: out, in, count, value
	out, in, count, value := sums[:nS], sums[nS:nS+nD], sums[nS+nD:nS+nD+nV], sums[nS+nD+nV:]
	for a, x := range flow {
		if x == 0 {
			continue
		}
		arc := p.arcs[a]
		if x < arc.lo || x > arc.hi {
			return false
		}
		out[arc.src] += x
		in[arc.dst] += x
		count[arc.venue]++
		value[arc.venue] += x
	}
	for i := range out {
		if out[i] > p.supply[i] {
			return false
		}
	}
	for j := range in {
		if in[j] > p.demand[j] {
			return false
		}
	}
	for v := range count {
		if count[v] > int64(p.maxCount[v]) || value[v] > p.maxValue[v] {
			return false
		}
	}
	return true
}

// arc states during branch and bound.
const (
	arcFree int8 = iota
	arcOpen
	arcClosed
)

// When the configuration does not bound the search, branch and bound explores at most
// searchWork/candidates nodes, between minSearchNodes and DefaultSearchNodes: each node is one
// min-cost flow over the candidates (or, rarely, a small linear programme), so this keeps a
// decision's time roughly constant. Past the
// bound the best plan found is returned, marked unproven, with its distance to the root bound
// when known. A count, not a clock, bounds the search, so that replays decide the same.
const (
	DefaultSearchNodes = 256
	minSearchNodes     = 1
	searchWork         = 2048
)

// bounds is a search node's restriction of the arcs: each free, open (used: at least its minimum,
// fixed cost paid) or closed, and optionally narrower least and largest sizes (nil: the arc's own).
type bounds struct {
	states []int8
	lb, ub []int64
}

// lo is the least flow the node allows on arc a.
func (nb *bounds) lo(p *flowProblem, a int) int64 {
	var l int64
	if nb.states[a] == arcOpen {
		l = p.arcs[a].lo
	}
	if nb.lb != nil {
		l = max(l, nb.lb[a])
	}
	return l
}

// hi is the most flow the node allows on arc a.
func (nb *bounds) hi(p *flowProblem, a int) int64 {
	h := p.arcs[a].hi
	if nb.ub != nil {
		h = min(h, nb.ub[a])
	}
	return h
}

// with returns a copy with arc a set to state st and, when lb or ub is not negative, its least or
// largest size narrowed.
func (nb *bounds) with(a int, st int8, lb, ub int64) bounds {
	c := bounds{states: append([]int8(nil), nb.states...)}
	c.states[a] = st
	if nb.lb != nil || lb >= 0 {
		c.lb = make([]int64, len(nb.states))
		copy(c.lb, nb.lb)
		if lb >= 0 {
			c.lb[a] = lb
		}
	}
	if nb.ub != nil || ub >= 0 {
		c.ub = make([]int64, len(nb.states))
		if nb.ub != nil {
			copy(c.ub, nb.ub)
		} else {
			for i := range c.ub {
				c.ub[i] = math.MaxInt64
			}
		}
		if ub >= 0 {
			c.ub[a] = ub
		}
	}
	return c
}

// solve finds the plan with the best objective: branch and bound over which candidate intents
// are used. A node's bound is a min-cost flow in which a free arc's fixed cost is spread over its
// largest size (the convex envelope, a lower bound) and minimum sizes and venue counts are
// relaxed; when that flow breaks a venue's notional cap, the bound is instead the exact linear
// programme with the caps (solved in rationals), so it is still a true lower bound of every plan
// below the node. A node whose solution violates a minimum or a count, carries an undercharged
// fixed cost or a fractional amount branches on that arc (closed or open; or the amount's floor
// or ceiling). The branches partition the plans, so when the search ends within its budget the
// plan is optimal: proven.
func solve(p *flowProblem, budget int) flowSolution {
	if budget <= 0 {
		budget = min(DefaultSearchNodes, max(minSearchNodes, searchWork/max(1, len(p.arcs))))
	}
	s := newBnB(p, budget)
	defer s.release()
	s.best = flowSolution{flow: make([]int64, len(p.arcs))}
	s.best.obj = p.evaluate(s.best.flow)
	states := make([]int8, len(p.arcs))
	for a, arc := range p.arcs {
		if arc.lo > arc.hi || arc.hi <= 0 || p.maxCount[arc.venue] <= 0 || p.maxValue[arc.venue] < arc.lo {
			states[a] = arcClosed
		}
	}
	s.node(bounds{states: states}, nil)
	if s.guard {
		// A relaxation was not solved: no bound below it holds, so no plan is trusted.
		return flowSolution{flow: make([]int64, len(p.arcs)), obj: p.evaluate(make([]int64, len(p.arcs))), nodes: s.nodes, lps: s.lps, guard: true}
	}
	s.best.nodes, s.best.lps = s.nodes, s.lps
	s.best.proven = s.nodes <= s.budget && !s.inexact
	s.best.gap = new(big.Int)
	if !s.best.proven {
		s.best.gap = nil
		if s.root != nil && s.root.fill == s.best.obj.fill {
			s.best.gap = new(big.Int).Sub(s.best.obj.cost, s.root.cost)
		}
	}
	return s.best
}

// newBnB prepares a search over p with a node budget. Its scratch memory (the graph, the
// envelope, buffers) comes from a pool; release returns it.
func newBnB(p *flowProblem, budget int) *bnb {
	s, _ := bnbPool.Get().(*bnb)
	if s == nil {
		s = &bnb{g: &graph{}}
	}
	edges := 2 * (len(p.arcs) + len(p.supply) + len(p.demand))
	g := s.g
	if cap(g.to) < edges {
		g.to, g.next, g.cap, g.cost, g.orig = make([]int, 0, edges), make([]int, 0, edges), make([]int64, 0, edges), make([]int64, 0, edges), make([]int64, 0, edges)
	}
	*s = bnb{p: p, budget: budget, g: g, env: grow(s.env, len(p.arcs)),
		supply: s.supply, demand: s.demand, out: s.out, in: s.in, edgeOf: s.edgeOf, group: s.group, fix: s.fix, byVenue: s.byVenue}
	for a, arc := range p.arcs {
		s.env[a] = 0
		if arc.fixed > 0 && arc.hi > 0 {
			s.env[a] = min(mulDiv(arc.fixed, rateScale, arc.hi), maxEnvelope)
		}
	}
	return s
}

// bnbPool keeps searches' scratch memory between decisions.
var bnbPool sync.Pool

// release returns the search's scratch memory to the pool; s must not be used after.
func (s *bnb) release() {
	s.p, s.root, s.best = nil, nil, flowSolution{}
	bnbPool.Put(s)
}

type bnb struct {
	env    []int64    // per arc: its fixed cost spread over its largest size, per unit (floor)
	root   *objective // the root's network bound, when it is one (for the gap)
	g      *graph
	p      *flowProblem
	budget int
	nodes  int
	best   flowSolution
	lps    int
	// inexact is set when a large node's notional cap was handled by trimming, not solved.
	inexact bool
	// guard is set when a min-cost flow reached its augmentation guard; the search stops.
	guard bool
	// scratch for relax and offer, reused across nodes
	supply, demand, out, in, fix []int64
	edgeOf, group, byVenue       []int
	tmp                          big.Int
}

// offer makes the incumbent a repaired copy of a relaxed flow when that is a better plan.
func (s *bnb) offer(flow []int64) {
	s.fix = grow(s.fix, len(flow))
	copy(s.fix, flow)
	var ok bool
	s.byVenue, ok = s.p.repair(s.fix, s.byVenue[:0])
	if !ok {
		return
	}
	if obj := s.p.evaluate(s.fix); obj.better(s.best.obj) {
		s.best.flow, s.best.obj = slices.Clone(s.fix), obj
	}
}

// node explores one search node; warm is its parent's relaxation (nil at the root).
func (s *bnb) node(nb bounds, warm *warmStart) {
	s.nodes++
	if s.nodes > s.budget || s.guard {
		return
	}
	p := s.p
	// Open arcs must fit the venue counts on their own.
	count := make([]int, len(p.maxCount))
	for a, st := range nb.states {
		if st == arcOpen {
			count[p.arcs[a].venue]++
		}
	}
	for v := range count {
		if count[v] > p.maxCount[v] {
			return
		}
	}
	flow, bound, child, ok, err := s.relax(&nb, warm)
	if err != nil {
		s.guard = true
		return
	}
	if !ok {
		return
	}
	if s.nodes == 1 {
		s.root = &bound
	}
	if p.overNotional(flow) {
		// The network bound ignores the notional caps and its flow breaks one: solve the node's
		// linear programme with them instead.
		if s.lpTooBig(&nb) {
			s.aroundNotional(&nb, flow, child)
			return
		}
		var frac int
		flow, frac, bound, ok = s.lpRelax(&nb)
		if !ok || !bound.better(s.best.obj) {
			return
		}
		if frac >= 0 {
			s.branchFraction(&nb, flow, frac, child)
			return
		}
	} else if !bound.better(s.best.obj) {
		return
	}
	// Find what keeps the relaxed flow from being a plan of equal cost: an amount below its
	// minimum, a venue over its count, or a fixed cost the envelope undercharged.
	branch, under := -1, -1
	count = count[:0]
	count = append(count, make([]int, len(p.maxCount))...)
	for a, x := range flow {
		if x > 0 || nb.states[a] == arcOpen {
			count[p.arcs[a].venue]++
		}
	}
	for a, x := range flow {
		if nb.states[a] != arcFree || x == 0 {
			continue
		}
		arc := p.arcs[a]
		if x < arc.lo {
			branch = a
			break
		}
		if count[arc.venue] > p.maxCount[arc.venue] && branch < 0 {
			branch = a
		}
		if arc.fixed > 0 && (under < 0 || (x < nb.hi(p, a) && flow[under] >= nb.hi(p, under))) {
			under = a
		}
	}
	if branch < 0 {
		if !p.feasible(flow) {
			return // cannot happen: a flow within every cap breaks a minimum or a count
		}
		obj := p.evaluate(flow)
		if obj.better(s.best.obj) {
			s.best.flow, s.best.obj = flow, obj
		}
		if obj.val.Cmp(bound.val) <= 0 || under < 0 {
			return // the bound is met: nothing below this node is better
		}
		branch = under
	} else {
		// Not a plan yet; a repaired copy is one, and a good incumbent early keeps the search short.
		s.offer(flow)
	}
	// Open first: it keeps the relaxation's choice, so good plans are found early.
	s.node(nb.with(branch, arcOpen, -1, -1), child)
	s.node(nb.with(branch, arcClosed, -1, -1), child)
}

// branchFraction branches where the linear programme left arc a a fractional amount (flow holds
// its floor): a free arc is branched used or unused, an open one on its amount (at most the
// floor, or at least the ceiling). A floored copy, repaired, may improve the incumbent.
func (s *bnb) branchFraction(nb *bounds, flow []int64, a int, warm *warmStart) {
	p := s.p
	s.offer(flow)
	if nb.states[a] == arcFree {
		s.node(nb.with(a, arcOpen, -1, -1), warm)
		s.node(nb.with(a, arcClosed, -1, -1), warm)
		return
	}
	if flow[a] >= nb.lo(p, a) {
		s.node(nb.with(a, arcOpen, -1, flow[a]), warm)
	}
	s.node(nb.with(a, arcOpen, flow[a]+1, -1), warm)
}

// maxLPArcs bounds the linear programmes solved exactly: a dense rational simplex over more
// candidates than this would cost more than a decision may take.
const maxLPArcs = 64

// lpTooBig reports whether the node's linear programme has more than maxLPArcs candidates.
func (s *bnb) lpTooBig(nb *bounds) bool {
	n := 0
	for a := range s.p.arcs {
		if nb.states[a] != arcClosed {
			n++
		}
	}
	return n > maxLPArcs
}

// aroundNotional handles a node of a large problem whose relaxed flow breaks a notional cap,
// without the linear programme: the flow, trimmed, is a candidate plan, and the search branches
// on the over-cap venue's dearest free intent so that plans routing around it are explored too.
// The plan is then not proven optimal.
func (s *bnb) aroundNotional(nb *bounds, flow []int64, warm *warmStart) {
	p := s.p
	s.inexact = true
	s.offer(flow)
	value := make([]int64, len(p.maxValue))
	for a, x := range flow {
		value[p.arcs[a].venue] += x
	}
	branch := -1
	for a, x := range flow {
		v := p.arcs[a].venue
		if x == 0 || nb.states[a] != arcFree || value[v] <= p.maxValue[v] {
			continue
		}
		if branch < 0 || p.arcs[a].rate > p.arcs[branch].rate {
			branch = a
		}
	}
	if branch >= 0 {
		s.node(nb.with(branch, arcClosed, -1, -1), warm)
		s.node(nb.with(branch, arcOpen, -1, -1), warm)
	}
}

// overNotional reports whether a flow puts a venue over its notional cap.
func (p *flowProblem) overNotional(flow []int64) bool {
	value := make([]int64, len(p.maxValue))
	for a, x := range flow {
		value[p.arcs[a].venue] += x
	}
	for v := range value {
		if value[v] > p.maxValue[v] {
			return true
		}
	}
	return false
}

// repair turns a relaxed flow, in place, into a plan: intents below their minimum are dropped, a
// venue over its count keeps its largest intents, a venue over its notional is trimmed. It
// reports false if that fails. arcs is scratch; the grown slice is returned for reuse.
func (p *flowProblem) repair(f []int64, arcs []int) ([]int, bool) {
	for a, x := range f {
		if x > 0 && x < p.arcs[a].lo {
			f[a] = 0
		}
	}
	for v := range p.maxCount {
		arcs = arcs[:0]
		for a, x := range f {
			if x > 0 && p.arcs[a].venue == v {
				arcs = append(arcs, a)
			}
		}
		if len(arcs) <= p.maxCount[v] {
			continue
		}
		// largest first; ties by index
		for i := 1; i < len(arcs); i++ {
			for k := i; k > 0 && f[arcs[k]] > f[arcs[k-1]]; k-- {
				arcs[k], arcs[k-1] = arcs[k-1], arcs[k]
			}
		}
		for _, a := range arcs[p.maxCount[v]:] {
			f[a] = 0
		}
	}
	return p.trim(f, arcs)
}

// trim makes a flow, in place, respect venue notional caps by shrinking the venue's most
// expensive intents first (down to their minimum, then dropping them). It reports false if it
// cannot. arcs is scratch; the grown slice is returned for reuse.
func (p *flowProblem) trim(f []int64, arcs []int) ([]int, bool) {
	for v := range p.maxValue {
		var total int64
		arcs = arcs[:0]
		for a, x := range f {
			if x > 0 && p.arcs[a].venue == v {
				total += x
				arcs = append(arcs, a)
			}
		}
		if total <= p.maxValue[v] {
			continue
		}
		// most expensive per unit first; ties by index for determinism
		for i := 1; i < len(arcs); i++ {
			for k := i; k > 0 && p.arcs[arcs[k]].rate > p.arcs[arcs[k-1]].rate; k-- {
				arcs[k], arcs[k-1] = arcs[k-1], arcs[k]
			}
		}
		for _, a := range arcs {
			if total <= p.maxValue[v] {
				break
			}
			over := total - p.maxValue[v]
			if f[a]-over >= p.arcs[a].lo {
				f[a] -= over
				total -= over
			} else {
				total -= f[a]
				f[a] = 0
			}
		}
	}
	return arcs, p.feasible(f)
}

// lpRelax solves the node's relaxation with the venue notional caps as a linear programme in
// exact rationals: variables are the amounts of the arcs that are not closed (free arcs priced
// with their fixed-cost envelope), constraints the supplies, demands, notional caps and sizes.
// It returns the flow (floored), the first arc whose amount is fractional (-1 if none), the
// bound (the programme's value rounded up: plans are integral) and false if infeasible.
func (s *bnb) lpRelax(nb *bounds) ([]int64, int, objective, bool) {
	s.lps++
	p := s.p
	nS, nD, nV := len(p.supply), len(p.demand), len(p.maxValue)
	rhs := make([]int64, nS+nD+nV)
	copy(rhs, p.supply)
	copy(rhs[nS:], p.demand)
	copy(rhs[nS+nD:], p.maxValue)
	var vars []int // arc per LP variable
	var width []int64
	base := make([]int64, len(p.arcs))
	constant := new(big.Int)
	var tmp big.Int
	var fixedOpen int64
	for a, arc := range p.arcs {
		if nb.states[a] == arcClosed {
			continue
		}
		l, h := nb.lo(p, a), nb.hi(p, a)
		if l > h {
			return nil, 0, objective{}, false
		}
		base[a] = l
		rhs[arc.src] -= l
		rhs[nS+arc.dst] -= l
		rhs[nS+nD+arc.venue] -= l
		tmp.SetInt64(arc.rate - tierWeight(p.tier[arc.dst]))
		tmp.Mul(&tmp, big.NewInt(l))
		constant.Add(constant, &tmp)
		if nb.states[a] == arcOpen {
			fixedOpen += arc.fixed
		}
		if h > l {
			vars = append(vars, a)
			width = append(width, h-l)
		}
	}
	for _, r := range rhs {
		if r < 0 {
			return nil, 0, objective{}, false
		}
	}
	tmp.SetInt64(fixedOpen)
	tmp.Mul(&tmp, big.NewInt(rateScale))
	constant.Add(constant, &tmp)
	lp := &linearProgram{n: len(vars)}
	for k, a := range vars {
		arc := p.arcs[a]
		c := arc.rate - tierWeight(p.tier[arc.dst])
		if nb.states[a] == arcFree {
			c += s.env[a]
		}
		lp.cost = append(lp.cost, c)
		_ = k
	}
	rowOf := func(r int) []int {
		var cols []int
		for k, a := range vars {
			arc := p.arcs[a]
			if (r < nS && arc.src == r) || (r >= nS && r < nS+nD && arc.dst == r-nS) || (r >= nS+nD && arc.venue == r-nS-nD) {
				cols = append(cols, k)
			}
		}
		return cols
	}
	for r, b := range rhs {
		if cols := rowOf(r); len(cols) > 0 {
			lp.rows = append(lp.rows, cols)
			lp.rhs = append(lp.rhs, b)
		}
	}
	for k, a := range vars {
		arc := p.arcs[a]
		if width[k] < min(rhs[arc.src], rhs[nS+arc.dst], rhs[nS+nD+arc.venue]) {
			lp.rows = append(lp.rows, []int{k})
			lp.rhs = append(lp.rhs, width[k])
		}
	}
	y, val := lp.minimize()
	flow := base
	frac := -1
	bound := objective{cost: new(big.Int)}
	for k, a := range vars {
		q, m := new(big.Int).QuoRem(y[k].Num(), y[k].Denom(), new(big.Int))
		flow[a] += q.Int64()
		if m.Sign() != 0 && frac < 0 {
			frac = a
		}
	}
	// bound.val = ⌈constant + val⌉
	v := new(big.Rat).Add(val, new(big.Rat).SetInt(constant))
	bound.val = roundRat(v, true)
	if v.Sign() < 0 {
		// roundRat truncates toward zero: for a negative value that is the ceiling already.
		bound.val = new(big.Int).Quo(v.Num(), v.Denom())
	}
	return flow, frac, bound, true
}

// linearProgram is min cost·y subject to, per row, the sum of y over the row's columns at most
// rhs, and y ≥ 0, with integer data and rhs ≥ 0 (so the slack basis is feasible). It is small
// (a node's arcs), so a dense simplex in exact rationals with Bland's rule, which cannot cycle,
// is fast enough and never wrong.
type linearProgram struct {
	n    int
	cost []int64
	rows [][]int
	rhs  []int64
}

// minimize returns an optimal y and its value. Every y is bounded by its source's row, so an
// optimum exists.
func (lp *linearProgram) minimize() ([]*big.Rat, *big.Rat) {
	m, n := len(lp.rows), lp.n
	cols := n + m
	t := make([][]*big.Rat, m) // constraint rows over structural and slack columns
	b := make([]*big.Rat, m)
	basis := make([]int, m)
	for r, row := range lp.rows {
		t[r] = make([]*big.Rat, cols)
		for _, c := range row {
			t[r][c] = big.NewRat(1, 1)
		}
		t[r][n+r] = big.NewRat(1, 1)
		b[r] = new(big.Rat).SetInt64(lp.rhs[r])
		basis[r] = n + r
	}
	z := make([]*big.Rat, cols) // reduced costs
	for c := 0; c < n; c++ {
		if lp.cost[c] != 0 {
			z[c] = new(big.Rat).SetInt64(lp.cost[c])
		}
	}
	nz := func(x *big.Rat) bool { return x != nil && x.Sign() != 0 }
	var ratio, best, tmp big.Rat
	for {
		e := -1
		for c := 0; c < cols; c++ {
			if z[c] != nil && z[c].Sign() < 0 {
				e = c
				break
			}
		}
		if e < 0 {
			break
		}
		lv := -1
		for r := 0; r < m; r++ {
			if t[r][e] == nil || t[r][e].Sign() <= 0 {
				continue
			}
			ratio.Quo(b[r], t[r][e])
			if lv < 0 {
				lv = r
				best.Set(&ratio)
				continue
			}
			if c := ratio.Cmp(&best); c < 0 || (c == 0 && basis[r] < basis[lv]) {
				lv = r
				best.Set(&ratio)
			}
		}
		if lv < 0 {
			break // unbounded: cannot happen with every column in a bounded row
		}
		// Pivot on (lv, e).
		inv := new(big.Rat).Inv(t[lv][e])
		for c := 0; c < cols; c++ {
			if nz(t[lv][c]) {
				t[lv][c].Mul(t[lv][c], inv)
			}
		}
		b[lv].Mul(b[lv], inv)
		elim := func(row []*big.Rat, rb *big.Rat) {
			f := new(big.Rat).Set(row[e])
			for c := 0; c < cols; c++ {
				if !nz(t[lv][c]) {
					continue
				}
				tmp.Mul(f, t[lv][c])
				if row[c] == nil {
					row[c] = new(big.Rat)
				}
				row[c].Sub(row[c], &tmp)
			}
			if rb != nil {
				tmp.Mul(f, b[lv])
				rb.Sub(rb, &tmp)
			}
		}
		for r := 0; r < m; r++ {
			if r != lv && nz(t[r][e]) {
				elim(t[r], b[r])
			}
		}
		if nz(z[e]) {
			elim(z, nil)
		}
		basis[lv] = e
	}
	y := make([]*big.Rat, n)
	for c := range y {
		y[c] = new(big.Rat)
	}
	for r, c := range basis {
		if c < n {
			y[c].Set(b[r])
		}
	}
	val := new(big.Rat)
	for c := 0; c < n; c++ {
		if lp.cost[c] != 0 && y[c].Sign() != 0 {
			tmp.SetInt64(lp.cost[c])
			tmp.Mul(&tmp, y[c])
			val.Add(val, &tmp)
		}
	}
	return y, val
}

// warmStart is what a node hands its children: its network relaxation's flow per arc (least
// sizes included) and the node potentials that certified it optimal. A child's relaxation
// differs from its parent's in one arc, so starting from the parent's flow leaves a few units to
// re-route instead of the whole matching. It only changes where the search for the optimum
// starts, never what it finds: see circulate.
type warmStart struct {
	flow []int64
	pot  []int64
}

// relax solves the node's network relaxation, without the venue caps: a min-cost circulation
// through one hub node (the hub gives each source up to its supply at no cost and takes from each
// sink up to its demand at the sink's reward), so the flow value is free and the optimum is the
// least objective over every amount. It returns the flow per arc (open arcs include their least
// size), its bound, the warm start for the node's children, and false if the open arcs' least
// sizes cannot all be met. err is errAugmentGuard when the min-cost flow ran out of augmentations.
func (s *bnb) relax(nb *bounds, warm *warmStart) ([]int64, objective, *warmStart, bool, error) {
	p := s.p
	states := nb.states
	nS, nD := len(p.supply), len(p.demand)
	g := s.g.reset(1 + nS + nD)
	const hub = 0
	supply := append(s.supply[:0], p.supply...)
	demand := append(s.demand[:0], p.demand...)
	s.supply, s.demand = supply, demand
	base := make([]int64, len(p.arcs))
	edgeOf := grow(s.edgeOf, len(p.arcs))
	s.edgeOf = edgeOf
	var fixedOpen int64
	bound := objective{cost: new(big.Int)}
	for a := range edgeOf {
		edgeOf[a] = -1
	}
	for a, st := range states {
		if st != arcOpen {
			continue
		}
		arc := p.arcs[a]
		l := nb.lo(p, a)
		base[a] = l
		supply[arc.src] -= l
		demand[arc.dst] -= l
		fixedOpen += arc.fixed
	}
	// Parallel arcs of one (source, sink) pair, one per venue, come one after another. In the
	// relaxation (venue caps relaxed) a dearer one is only ever used beyond the capacity of the
	// cheaper ones, so each group is cut once its capacity covers what the pair can carry.
	unit := func(a int) int64 {
		if states[a] == arcFree {
			return p.arcs[a].rate + s.env[a]
		}
		return p.arcs[a].rate
	}
	group := s.group[:0]
	for start := 0; start < len(p.arcs); {
		end := start
		for end < len(p.arcs) && p.arcs[end].src == p.arcs[start].src && p.arcs[end].dst == p.arcs[start].dst {
			end++
		}
		group = group[:0]
		for a := start; a < end; a++ {
			if states[a] != arcClosed {
				group = append(group, a)
			}
		}
		for i := 1; i < len(group); i++ {
			for k := i; k > 0 && unit(group[k]) < unit(group[k-1]); k-- {
				group[k], group[k-1] = group[k-1], group[k]
			}
		}
		arc0 := p.arcs[start]
		need := min(supply[arc0.src], demand[arc0.dst])
		var covered int64
		for _, a := range group {
			capacity := nb.hi(p, a) - base[a]
			if capacity < 0 {
				return nil, objective{}, nil, false, nil
			}
			if states[a] != arcOpen && covered >= need {
				continue
			}
			covered += capacity
			edgeOf[a] = g.add(1+p.arcs[a].src, 1+nS+p.arcs[a].dst, capacity, unit(a))
		}
		start = end
	}
	s.group = group
	supEdge := len(g.to)
	for i, v := range supply {
		if v < 0 {
			return nil, objective{}, nil, false, nil
		}
		g.add(hub, 1+i, v, 0)
	}
	dmdEdge := len(g.to)
	for j, v := range demand {
		if v < 0 {
			return nil, objective{}, nil, false, nil
		}
		g.add(1+nS+j, hub, v, -tierWeight(p.tier[j]))
	}
	pot := g.pot
	if warm != nil {
		// Start from the parent's flow, mapped onto this node's capacities (totals less this
		// node's least sizes, clamped), and from its potentials.
		out, in := grow(s.out, nS), grow(s.in, nD)
		clear(out)
		clear(in)
		s.out, s.in = out, in
		for a, x := range warm.flow {
			out[p.arcs[a].src] += x
			in[p.arcs[a].dst] += x
			if e := edgeOf[a]; e >= 0 {
				g.setFlow(e, x-base[a])
			}
		}
		for i := range supply {
			g.setFlow(supEdge+2*i, out[i]-(p.supply[i]-supply[i]))
		}
		for j := range demand {
			g.setFlow(dmdEdge+2*j, in[j]-(p.demand[j]-demand[j]))
		}
		copy(pot, warm.pot)
	} else {
		clear(pot)
	}
	if err := g.circulate(augmentGuard(p.guard, len(g.to)/2, len(g.head))); err != nil {
		return nil, objective{}, nil, false, err
	}
	flow := base
	var cost sum128 // every term is a product of non-negative int64s
	for a := range p.arcs {
		x := base[a]
		if e := edgeOf[a]; e >= 0 {
			f := g.flow(e)
			x += f
			if f > 0 && states[a] == arcFree && s.env[a] > 0 {
				cost.addMul(s.env[a], f)
			}
		}
		flow[a] = x
		if x > 0 {
			arc := p.arcs[a]
			bound.fill[p.tier[arc.dst]-1] += x
			cost.addMul(arc.rate, x)
		}
	}
	cost.addMul(fixedOpen, rateScale)
	cost.addTo(bound.cost, &s.tmp)
	bound.setVal()
	return flow, bound, &warmStart{flow: flow, pot: append([]int64(nil), pot...)}, true, nil
}

// sum128 sums products of int64s exactly without allocating: in 128 bits (and a count of
// carries out of them) while every product is non-negative, as the relaxation's costs always are;
// a product with a negative factor is summed apart in a big.Int.
type sum128 struct {
	hi, lo, carries uint64
	neg             *big.Int
}

func (s *sum128) addMul(a, b int64) {
	if a < 0 || b < 0 {
		if s.neg == nil {
			s.neg = new(big.Int)
		}
		s.neg.Add(s.neg, new(big.Int).Mul(big.NewInt(a), big.NewInt(b)))
		return
	}
	h, l := bits.Mul64(uint64(a), uint64(b))
	var c uint64
	s.lo, c = bits.Add64(s.lo, l, 0)
	s.hi, c = bits.Add64(s.hi, h, c)
	s.carries += c
}

// addTo adds the sum to z; tmp is scratch.
func (s *sum128) addTo(z, tmp *big.Int) {
	if s.carries != 0 {
		tmp.SetUint64(s.carries)
		z.Add(z, tmp.Lsh(tmp, 128))
	}
	tmp.SetUint64(s.hi)
	tmp.Lsh(tmp, 64)
	z.Add(z, tmp)
	z.Add(z, tmp.SetUint64(s.lo))
	if s.neg != nil {
		z.Add(z, s.neg)
	}
}

// maxEnvelope caps a free arc's fixed cost spread per unit. A lower envelope keeps every bound a
// lower bound (the relaxation only gets cheaper), and any arc the fee bound admits has an
// envelope far below it (fixed ≤ bound·size); the cap keeps sums of path costs and potentials
// well inside int64.
const maxEnvelope = 1 << 44

// a result beyond int64 saturates (it then marks an arc too dear to matter).
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return math.MaxInt64 / 4
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > math.MaxInt64/4 {
		return math.MaxInt64 / 4
	}
	return int64(q)
}

// graph is a residual network for successive shortest paths.
type graph struct {
	// scratch for circulate
	pot, dist, excess []int64
	prev              []int
	done              []bool

	head []int
	to   []int
	next []int
	cap  []int64
	cost []int64
	orig []int64
}

// reset empties the graph for n nodes, keeping its memory.
func (g *graph) reset(n int) *graph {
	g.head = grow(g.head, n)
	for i := range g.head {
		g.head[i] = -1
	}
	g.to, g.next, g.cap, g.cost, g.orig = g.to[:0], g.next[:0], g.cap[:0], g.cost[:0], g.orig[:0]
	g.pot, g.dist, g.excess = grow(g.pot, n), grow(g.dist, n), grow(g.excess, n)
	g.prev = grow(g.prev, n)
	g.done = grow(g.done, n)
	return g
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// add adds an edge and its reverse; it returns the forward edge's index.
func (g *graph) add(u, v int, c, cost int64) int {
	e := len(g.to)
	g.to = append(g.to, v, u)
	g.cap = append(g.cap, c, 0)
	g.orig = append(g.orig, c, 0)
	g.cost = append(g.cost, cost, -cost)
	g.next = append(g.next, g.head[u], g.head[v])
	g.head[u], g.head[v] = e, e+1
	return e
}

func (g *graph) flow(e int) int64 { return g.orig[e] - g.cap[e] }

// setFlow puts x, clamped to the edge's capacity, on forward edge e.
func (g *graph) setFlow(e int, x int64) {
	x = max(0, min(x, g.orig[e]))
	g.cap[e], g.cap[e^1] = g.orig[e]-x, x
}

const inf = math.MaxInt64 / 4

// errAugmentGuard says a min-cost flow stopped at its augmentation guard.
var errAugmentGuard = errors.New("min-cost flow: augmentation guard reached")

// augmentsPerEdge sets the default augmentation guard of one min-cost flow: successive shortest
// paths on integer data ends, but on a pathological instance only after as many augmentations as
// there are units; a real relaxation needs about one per node (measured: ~35 on 50 chains × 4
// tokens, a handful on a warm-started child).
const augmentsPerEdge = 8

// augmentGuard is the most augmentations a min-cost flow over m edges and n nodes may take:
// guard when positive (tests), else augmentsPerEdge per edge and one per node.
func augmentGuard(guard, m, n int) int {
	if guard > 0 {
		return guard
	}
	return augmentsPerEdge*m + n + 16
}

// circulate turns the graph's current flow (any amounts within the capacities) into a min-cost
// circulation, starting from the potentials in g.pot (any finite values). It first makes the
// potentials certify the flow (every residual edge of reduced cost c(u,v) + pot[u] − pot[v] at
// least 0) by saturating each edge of negative reduced cost and emptying each of positive
// reduced cost; that leaves some nodes with an excess and some with a deficit. Then, while a node
// has an excess, it sends flow along a shortest path (Dijkstra on reduced costs, from every node
// in excess at once) to the nearest node in deficit and raises the potentials by the distances,
// which keeps them a certificate. Zero flow is feasible (every capacity is at least 0), so a
// path always exists, and the flow it ends with is balanced and certified: optimal, whatever
// flow and potentials it started from (reduced-cost optimality: Ahuja, Magnanti and Orlin,
// Network Flows, §9.3 and §9.7). A warm start changes only how many paths are needed. It stops
// with errAugmentGuard after limit augmentations.
func (g *graph) circulate(limit int) error {
	n := len(g.head)
	pot, excess := g.pot, g.excess
	clear(excess)
	base := pot[0]
	for i := range pot {
		pot[i] -= base
	}
	for e := 0; e < len(g.to); e += 2 {
		u, v := g.to[e+1], g.to[e]
		switch rc := g.cost[e] + pot[u] - pot[v]; {
		case rc < 0:
			g.setFlow(e, g.orig[e])
		case rc > 0:
			g.setFlow(e, 0)
		}
		if x := g.flow(e); x > 0 {
			excess[v] += x
			excess[u] -= x
		}
	}
	dist, prev, done := g.dist, g.prev, g.done
	for augments := 0; ; augments++ {
		sources := 0
		for i := range dist {
			dist[i], prev[i], done[i] = inf, -1, false
			if excess[i] > 0 {
				dist[i] = 0
				sources++
			}
		}
		if sources == 0 {
			return nil
		}
		if augments >= limit {
			return errAugmentGuard
		}
		target := -1
		for {
			u := -1
			for i := 0; i < n; i++ {
				if !done[i] && dist[i] < inf && (u < 0 || dist[i] < dist[u]) {
					u = i
				}
			}
			if u < 0 {
				break
			}
			done[u] = true
			if excess[u] < 0 {
				target = u
				break // the rest cannot be nearer
			}
			for e := g.head[u]; e >= 0; e = g.next[e] {
				v := g.to[e]
				if g.cap[e] <= 0 || done[v] {
					continue
				}
				if nd := dist[u] + g.cost[e] + pot[u] - pot[v]; nd < dist[v] {
					dist[v], prev[v] = nd, e
				}
			}
		}
		if target < 0 {
			// No deficit reachable from an excess: impossible while zero flow is feasible.
			return errors.New("min-cost flow: an excess cannot reach a deficit")
		}
		// Potentials stay a certificate when nodes settled before the target add their
		// distance and every other node adds the target's.
		dt := dist[target]
		for i := range pot {
			if done[i] {
				pot[i] += dist[i]
			} else {
				pot[i] += dt
			}
		}
		push := -excess[target]
		from := target
		for prev[from] >= 0 {
			push = min(push, g.cap[prev[from]])
			from = g.to[prev[from]^1]
		}
		push = min(push, excess[from])
		for v := target; v != from; v = g.to[prev[v]^1] {
			g.cap[prev[v]] -= push
			g.cap[prev[v]^1] += push
		}
		excess[from] -= push
		excess[target] += push
	}
}

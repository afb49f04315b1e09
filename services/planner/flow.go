package planner

import (
	"math"
	"math/big"
	"math/bits"

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
}

// objective orders plans: more filled in tier 1, then tier 2 ..., then lower cost.
type objective struct {
	fill [config.MaxTier]int64
	cost *big.Int // in 1/rateScale value units
}

func (a objective) better(b objective) bool {
	for t := range a.fill {
		if a.fill[t] != b.fill[t] {
			return a.fill[t] > b.fill[t]
		}
	}
	return a.cost.Cmp(b.cost) < 0
}

// flowSolution is the solver's answer.
type flowSolution struct {
	flow []int64 // per arc
	obj  objective
	// proven says the plan is optimal for the model; false when the node budget ran out or a
	// venue's notional cap had to be enforced by trimming.
	proven bool
	nodes  int
	// gap bounds how much cheaper than this plan an optimal one can be, in 1/rateScale value
	// units (0 when proven); nil when even the fill is not proven.
	gap *big.Int
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
	return o
}

// feasible reports whether flow respects every constraint of the model.
func (p *flowProblem) feasible(flow []int64) bool {
	out := make([]int64, len(p.supply))
	in := make([]int64, len(p.demand))
	count := make([]int, len(p.maxCount))
	value := make([]int64, len(p.maxValue))
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
		if count[v] > p.maxCount[v] || value[v] > p.maxValue[v] {
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
// searchWork/candidates nodes, between 1 and DefaultSearchNodes: each node is one min-cost flow
// over the candidates, so this keeps a decision's time roughly constant. Past the bound the best
// plan found is returned, marked unproven, with its distance to the root bound when known. A
// count, not a clock, bounds the search, so that replays decide the same.
const (
	DefaultSearchNodes = 64
	searchWork         = 2048
)

// solve finds the plan with the best objective: branch and bound over which candidate intents
// are used, each node's bound a min-cost flow in which a free arc's fixed cost is spread over its
// largest possible size (the convex envelope, a lower bound) and minimum sizes and venue counts
// are relaxed. A node whose flow violates a minimum, a count or carries an undercharged fixed cost
// branches on that arc (closed, or open with its minimum and full fixed cost).
func solve(p *flowProblem, budget int) flowSolution {
	if budget <= 0 {
		budget = min(DefaultSearchNodes, max(1, searchWork/max(1, len(p.arcs))))
	}
	s := &bnb{p: p, budget: budget, g: &graph{}, env: make([]int64, len(p.arcs))}
	for a, arc := range p.arcs {
		if arc.fixed > 0 && arc.hi > 0 {
			s.env[a] = mulDiv(arc.fixed, rateScale, arc.hi)
		}
	}
	s.best = flowSolution{flow: make([]int64, len(p.arcs)), proven: true}
	s.best.obj = p.evaluate(s.best.flow)
	states := make([]int8, len(p.arcs))
	for a, arc := range p.arcs {
		if arc.lo > arc.hi || arc.hi <= 0 || p.maxCount[arc.venue] <= 0 || p.maxValue[arc.venue] < arc.lo {
			states[a] = arcClosed
		}
	}
	s.node(states)
	s.best.nodes = s.nodes
	if s.nodes > s.budget {
		s.best.proven = false
	}
	if s.trimmed {
		s.best.proven = false
	}
	s.best.gap = new(big.Int)
	if !s.best.proven {
		s.best.gap = nil
		if s.root != nil && s.root.fill == s.best.obj.fill {
			s.best.gap = new(big.Int).Sub(s.best.obj.cost, s.root.cost)
		}
	}
	return s.best
}

type bnb struct {
	// hiCap, when set, narrows arcs' largest sizes during a dive (see node).
	hiCap   []int64
	env     []int64    // per arc: its fixed cost spread over its largest size, per unit (floor)
	root    *objective // the root relaxation's bound: no plan is better
	g       *graph
	p       *flowProblem
	budget  int
	nodes   int
	best    flowSolution
	trimmed bool
}

func (s *bnb) node(states []int8) {
	s.nodes++
	if s.nodes > s.budget {
		return
	}
	p := s.p
	// Open arcs must fit the venue counts and values on their own.
	count := make([]int, len(p.maxCount))
	for a, st := range states {
		if st == arcOpen {
			count[p.arcs[a].venue]++
		}
	}
	for v := range count {
		if count[v] > p.maxCount[v] {
			return
		}
	}
	flow, bound, ok := s.relax(states)
	if s.root == nil && ok {
		s.root = &bound
	}
	if !ok || !bound.better(s.best.obj) {
		return
	}
	// Find what keeps the relaxed flow from being a plan of equal cost.
	branch := -1
	gap := false
	count = make([]int, len(p.maxCount))
	value := make([]int64, len(p.maxValue))
	for a, x := range flow {
		if x > 0 || states[a] == arcOpen {
			count[p.arcs[a].venue]++
			value[p.arcs[a].venue] += x
		}
	}
	for a, x := range flow {
		if states[a] != arcFree || x == 0 {
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
		if arc.fixed > 0 && x < arc.hi {
			gap = true
			if branch < 0 {
				branch = a
			}
		}
	}
	if p.feasible(flow) {
		if obj := p.evaluate(flow); obj.better(s.best.obj) {
			s.best.flow, s.best.obj = flow, obj
		}
		if !gap {
			return
		}
	} else if r := p.repair(flow); r != nil {
		// Not a plan yet; a repaired copy is one, and a good incumbent early keeps the search short.
		if obj := p.evaluate(r); obj.better(s.best.obj) {
			s.best.flow, s.best.obj = r, obj
		}
	}
	if !p.feasible(flow) && branch < 0 {
		// Only a venue's notional cap is broken (the repair above already tried trimming it).
		// Branch on the venue's dearest free intent, so that plans routing around it are
		// explored too; once all of the venue's intents are decided, the trimmed plan is the
		// best this node offers and it is not proven optimal.
		branch = p.notionalBranch(flow, states)
		if branch < 0 {
			s.trimmed = true
			s.dive(flow, states)
			return
		}
	}
	if branch < 0 {
		return
	}
	// Open first: it keeps the relaxation's choice, so good plans are found early.
	open := append([]int8(nil), states...)
	open[branch] = arcOpen
	s.node(open)
	closed := append([]int8(nil), states...)
	closed[branch] = arcClosed
	s.node(closed)
}

// dive looks for better plans below a node where only a notional cap is broken and every intent
// of the venue is decided: for each of the venue's intents in turn, it shrinks that one by the
// overflow (or drops it) and searches again, so that the demand left open is routed through other
// venues and sources at least cost. Each dive narrows the space (they are not a partition), so
// what they find are plans, not a proof.
func (s *bnb) dive(flow []int64, states []int8) {
	p := s.p
	value := make([]int64, len(p.maxValue))
	for a, x := range flow {
		value[p.arcs[a].venue] += x
	}
	v := -1
	for i := range value {
		if value[i] > p.maxValue[i] {
			v = i
			break
		}
	}
	if v < 0 {
		return
	}
	over := value[v] - p.maxValue[v]
	prev := s.hiCap
	for a, x := range flow {
		if x == 0 || p.arcs[a].venue != v || s.nodes > s.budget {
			continue
		}
		hi := make([]int64, len(p.arcs))
		for b, arc := range p.arcs {
			hi[b] = arc.hi
			if prev != nil {
				hi[b] = min(hi[b], prev[b])
			}
		}
		next := append([]int8(nil), states...)
		if keep := x - over; keep >= p.arcs[a].lo && keep > 0 {
			hi[a] = keep
		} else if states[a] == arcOpen {
			continue // an open intent cannot go below its minimum
		} else {
			next[a] = arcClosed
		}
		s.hiCap = hi
		s.node(next)
	}
	s.hiCap = prev
}

// notionalBranch picks, in a venue over its notional cap, the free arc with flow and the highest
// unit cost; -1 if there is none.
func (p *flowProblem) notionalBranch(flow []int64, states []int8) int {
	value := make([]int64, len(p.maxValue))
	for a, x := range flow {
		value[p.arcs[a].venue] += x
	}
	best := -1
	for a, x := range flow {
		v := p.arcs[a].venue
		if x == 0 || states[a] != arcFree || value[v] <= p.maxValue[v] {
			continue
		}
		if best < 0 || p.arcs[a].rate > p.arcs[best].rate {
			best = a
		}
	}
	return best
}

// repair turns a relaxed flow into a plan: intents below their minimum are dropped, a venue over
// its count keeps its largest intents, a venue over its notional is trimmed. Nil if that fails.
func (p *flowProblem) repair(flow []int64) []int64 {
	f := append([]int64(nil), flow...)
	for a, x := range f {
		if x > 0 && x < p.arcs[a].lo {
			f[a] = 0
		}
	}
	for v := range p.maxCount {
		var arcs []int
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
	return p.trim(f)
}

// trim makes a flow respect venue notional caps by shrinking the venue's most expensive intents
// first (down to their minimum, then dropping them). It returns nil if it cannot.
func (p *flowProblem) trim(flow []int64) []int64 {
	f := append([]int64(nil), flow...)
	for v := range p.maxValue {
		var total int64
		var arcs []int
		for a, x := range f {
			if x > 0 && p.arcs[a].venue == v {
				total += x
				arcs = append(arcs, a)
			}
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
	if !p.feasible(f) {
		return nil
	}
	return f
}

// relax solves the node's relaxation: a min-cost flow by successive shortest paths. It returns
// the flow per arc (open arcs include their minimum), its bound, and false if the open arcs'
// minimums cannot all be met.
func (s *bnb) relax(states []int8) ([]int64, objective, bool) {
	p := s.p
	nS, nD := len(p.supply), len(p.demand)
	g := s.g.reset(2 + nS + nD)
	const src, snk = 0, 1
	supply := append([]int64(nil), p.supply...)
	demand := append([]int64(nil), p.demand...)
	base := make([]int64, len(p.arcs))
	edgeOf := make([]int, len(p.arcs))
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
		base[a] = arc.lo
		supply[arc.src] -= arc.lo
		demand[arc.dst] -= arc.lo
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
	group := make([]int, 0, len(p.maxCount))
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
			arc := p.arcs[a]
			capacity := arc.hi
			if s.hiCap != nil {
				capacity = min(capacity, s.hiCap[a])
			}
			if states[a] == arcOpen {
				capacity -= arc.lo
				if capacity < 0 {
					return nil, objective{}, false
				}
			} else if covered >= need {
				continue
			}
			covered += capacity
			edgeOf[a] = g.add(2+arc.src, 2+nS+arc.dst, capacity, unit(a))
		}
		start = end
	}
	for i, v := range supply {
		if v < 0 {
			return nil, objective{}, false
		}
		g.add(src, 2+i, v, 0)
	}
	for j, v := range demand {
		if v < 0 {
			return nil, objective{}, false
		}
		g.add(2+nS+j, snk, v, -tierWeight(p.tier[j]))
	}
	g.minCostFlow(src, snk, nS)
	flow := make([]int64, len(p.arcs))
	var tmp big.Int
	for a := range p.arcs {
		x := base[a]
		if e := edgeOf[a]; e >= 0 {
			x += g.flow(e)
			if states[a] == arcFree && s.env[a] > 0 {
				tmp.SetInt64(s.env[a])
				tmp.Mul(&tmp, big.NewInt(g.flow(e)))
				bound.cost.Add(bound.cost, &tmp)
			}
		}
		flow[a] = x
		if x > 0 {
			arc := p.arcs[a]
			bound.fill[p.tier[arc.dst]-1] += x
			tmp.SetInt64(arc.rate)
			tmp.Mul(&tmp, big.NewInt(x))
			bound.cost.Add(bound.cost, &tmp)
		}
	}
	tmp.SetInt64(fixedOpen)
	tmp.Mul(&tmp, big.NewInt(rateScale))
	bound.cost.Add(bound.cost, &tmp)
	return flow, bound, true
}

// mulDiv is floor(a*b/c) for non-negative a, b and positive c, through a 128-bit product;
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
	// scratch for minCostFlow
	pot, dist   []int64
	prev, order []int
	done        []bool

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
	g.pot, g.dist = grow(g.pot, n), grow(g.dist, n)
	g.prev, g.order = grow(g.prev, n), grow(g.order, 0)
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

const inf = math.MaxInt64 / 4

// minCostFlow pushes flow from s to t along shortest paths while a path of negative cost exists,
// which minimises cost over all flow values. The network starts acyclic (source, sources, sinks,
// sink in layers) so the first potentials come from one pass in that order; Dijkstra on reduced
// costs does the rest.
func (g *graph) minCostFlow(s, t, nS int) {
	n := len(g.head)
	pot := g.pot
	// Layered initial potentials: s=0; sources 0; sinks: cheapest in-edge; t: cheapest via sinks.
	for i := range pot {
		pot[i] = inf
	}
	pot[s] = 0
	order := g.order[:0]
	order = append(order, s)
	for i := 2; i < 2+nS; i++ {
		order = append(order, i)
	}
	for i := 2 + nS; i < n; i++ {
		order = append(order, i)
	}
	order = append(order, t)
	for _, u := range order {
		if pot[u] == inf {
			continue
		}
		for e := g.head[u]; e >= 0; e = g.next[e] {
			if g.cap[e] > 0 && pot[u]+g.cost[e] < pot[g.to[e]] {
				pot[g.to[e]] = pot[u] + g.cost[e]
			}
		}
	}
	dist, prev, done := g.dist, g.prev, g.done
	for {
		for i := range dist {
			dist[i], prev[i], done[i] = inf, -1, false
		}
		dist[s] = 0
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
			for e := g.head[u]; e >= 0; e = g.next[e] {
				v := g.to[e]
				if g.cap[e] <= 0 || done[v] || pot[v] >= inf {
					continue
				}
				if nd := dist[u] + g.cost[e] + pot[u] - pot[v]; nd < dist[v] {
					dist[v], prev[v] = nd, e
				}
			}
		}
		if dist[t] >= inf {
			return
		}
		for i := range pot {
			if dist[i] < inf {
				pot[i] += dist[i]
			}
		}
		// pot[t] - pot[s] is now the true cost of the shortest path.
		if pot[t]-pot[s] >= 0 {
			return
		}
		push := int64(inf)
		for v := t; v != s; v = g.to[prev[v]^1] {
			push = min(push, g.cap[prev[v]])
		}
		for v := t; v != s; v = g.to[prev[v]^1] {
			g.cap[prev[v]] -= push
			g.cap[prev[v]^1] += push
		}
	}
}

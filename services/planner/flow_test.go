package planner

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// bruteForce finds the best plan by enumerating every amount of every arc in steps of q (every
// figure of the instance is a multiple of q, so an optimum lies on that grid: with the set of used
// arcs fixed, what is left is a network flow with integral data).
func bruteForce(p *flowProblem, q int64) objective {
	flow := make([]int64, len(p.arcs))
	out := make([]int64, len(p.supply))
	in := make([]int64, len(p.demand))
	best := p.evaluate(flow)
	var rec func(a int)
	rec = func(a int) {
		if a == len(p.arcs) {
			if p.feasible(flow) {
				if o := p.evaluate(flow); o.better(best) {
					best = o
				}
			}
			return
		}
		arc := p.arcs[a]
		flow[a] = 0
		rec(a + 1)
		for x := arc.lo; x <= arc.hi; x += q {
			if x <= 0 {
				continue
			}
			if out[arc.src]+x > p.supply[arc.src] || in[arc.dst]+x > p.demand[arc.dst] {
				break
			}
			flow[a] = x
			out[arc.src] += x
			in[arc.dst] += x
			rec(a + 1)
			out[arc.src] -= x
			in[arc.dst] -= x
		}
		flow[a] = 0
	}
	rec(0)
	return best
}

// randomProblem draws an instance shaped like the planner's: up to 6 chains × 2 tokens of
// locations, each in excess, deficit or neither, and 2 venues that each serve some of them.
func randomProblem(r *rand.Rand, q int64) *flowProblem {
	p := &flowProblem{}
	type node struct{ chain, token int }
	var srcs, dsts []node
	chains := 2 + r.IntN(5)
	for c := 0; c < chains; c++ {
		for t := 0; t < 2; t++ {
			switch r.IntN(4) {
			case 0:
				if len(srcs) < 3 {
					srcs = append(srcs, node{c, t})
					p.supply = append(p.supply, q*int64(1+r.IntN(4)))
				}
			case 1:
				if len(dsts) < 3 {
					dsts = append(dsts, node{c, t})
					p.demand = append(p.demand, q*int64(1+r.IntN(4)))
					p.tier = append(p.tier, 1+r.IntN(3))
				}
			}
		}
	}
	serves := [2][]bool{}
	for v := range serves {
		serves[v] = make([]bool, chains)
		for c := range serves[v] {
			serves[v][c] = r.IntN(3) > 0
		}
		p.maxCount = append(p.maxCount, 1+r.IntN(3))
		p.maxValue = append(p.maxValue, q*int64(2+r.IntN(6)))
	}
	for i, s := range srcs {
		for j, d := range dsts {
			for v := 0; v < 2; v++ {
				if !serves[v][s.chain] || !serves[v][d.chain] {
					continue
				}
				arc := arcSpec{src: i, dst: j, venue: v, rate: int64(r.IntN(3000)), lo: q * int64(1+r.IntN(2)), hi: q * int64(1+r.IntN(4))}
				if s.token != d.token {
					arc.rate += 1000
				}
				if r.IntN(2) == 0 {
					arc.fixed = int64(r.IntN(int(q) / 50))
				}
				if arc.hi < arc.lo {
					arc.hi = arc.lo
				}
				p.arcs = append(p.arcs, arc)
			}
		}
	}
	return p
}

func TestSolveMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	const q = 1000
	unproven, suboptimal, capped, nodes := 0, 0, 0, 0
	for i := 0; i < 2000; i++ {
		p := randomProblem(r, q)
		got := solve(p, 1<<20)
		require.True(t, p.feasible(got.flow), "instance %d: plan breaks a cap or minimum", i)
		for a, x := range got.flow {
			require.True(t, x == 0 || (x >= p.arcs[a].lo && x <= p.arcs[a].hi), "instance %d arc %d", i, a)
		}
		want := bruteForce(p, q)
		nodes += got.nodes
		if got.lps > 0 {
			capped++
		}
		if !got.proven {
			unproven++
			require.False(t, got.obj.better(want), "instance %d: better than the optimum?", i)
			if want.better(got.obj) {
				suboptimal++
			}
			continue
		}
		require.Equal(t, want.fill, got.obj.fill, "instance %d: fill", i)
		require.Zero(t, want.cost.Cmp(got.obj.cost), "instance %d: cost %s, optimum %s", i, got.obj.cost, want.cost)
	}
	t.Logf("2000 instances, %d search nodes; a notional cap bound in %d; unproven: %d, suboptimal: %d", nodes, capped, unproven, suboptimal)
	require.Greater(t, capped, 50, "the instances must exercise binding notional caps")
	// Every plan is proven and optimal (checked above), binding caps included.
	require.Zero(t, suboptimal+unproven, "every plan must be proven and optimal")
}

// TestWarmStartMatchesColdStart: a node's relaxation started from its parent's flow and
// potentials has the same optimum as the relaxation solved from nothing, for random parents and
// every kind of child (an arc closed, opened, or its amount narrowed either way).
func TestWarmStartMatchesColdStart(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 17))
	const q = 1000
	children := 0
	for i := 0; i < 2000; i++ {
		p := randomProblem(r, q)
		if len(p.arcs) == 0 {
			continue
		}
		s := newBnB(p, 1<<20)
		root := bounds{states: make([]int8, len(p.arcs))}
		_, _, warm, ok, err := s.relax(&root, nil)
		require.NoError(t, err)
		require.True(t, ok)
		for k := 0; k < 4; k++ {
			a := r.IntN(len(p.arcs))
			var nb bounds
			switch k {
			case 0:
				nb = root.with(a, arcClosed, -1, -1)
			case 1:
				nb = root.with(a, arcOpen, -1, -1)
			case 2:
				nb = root.with(a, arcOpen, -1, warm.flow[a])
			default:
				nb = root.with(a, arcOpen, warm.flow[a]+1, -1)
			}
			_, cold, _, coldOK, err := s.relax(&nb, nil)
			require.NoError(t, err)
			hotFlow, hot, _, hotOK, err := s.relax(&nb, warm)
			require.NoError(t, err)
			require.Equal(t, coldOK, hotOK, "instance %d child %d: feasibility", i, k)
			if !coldOK {
				continue
			}
			children++
			require.Zero(t, cold.val.Cmp(hot.val), "instance %d child %d: cold %s, warm %s", i, k, cold.val, hot.val)
			require.Zero(t, p.evaluateRelaxed(s, &nb, hotFlow).Cmp(hot.val), "instance %d child %d: warm bound is not its flow's value", i, k)
		}
	}
	require.Greater(t, children, 3000)
}

// evaluateRelaxed is the relaxation's objective of a flow at a node: true costs, plus the
// envelope of the fixed cost on free arcs and the full fixed cost on open ones.
func (p *flowProblem) evaluateRelaxed(s *bnb, nb *bounds, flow []int64) *big.Int {
	o := objective{cost: new(big.Int)}
	for a, x := range flow {
		arc := p.arcs[a]
		o.fill[p.tier[arc.dst]-1] += x
		per := arc.rate
		if nb.states[a] == arcFree {
			per += s.env[a]
		}
		o.cost.Add(o.cost, new(big.Int).Mul(big.NewInt(per), big.NewInt(x)))
		if nb.states[a] == arcOpen {
			o.cost.Add(o.cost, new(big.Int).Mul(big.NewInt(arc.fixed), big.NewInt(rateScale)))
		}
	}
	o.setVal()
	return o.val
}

// TestAugmentGuard: a min-cost flow that reaches its augmentation guard stops the search and
// the solution is empty and flagged, never a plan built on an unfinished bound.
func TestAugmentGuard(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	hit := 0
	for i := 0; i < 200; i++ {
		p := randomProblem(r, 1000)
		if len(p.arcs) == 0 {
			continue
		}
		p.guard = 1
		got := solve(p, 1<<20)
		if !got.guard {
			continue // one augmentation was enough
		}
		hit++
		require.False(t, got.proven)
		for _, x := range got.flow {
			require.Zero(t, x)
		}
	}
	require.Greater(t, hit, 50)
}

// TestSum128 checks the relaxation's 128-bit cost sums against big.Int, at the extremes too.
func TestSum128(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	vals := []int64{0, 1, -1, math.MaxInt64, math.MinInt64 + 1, maxValue, maxEnvelope, rateScale}
	for i := 0; i < 2000; i++ {
		var s sum128
		want := big.NewInt(int64(i))
		got := big.NewInt(int64(i))
		for k := r.IntN(40); k >= 0; k-- {
			a, b := r.Int64N(maxValue), r.Int64N(maxEnvelope)
			if r.IntN(4) == 0 {
				a = vals[r.IntN(len(vals))]
			}
			if r.IntN(4) == 0 {
				b = vals[r.IntN(len(vals))]
			}
			s.addMul(a, b)
			want.Add(want, new(big.Int).Mul(big.NewInt(a), big.NewInt(b)))
		}
		s.addTo(got, new(big.Int))
		require.Zero(t, want.Cmp(got), "case %d: %s != %s", i, got, want)
	}
}

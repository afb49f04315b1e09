package planner

import (
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

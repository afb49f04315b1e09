package planner

import (
	"encoding/json"
	"fmt"
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// randomYAML varies the test world's caps and minimums.
func randomYAML(r *rand.Rand) string {
	y := testYAML
	for _, v := range []struct{ old, format string }{
		{`maxInFlight: 3`, `maxInFlight: %d`},
		{`maxNotional: "5000"`, `maxNotional: "%d"`},
		{`minTransfer: "50"`, `minTransfer: "%d"`},
		{`maxTransfer: "2000"`, `maxTransfer: "%d"`},
		{`maxInFlight: 2`, `maxInFlight: %d`},
	} {
		var n int
		switch {
		case strings.HasPrefix(v.old, "maxInFlight"):
			n = 1 + r.IntN(3)
		case strings.HasPrefix(v.old, "maxNotional"):
			n = 300 + r.IntN(3000)
		case strings.HasPrefix(v.old, "minTransfer"):
			n = 20 + r.IntN(400)
		default:
			n = 500 + r.IntN(2000)
		}
		y = strings.Replace(y, v.old, fmt.Sprintf(v.format, n), 1)
	}
	return y
}

func randomBalance(r *rand.Rand) string { return fmt.Sprint(50 * r.IntN(60)) }

// TestPlanNeverBreaksACap plans on random worlds (3 chains × 2 tokens × 2 venues, random caps,
// minimums, balances and intents already in flight) and checks every decision against the rules:
// sizes within the venue's and route's bounds and the fee bound, no source giving more than its
// excess, no deficit receiving more than it lacks, venue counts and notional with what is in
// flight, and the same decision twice byte for byte.
func TestPlanNeverBreaksACap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	decided, searched, proven := 0, 0, 0
	for i := 0; i < 150; i++ {
		w := newWorld(t, randomYAML(r))
		w.balanced()
		for round := 0; round < 2; round++ {
			for _, c := range []uint64{1, 10, 42161} {
				w.chainSnap(c, randomBalance(r), randomBalance(r))
			}
			d := w.plan()
			again := w.plan()
			b1, _ := json.Marshal(d.Intents)
			b2, _ := json.Marshal(again.Intents)
			require.Equal(t, string(b1), string(b2), "instance %d: not deterministic", i)
			checkDecision(t, w, d)
			if len(d.Record.Deficit) > 0 && len(d.Record.Excess) > 0 {
				searched++
				if d.Record.Proven {
					proven++
				}
			}
			w.st.Decided(d.Intents)
			decided += len(d.Intents)
		}
	}
	require.Greater(t, decided, 50, "the instances must exercise the planner")
	t.Logf("%d decisions searched, %d proven optimal", searched, proven)
	require.Equal(t, searched, proven, "every decision on a small world must be proven optimal")
}

func checkDecision(t *testing.T, w *world, d Decision) {
	t.Helper()
	pol := w.pol
	excess := map[nodeKey]*big.Int{}
	for _, x := range d.Record.Excess {
		excess[nodeKey{x.Chain, x.Token}] = x.Amount.Big()
	}
	deficit := map[nodeKey]*big.Int{}
	for _, x := range d.Record.Deficit {
		deficit[nodeKey{x.Chain, x.Token}] = x.Amount.Big()
	}
	count := map[string]int{}
	value := map[string]int64{}
	for _, id := range sortedIntentIDs(w.st) {
		is := w.st.ints[id]
		if is.inFlight(w.st.clock) {
			count[is.venue]++
			n, _ := pol.node(is.intent.Route.SrcChain, is.intent.Route.SrcToken)
			value[is.venue] += pol.toValue(n, is.intent.AmountIn.Big(), true)
		}
	}
	for _, in := range d.Intents {
		require.NoError(t, in.Validate())
		src := nodeKey{in.Route.SrcChain, in.Route.SrcToken}
		dst := nodeKey{in.Route.DstChain, in.Route.DstToken}
		require.Contains(t, excess, src)
		require.Contains(t, deficit, dst)
		excess[src].Sub(excess[src], in.AmountIn.Big())
		require.GreaterOrEqual(t, excess[src].Sign(), 0, "source %v gives more than its excess", src)
		deficit[dst].Sub(deficit[dst], in.AmountIn.Big()) // 1:1 at fair price, same decimals here
		require.GreaterOrEqual(t, deficit[dst].Sign(), 0, "deficit %v overfilled", dst)

		var vp *venuePolicy
		for i := range pol.venues {
			if pol.venues[i].name == in.Venue {
				vp = &pol.venues[i]
			}
		}
		sn, _ := pol.node(src.chain, src.token)
		v := pol.toValue(sn, in.AmountIn.Big(), false)
		require.GreaterOrEqual(t, v, vp.minValue, "below the venue minimum")
		require.LessOrEqual(t, v, vp.maxTransfer, "above the venue maximum")
		q, err := w.costs.Quote(in.Venue, in.Route)
		require.NoError(t, err)
		require.GreaterOrEqual(t, in.AmountIn.Big().Cmp(q.Min), 0, "below the route minimum")
		if q.Max != nil {
			require.LessOrEqual(t, in.AmountIn.Big().Cmp(q.Max), 0)
		}
		// Fee bound: the estimated cost is within the bound (one base unit of rounding).
		bound := new(big.Int).Add(in.MaxFee.Big(), big.NewInt(1))
		require.LessOrEqual(t, in.Why.CostEstimate.Big().Cmp(bound), 0, "cost %s above the fee bound %s", in.Why.CostEstimate, in.MaxFee)
		count[in.Venue]++
		value[in.Venue] += v
		require.LessOrEqual(t, count[in.Venue], vp.maxCount, "venue %s over its in-flight count", in.Venue)
		require.LessOrEqual(t, value[in.Venue], vp.maxValue, "venue %s over its notional", in.Venue)
	}
}

// TestValueConversionFastPath checks the integer fast path of toValue against exact rationals.
func TestValueConversionFastPath(t *testing.T) {
	w := newBigWorld(t, 10, 1, 1, 0, 1)
	r := rand.New(rand.NewPCG(9, 9))
	for _, chain := range []uint64{1, 6} { // 6 and 18 decimals
		n, ok := w.pol.node(chain, "T0")
		require.True(t, ok)
		require.NotZero(t, n.div)
		slow := *n
		slow.div = 0
		for i := 0; i < 2000; i++ {
			x := new(big.Int).Rand(r2(r), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(r.IntN(20))), nil))
			for _, up := range []bool{false, true} {
				require.Equal(t, w.pol.toValue(&slow, x, up), w.pol.toValue(n, x, up), "x=%s up=%v", x, up)
			}
		}
	}
}

// r2 adapts a v2 generator to big.Int.Rand's v1 source.
func r2(r *rand.Rand) *mrand.Rand { return mrand.New(mrand.NewSource(r.Int64())) }

// TestLargeWorldUnderBindingNotional: on a world too large for the exact linear programme
// (50 chains × 4 tokens × 2 venues) whose venue notional caps bind, the plan keeps every cap,
// says it is not proven, and the search stays within its node budget.
func TestLargeWorldUnderBindingNotional(t *testing.T) {
	w := newBigWorld(t, 50, 4, 2, 10, 42)
	caps := map[string]int64{}
	for i := range w.pol.venues {
		w.pol.venues[i].maxValue = 30_000_000_000 // 30000 in value units of 6 decimals
		caps[w.pol.venues[i].name] = w.pol.venues[i].maxValue
	}
	d := w.plan()
	require.NotEmpty(t, d.Intents)
	used := map[string]int64{}
	for _, in := range d.Intents {
		n, ok := w.pol.node(in.Route.SrcChain, in.Route.SrcToken)
		require.True(t, ok)
		used[in.Venue] += w.pol.toValue(n, in.AmountIn.Big(), true)
	}
	binding := false
	for v, u := range used {
		require.LessOrEqual(t, u, caps[v], "venue %s over its notional cap", v)
		binding = binding || u > caps[v]*9/10
	}
	require.True(t, binding, "the caps must bind in this world")
	require.False(t, d.Record.Proven)
	require.LessOrEqual(t, d.Record.Nodes, 2*DefaultSearchNodes+1)
}

// TestConvertAndFromValueFastPaths checks the integer paths of convert and fromValue against
// exact rationals, across 6 and 18 decimals.
func TestConvertAndFromValueFastPaths(t *testing.T) {
	w := newBigWorld(t, 10, 1, 1, 0, 1)
	r := rand.New(rand.NewPCG(4, 2))
	n6, ok := w.pol.node(1, "T0")
	require.True(t, ok)
	n18, ok := w.pol.node(6, "T0")
	require.True(t, ok)
	require.Equal(t, []uint8{6, 18}, []uint8{n6.decimals, n18.decimals})
	exact := func(x *big.Int, from, to uint8) *big.Int {
		q := new(big.Rat).SetFrac(new(big.Int).Mul(x, pow10(to)), pow10(from))
		return roundRat(q, false)
	}
	for i := 0; i < 2000; i++ {
		x := new(big.Int).Rand(r2(r), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(1+r.IntN(24))), nil))
		for _, pair := range [][2]*nodePolicy{{n6, n18}, {n18, n6}, {n6, n6}, {n18, n18}} {
			require.Equal(t, exact(x, pair[0].decimals, pair[1].decimals).String(), w.pol.convert(pair[0], pair[1], x).String(), "x=%s", x)
		}
		v := r.Int64N(1 << 40)
		for _, n := range []*nodePolicy{n6, n18} {
			require.Equal(t, exact(big.NewInt(v), w.pol.vdec, n.decimals).String(), w.pol.fromValue(n, v).String())
		}
	}
}

// uncached hides StaticCosts behind the CostModel interface, so Plan quotes every candidate
// afresh instead of using the Policy's cache of candidate arcs.
type uncached struct{ CostModel }

// TestArcCacheChangesNothing plans the same states with the cached candidate arcs of a static
// cost table and with quotes taken afresh, on random small worlds and on large generated ones:
// the decisions (intents and records) must be the same bytes.
func TestArcCacheChangesNothing(t *testing.T) {
	same := func(t *testing.T, pol *Policy, costs CostModel, st *State, basis Basis) {
		t.Helper()
		cached, _ := json.Marshal(Plan(pol, costs, st, testAccount, basis))
		fresh, _ := json.Marshal(Plan(pol, uncached{costs}, st, testAccount, basis))
		require.Equal(t, string(fresh), string(cached))
	}
	r := rand.New(rand.NewPCG(8, 13))
	for i := 0; i < 60; i++ {
		w := newWorld(t, randomYAML(r))
		w.balanced()
		for round := 0; round < 3; round++ {
			for _, c := range []uint64{1, 10, 42161} {
				w.chainSnap(c, randomBalance(r), randomBalance(r))
			}
			basis := Basis{Seq: w.st.Seq(), EventID: "x", At: w.at}
			same(t, w.pol, w.costs, w.st, basis)
			w.st.Decided(Plan(w.pol, w.costs, w.st, testAccount, basis).Intents)
		}
	}
	for seed := uint64(1); seed <= 4; seed++ {
		w := newBigWorld(t, 20, 3, 2, 15, seed)
		same(t, w.pol, w.costs, w.st, Basis{Seq: w.st.Seq(), EventID: "big", At: w.at})
		require.NotEmpty(t, w.pol.arcs.m, "the static table's candidates must be cached")
	}
}

// TestSolveMemoChangesNothing decides sequences of random states, some repeated with a new
// basis, with the service's memo of the last search and without: the decisions must be the
// same bytes, and the memo must be used.
func TestSolveMemoChangesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 34))
	memo := &solveMemo{}
	for i := 0; i < 80; i++ {
		w := newWorld(t, randomYAML(r))
		w.balanced()
		for round := 0; round < 4; round++ {
			if round%2 == 0 || r.IntN(2) == 0 { // odd rounds often decide on an unchanged state
				for _, c := range []uint64{1, 10, 42161} {
					w.chainSnap(c, randomBalance(r), randomBalance(r))
				}
			}
			basis := Basis{Seq: w.st.Seq() + uint64(round), EventID: fmt.Sprintf("e%d", round), At: w.at}
			fresh := Plan(w.pol, w.costs, w.st, testAccount, basis)
			memoized := plan(w.pol, w.costs, w.st, testAccount, basis, memo)
			b1, _ := json.Marshal(fresh)
			b2, _ := json.Marshal(memoized)
			require.Equal(t, string(b1), string(b2), "instance %d round %d", i, round)
			if r.IntN(3) > 0 {
				w.st.Decided(fresh.Intents)
			}
		}
	}
	require.Positive(t, memo.hits, "the memo must be exercised")
	t.Logf("%d searches saved", memo.hits)
}

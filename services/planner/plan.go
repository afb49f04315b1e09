package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Producer is the producer name on the planner's events.
const Producer = "planner"

// Basis is the stream input a decision is made on.
type Basis struct {
	// Seq is the stream sequence of the event that triggered the decision.
	Seq uint64
	// EventID is that event's id, the intents' causation id.
	EventID string
	// At is that event's producer time: the intents' time and the origin of their deadline.
	At time.Time
}

// Imbalance is one location's distance from its band.
type Imbalance struct {
	Chain uint64 `json:"chain"`
	Token string `json:"token"`
	// Amount is in the token's base units on that chain.
	Amount events.Amount `json:"amount"`
	Tier   int           `json:"tier,omitempty"`
}

// Record says what the planner saw and why it decided what it did, for the log and for `plan`.
type Record struct {
	Account  string      `json:"account"`
	Seq      uint64      `json:"seq"`
	Mode     string      `json:"mode"`
	Excess   []Imbalance `json:"excess,omitempty"`
	Deficit  []Imbalance `json:"deficit,omitempty"`
	Excluded []string    `json:"excluded,omitempty"`
	// WarmingUp lists the account's locations the stream has shown no snapshot of yet while the
	// planner waits for them (see warmingUp); the decision then has no intent.
	WarmingUp []string `json:"warmingUp,omitempty"`
	// Rejected lists candidate routes ruled out and the cap or cost that ruled each out.
	Rejected []string `json:"rejected,omitempty"`
	// Unfilled lists deficits left (partly) open by the chosen plan.
	Unfilled []string `json:"unfilled,omitempty"`
	// Proven is false when the plan is feasible but not proven optimal (search budget, or a
	// venue's notional cap enforced by trimming).
	Proven bool `json:"proven"`
	// Gap, when not proven, bounds how much cheaper an optimal plan could be, in the common unit.
	Gap    string `json:"gap,omitempty"`
	Nodes  int    `json:"searchNodes,omitempty"`
	Reason string `json:"reason"`
}

// Decision is the core's output for one account on one basis.
type Decision struct {
	Basis   Basis
	Intents []*events.RebalanceIntent
	Record  Record
}

// planNode is a location in the matching: one (chain, token) in excess or deficit.
type planNode struct {
	pol   *nodePolicy
	base  *big.Int // excess or deficit in base units
	value int64
	tier  int
}

// Plan decides the intents for one account from the state, with no I/O and no wall clock: the
// same policy, costs, state and basis always give the same decision, byte for byte.
func Plan(pol *Policy, costs CostModel, st *State, account string, basis Basis) Decision {
	return plan(pol, costs, st, account, basis, nil)
}

// plan is Plan with a memo of the account's last search (nil: none), which it reuses when the
// matching problem is the same as last time.
func plan(pol *Policy, costs CostModel, st *State, account string, basis Basis, memo *solveMemo) Decision {
	now := st.clock
	d := Decision{Basis: basis, Record: Record{Account: account, Seq: basis.Seq, Mode: pol.cfg.Planner.Mode, Proven: true}}
	rec := &d.Record
	if missing, until := warmingUp(pol, st, account, now); len(missing) > 0 {
		rec.WarmingUp = missing
		rec.Reason = "warming up: no snapshot yet of " + strings.Join(missing, ", ")
		if !until.IsZero() {
			rec.Reason += "; deciding without them from " + until.UTC().Format(time.RFC3339Nano) + " (stream time)"
		}
		return d
	}

	// Which venues may take a new intent, and how much room each has.
	type venueRoom struct {
		vp    *venuePolicy
		idx   int // in pol.venues
		count int
		value int64
	}
	var venues []venueRoom
	inflightCount := map[string]int{}
	inflightValue := map[string]int64{}
	intents := st.accountIntents(account)
	for _, is := range intents {
		if !is.inFlight(now) {
			continue
		}
		inflightCount[is.venue]++
		if in := is.intent; in != nil {
			if n, ok := pol.node(in.Route.SrcChain, in.Route.SrcToken); ok {
				inflightValue[is.venue] += pol.toValue(n, in.AmountIn.Big(), true)
			}
		}
	}
	for i := range pol.venues {
		vp := &pol.venues[i]
		if why := venueProblem(st, account, vp, now); why != "" {
			rec.Excluded = append(rec.Excluded, vp.name+": "+why)
			continue
		}
		room := venueRoom{vp: vp, idx: i, count: vp.maxCount - inflightCount[vp.name], value: vp.maxValue - inflightValue[vp.name]}
		if room.count <= 0 {
			rec.Excluded = append(rec.Excluded, fmt.Sprintf("%s: %d intents in flight, max %d", vp.name, inflightCount[vp.name], vp.maxCount))
			continue
		}
		if room.value <= 0 {
			rec.Excluded = append(rec.Excluded, fmt.Sprintf("%s: notional in flight at its cap", vp.name))
			continue
		}
		venues = append(venues, room)
	}

	// Balances: [lo, hi] per location, and which locations may take part.
	lo, hi, healthy := virtualBalances(pol, st, account, intents, now, rec)
	var srcs, dsts []planNode
	if pol.cfg.Planner.Mode == config.ModeAggregate {
		srcs, dsts = aggregateImbalances(pol, lo, hi, healthy, rec)
	} else {
		srcs, dsts = chainImbalances(pol, lo, hi, healthy)
	}
	for _, s := range srcs {
		rec.Excess = append(rec.Excess, Imbalance{Chain: s.pol.chain, Token: s.pol.token, Amount: events.NewAmount(s.base)})
	}
	for _, t := range dsts {
		rec.Deficit = append(rec.Deficit, Imbalance{Chain: t.pol.chain, Token: t.pol.token, Amount: events.NewAmount(t.base), Tier: t.tier})
	}
	switch {
	case len(dsts) == 0:
		rec.Reason = "no deficit"
		return d
	case len(srcs) == 0:
		rec.Reason = "deficits but no excess to fill them from"
		return d
	case len(venues) == 0:
		rec.Reason = "no venue can take an intent"
		return d
	}

	// Candidates: every (excess, deficit, venue) the venue can carry within its limits.
	prob := &flowProblem{}
	for _, s := range srcs {
		prob.supply = append(prob.supply, s.value)
	}
	for _, t := range dsts {
		prob.demand = append(prob.demand, t.value)
		prob.tier = append(prob.tier, t.tier)
	}
	for _, v := range venues {
		prob.maxCount = append(prob.maxCount, v.count)
		prob.maxValue = append(prob.maxValue, v.value)
	}
	sc, _ := scratchPool.Get().(*planScratch)
	if sc == nil {
		sc = &planScratch{}
	}
	defer sc.release()
	quotes := sc.quotes[:0]
	prob.arcs = sc.arcs[:0]
	for i := range srcs {
		s := &srcs[i]
		for j := range dsts {
			t := &dsts[j]
			if s.pol == t.pol {
				continue
			}
			for vi, v := range venues {
				if len(st.routes) > 0 {
					r := pol.route(s.pol, t.pol)
					if last, ok := st.routes[routeKeyOf(account, v.vp.name, r)]; ok && now.Before(last.Add(v.vp.cooldown)) {
						rec.Rejected = append(rec.Rejected, fmt.Sprintf("%s: cooldown until %s", candidateName(v.vp.name, r), last.Add(v.vp.cooldown).Format(time.RFC3339)))
						continue
					}
				}
				b := pol.base(costs, v.idx, s.pol, t.pol)
				if b.noRoute {
					continue // the venue does not serve this route: not worth a line per pair
				}
				arc, why := b.arc(s, t, v.value)
				if why != "" {
					rec.Rejected = append(rec.Rejected, candidateName(v.vp.name, pol.route(s.pol, t.pol))+": "+why)
					continue
				}
				arc.src, arc.dst, arc.venue = i, j, vi
				prob.arcs = append(prob.arcs, arc)
				quotes = append(quotes, b.quote)
			}
		}
	}
	sc.arcs, sc.quotes = prob.arcs, quotes
	if len(prob.arcs) == 0 {
		rec.Reason = "no feasible route: see rejected"
		return d
	}
	prob.guard = pol.augmentGuard
	sol := memo.solve(prob, pol.searchNodes)
	rec.Proven, rec.Nodes = sol.proven, sol.nodes
	if sol.guard {
		// A relaxation that did not finish bounds nothing: no plan is trusted (fail closed).
		rec.Reason = "no intent: the solver's min-cost flow reached its iteration guard (fail closed)"
		return d
	}
	if !sol.proven {
		rec.Gap = "unknown"
		if sol.gap != nil {
			rec.Gap = formatUnits(sol.gap, 9+pol.vdec)
		}
	}
	filled := make([]int64, len(dsts))
	for a, x := range sol.flow {
		if x == 0 {
			continue
		}
		arc := prob.arcs[a]
		filled[arc.dst] += x
		src, dst := srcs[arc.src], dsts[arc.dst]
		d.Intents = append(d.Intents, pol.intent(account, venues[arc.venue].vp.name, pol.route(src.pol, dst.pol), quotes[a], src, dst, x, basis))
	}
	for j, t := range dsts {
		if filled[j] < t.value {
			rec.Unfilled = append(rec.Unfilled, fmt.Sprintf("%d/%s: %d of %d value units open", t.pol.chain, t.pol.token, t.value-filled[j], t.value))
		}
	}
	if len(d.Intents) == 0 {
		rec.Reason = "no feasible match: every candidate is ruled out by a minimum, a cap or the fee bound"
	} else {
		rec.Reason = fmt.Sprintf("%d intent(s) at the least cost that fills the most by tier", len(d.Intents))
	}
	return d
}

// planScratch is a decision's candidate memory, kept between decisions: at 50 chains × 4 tokens
// a decision meets hundreds of candidates.
type planScratch struct {
	arcs   []arcSpec
	quotes []Quote
}

var scratchPool sync.Pool

func (sc *planScratch) release() {
	clear(sc.quotes) // keep no quote alive
	scratchPool.Put(sc)
}

// warmingUp returns the account's locations the stream has shown no snapshot of yet, while the
// account warms up, and when (in stream time) the warm-up ends regardless (zero when the account
// has no snapshot at all yet). The locations are every configured venue and every chain with a
// targeted token, venues first, each in policy order. An account warms up until each of them has
// been seen once, or until pol.warmup has passed in stream time since its first snapshot; from
// then on it never warms up again (a location once seen stays known, and stream time only moves
// forward), and the fail-closed rules keep what is missing or stale out of every intent. Without
// it the first decision would depend on which snapshot happened to arrive first: a plan made on
// a partial view can spend the only excess on a route that leaves a deficit only an unseen
// venue could fill. It depends only on the state, so a replay warms up exactly as the live run.
func warmingUp(pol *Policy, st *State, account string, now time.Time) (missing []string, until time.Time) {
	first, started := st.firstSnap[account]
	if started {
		until = first.Add(pol.warmup)
		if !now.Before(until) {
			return nil, time.Time{}
		}
	}
	for i := range pol.venues {
		if ls := st.locs[locKey{account, events.VenueLocation(pol.venues[i].name)}]; ls == nil || ls.snap == nil {
			missing = append(missing, pol.venues[i].name)
		}
	}
	var last uint64
	checked := false
	for i := range pol.nodes { // sorted by chain: each chain once
		np := &pol.nodes[i]
		if !np.hasTarget || (checked && np.chain == last) {
			continue
		}
		checked, last = true, np.chain
		if ls := st.locs[locKey{account, events.ChainLocation(np.chain)}]; ls == nil || ls.snap == nil {
			missing = append(missing, fmt.Sprintf("chain %d", np.chain))
		}
	}
	return missing, until
}

func venueProblem(st *State, account string, vp *venuePolicy, now time.Time) string {
	if st.paused[events.ScopeAll] || st.paused[vp.name] {
		return "paused by a control command"
	}
	ls := st.locs[locKey{account, events.VenueLocation(vp.name)}]
	if ls == nil || ls.snap == nil {
		return "state unknown: no snapshot of the venue account"
	}
	if age := now.Sub(ls.snap.ProducedAt); age > vp.staleAfter {
		return fmt.Sprintf("state unknown: snapshot %s old, limit %s", age, vp.staleAfter)
	}
	return ""
}

// virtualBalances computes, for each configured location of the account, the lowest and highest
// balance it can have (DESIGN §8): exact when the snapshot is at or below the ledger watermark;
// when ahead of it, lo counts every debit that may not show yet and no unconfirmed credit, and hi
// the reverse, so an excess is never counted from money that may be gone and a deficit never
// refilled twice.
//
// The returned figures are shared (lo[i] may be hi[i]): callers must not modify them.
func virtualBalances(pol *Policy, st *State, account string, intents []*intentState, now time.Time, rec *Record) (lo, hi []*big.Int, healthy []bool) {
	n := len(pol.nodes)
	lo, hi, healthy = make([]*big.Int, n), make([]*big.Int, n), make([]bool, n)
	legs := map[nodeKey][]events.Leg{}
	for _, is := range intents {
		for _, l := range is.currentLegs(now) {
			k := nodeKey{l.ChainID, l.Token}
			legs[k] = append(legs[k], l)
		}
	}
	for i := range pol.nodes {
		np := &pol.nodes[i]
		if !np.hasTarget {
			continue
		}
		where := np.where
		ls := st.locs[locKey{account, events.ChainLocation(np.chain)}]
		switch {
		case ls == nil || ls.snap == nil:
			rec.Excluded = append(rec.Excluded, where+": no snapshot yet")
			continue
		case ls.problem != "":
			rec.Excluded = append(rec.Excluded, where+": "+ls.problem)
			continue
		case now.Sub(ls.snap.ProducedAt) > np.staleAfter:
			rec.Excluded = append(rec.Excluded, fmt.Sprintf("%s: stale (snapshot %s old, limit %s)", where, now.Sub(ls.snap.ProducedAt), np.staleAfter))
			continue
		}
		var bal *big.Int
		var why string
		for _, b := range ls.snap.Balances {
			if b.Token != np.token {
				continue
			}
			if b.Decimals != np.decimals {
				why = fmt.Sprintf("snapshot says %d decimals, config %d", b.Decimals, np.decimals)
				break
			}
			bal = b.Amount.Big()
		}
		if bal == nil {
			if why == "" {
				why = "not in the snapshot"
			}
			rec.Excluded = append(rec.Excluded, where+": "+why)
			continue
		}
		b := ls.snap.Range.To
		asOf := st.marks[chainKey{account, np.chain}]
		ahead := b > asOf
		if ahead && pol.cfg.Planner.AheadOfLedger == config.AheadWait {
			rec.Excluded = append(rec.Excluded, fmt.Sprintf("%s: snapshot at %d ahead of ledger watermark %d (waiting)", where, b, asOf))
			continue
		}
		nodeLegs := legs[np.nodeKey]
		if len(nodeLegs) == 0 {
			// bal is this call's own copy and nobody modifies lo or hi: share it.
			lo[i], hi[i], healthy[i] = bal, bal, true
			continue
		}
		l, h := bal, new(big.Int).Set(bal)
		bad := false
		for _, leg := range nodeLegs {
			if leg.Decimals != np.decimals {
				bad = true
				break
			}
			if leg.UntilBlock != 0 && b >= leg.UntilBlock {
				continue // in the chain's balance at b already
			}
			amt := leg.Amount.Big()
			switch {
			case !ahead:
				l.Add(l, amt)
				h.Add(h, amt)
			case amt.Sign() < 0:
				l.Add(l, amt) // a debit that may already show in the balance: counted for lo only
				if leg.UntilBlock != 0 {
					h.Add(h, amt)
				}
			default:
				h.Add(h, amt) // a credit that may already show: counted for hi only
				if leg.UntilBlock != 0 {
					l.Add(l, amt)
				}
			}
		}
		if bad {
			rec.Excluded = append(rec.Excluded, where+": a ledger leg has other decimals than the config")
			continue
		}
		lo[i], hi[i], healthy[i] = l, h, true
	}
	return lo, hi, healthy
}

// chainImbalances applies per-chain bands: below threshold (counting hi) a deficit up to target;
// above max (counting lo) an excess down to target.
func chainImbalances(pol *Policy, lo, hi []*big.Int, healthy []bool) (srcs, dsts []planNode) {
	for i := range pol.nodes {
		np := &pol.nodes[i]
		if !healthy[i] {
			continue
		}
		if lo[i].Cmp(np.upper) > 0 {
			ex := new(big.Int).Sub(lo[i], np.target)
			if v := pol.toValue(np, ex, false); v > 0 {
				srcs = append(srcs, planNode{pol: np, base: ex, value: v})
			}
		}
		if hi[i].Cmp(np.threshold) < 0 {
			de := new(big.Int).Sub(np.target, hi[i])
			if v := pol.toValue(np, de, false); v > 0 {
				dsts = append(dsts, planNode{pol: np, base: de, value: v, tier: np.tier})
			}
		}
	}
	return srcs, dsts
}

// aggregateImbalances applies per-token totals: a token whose total (counting hi) is below its
// threshold is refilled to target, placed on its chains in tier order (each up to its target,
// then up to its max); a token whose total (counting lo) is above its max gives down to target,
// taken from its chains in reverse tier order, each down to its threshold. A token with an
// unhealthy location has an unknown total and takes no part.
func aggregateImbalances(pol *Policy, lo, hi []*big.Int, healthy []bool, rec *Record) (srcs, dsts []planNode) {
	tokens := make([]string, 0, len(pol.aggs))
	for t := range pol.aggs {
		tokens = append(tokens, t)
	}
	slices.Sort(tokens)
	for _, tok := range tokens {
		ag := pol.aggs[tok]
		var idx []int
		ok := true
		var totLo, totHi int64
		for i := range pol.nodes {
			np := &pol.nodes[i]
			if np.token != tok || !np.hasTarget {
				continue
			}
			if !healthy[i] {
				ok = false
				break
			}
			idx = append(idx, i)
			totLo += pol.toValue(np, lo[i], false)
			totHi += pol.toValue(np, hi[i], true)
		}
		if !ok || len(idx) == 0 {
			rec.Excluded = append(rec.Excluded, tok+": total unknown (a location is not healthy)")
			continue
		}
		byTier := slices.Clone(idx)
		slices.SortStableFunc(byTier, func(a, b int) int { return pol.nodes[a].tier - pol.nodes[b].tier })
		if totHi < ag.threshold {
			need := ag.target - totHi
			room := func(i int, upto *big.Int) int64 {
				r := new(big.Int).Sub(upto, hi[i])
				if r.Sign() <= 0 {
					return 0
				}
				return pol.toValue(&pol.nodes[i], r, false)
			}
			alloc := map[int]int64{}
			for _, limit := range []func(*nodePolicy) *big.Int{func(n *nodePolicy) *big.Int { return n.target }, func(n *nodePolicy) *big.Int { return n.upper }} {
				for _, i := range byTier {
					if need <= 0 {
						break
					}
					r := room(i, limit(&pol.nodes[i])) - alloc[i]
					if r <= 0 {
						continue
					}
					take := min(r, need)
					alloc[i] += take
					need -= take
				}
			}
			for _, i := range byTier {
				if v := alloc[i]; v > 0 {
					np := &pol.nodes[i]
					dsts = append(dsts, planNode{pol: np, base: pol.fromValue(np, v), value: v, tier: np.tier})
				}
			}
		}
		if totLo > ag.upper {
			give := totLo - ag.target
			rev := slices.Clone(byTier)
			slices.Reverse(rev)
			for _, i := range rev {
				if give <= 0 {
					break
				}
				np := &pol.nodes[i]
				r := new(big.Int).Sub(lo[i], np.threshold)
				if r.Sign() <= 0 {
					continue
				}
				v := min(pol.toValue(np, r, false), give)
				if v <= 0 {
					continue
				}
				give -= v
				srcs = append(srcs, planNode{pol: np, base: pol.fromValue(np, v), value: v})
			}
		}
	}
	slices.SortFunc(srcs, func(a, b planNode) int { return cmpNode(a.pol.nodeKey, b.pol.nodeKey) })
	slices.SortFunc(dsts, func(a, b planNode) int { return cmpNode(a.pol.nodeKey, b.pol.nodeKey) })
	return srcs, dsts
}

var (
	bigOne       = big.NewInt(1)
	bigRateScale = big.NewInt(rateScale)
)

// intent builds the intent for x value units on a route, with its deterministic id.
func (pol *Policy) intent(account, venue string, r events.Route, q Quote, s, t planNode, x int64, basis Basis) *events.RebalanceIntent {
	amountIn := pol.fromValue(s.pol, x)
	// maxFee = ⌊bound·amountIn⌋; cost = ⌈rate·amountIn⌉ + fixed (the fixed cost is whole units).
	var m big.Int
	maxFee := new(big.Int).Mul(pol.feeBound.Num(), amountIn)
	maxFee.Quo(maxFee, pol.feeBound.Denom())
	cost := new(big.Int).Mul(q.Rate.Num(), amountIn)
	cost.QuoRem(cost, q.Rate.Denom(), &m)
	if m.Sign() != 0 {
		cost.Add(cost, bigOne)
	}
	cost.Add(cost, q.Fixed)
	minOut := pol.convert(s.pol, t.pol, new(big.Int).Sub(amountIn, maxFee))
	id := IntentID(pol.hash, basis.Seq, account, venue, r, amountIn)
	in := &events.RebalanceIntent{
		Meta:         events.NewMeta(events.TypeRebalanceIntent, id, basis.EventID, Producer, basis.At),
		Basis:        events.Basis{Seq: basis.Seq, ConfigHash: pol.hash},
		Account:      account,
		Venue:        venue,
		Route:        r,
		AmountIn:     events.NewAmount(amountIn),
		MinAmountOut: events.NewAmount(minOut),
		MaxFee:       events.NewAmount(maxFee),
		Deadline:     basis.At.Add(pol.cfg.Planner.IntentTTL.Duration).UTC(),
		Why: events.Justification{
			Excess:       events.NewAmount(s.base),
			Deficit:      events.NewAmount(t.base),
			CostEstimate: events.NewAmount(cost),
			Reason: fmt.Sprintf("refill %d/%s (tier %d) from the excess on %d/%s through %s: %s",
				r.DstChain, r.DstToken, t.tier, r.SrcChain, r.SrcToken, venue, q.Parts),
		},
	}
	return in
}

// candidateName names a candidate in the record.
func candidateName(venue string, r events.Route) string {
	return fmt.Sprintf("%s %d/%s→%d/%s", venue, r.SrcChain, r.SrcToken, r.DstChain, r.DstToken)
}

// IntentID is the deterministic intent id of DESIGN §6: the hex SHA-256 of the config hash, the
// basis sequence, the route (account, venue, chains, tokens) and the amount.
func IntentID(configHash string, seq uint64, account, venue string, r events.Route, amountIn *big.Int) string {
	// The bytes of fmt's "rebal-intent-v1|%s|%d|%s|%s|%d|%s|%d|%s|%s", built without fmt.
	var stack [320]byte
	b := append(stack[:0], "rebal-intent-v1|"...)
	b = append(append(b, configHash...), '|')
	b = append(strconv.AppendUint(b, seq, 10), '|')
	b = append(append(b, account...), '|')
	b = append(append(b, venue...), '|')
	b = append(strconv.AppendUint(b, r.SrcChain, 10), '|')
	b = append(append(b, r.SrcToken...), '|')
	b = append(strconv.AppendUint(b, r.DstChain, 10), '|')
	b = append(append(b, r.DstToken...), '|')
	if amountIn == nil {
		b = append(b, "<nil>"...)
	} else {
		b = amountIn.Append(b, 10)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

package pending_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// TestPropertyReaderAgainstBruteForce drives the writer with random sequences of accepts, leg
// events on simulated chains, recordings, realized amounts, drops, asOf advances, GC, and reorgs
// (which move or undo leg events past a fork block, rewind asOf, and leave recorded blocks stale
// until the executor re-verifies them), and after
// every step reads the ledger at random blocks behind, at and ahead of asOf. A brute-force model
// knows the truth: the block at which each leg really reached its chain. The reader must
//   - at or below asOf: equal the true total (no leg counted twice, none missed);
//   - ahead of asOf: equal the documented conservative total, never exceed the true total, and
//     fall short of it by no more than the withheld credits plus the unconfirmed debits.
//
// PENDING_SEED=<n> replays one sequence.
func TestPropertyReaderAgainstBruteForce(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	seeds := 48
	base := uint64(time.Now().UnixNano())
	if s := os.Getenv("PENDING_SEED"); s != "" {
		var err error
		base, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seeds = 1
	}
	// The properties only mean something if the sequences reach the interesting cases: count them
	// and require each to have happened somewhere.
	var cov coverage
	t.Cleanup(func() {
		t.Logf("coverage: %+v", cov.snapshot())
		if seeds > 1 {
			for name, n := range cov.snapshot() {
				require.NotZero(t, n, "no sequence reached %q", name)
			}
		}
	})
	for i := range seeds {
		seed := base + uint64(i)
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			t.Logf("replay with PENDING_SEED=%d", seed)
			m := newModel(t, newEnvOn(t, r), seed)
			m.cov = &cov
			for step := range 160 {
				m.step(step)
				m.check(step)
			}
		})
	}
}

var (
	propChains   = []uint64{1, 56}
	propTokens   = []string{"USDC", "USDT"}
	propDecimals = map[uint64]uint8{1: 6, 56: 18}
)

type coverage struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *coverage) add(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

func (c *coverage) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{"behind": 0, "at": 0, "ahead": 0, "ahead, truth above the total": 0,
		"ahead, truth equal to the total": 0, "leg recorded past asOf": 0, "gc removed a leg": 0,
		"rewound below asOf": 0, "stale block read": 0, "stale block re-verified": 0}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

type mleg struct {
	intent, name string
	chain        uint64
	token        string
	amount       *big.Int
	recorded     uint64 // untilBlock in the ledger
	truth        uint64 // block from which the chain shows the leg; 0 while it does not
	updatedAt    time.Time
}

type mintent struct {
	version uint64
	legs    map[string]*mleg
}

type model struct {
	t       *testing.T
	e       *env
	rng     *rand.Rand
	ctx     context.Context
	intents map[string]*mintent
	order   []string
	head    map[uint64]uint64 // the chain's latest block
	asOf    map[uint64]uint64
	floor   map[uint64]uint64 // no reader looks below it: GC removed legs up to it
	reads   int
	cov     *coverage
}

func newModel(t *testing.T, e *env, seed uint64) *model {
	return &model{t: t, e: e, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), ctx: context.Background(),
		intents: map[string]*mintent{}, head: map[uint64]uint64{1: 100, 56: 100},
		asOf: map[uint64]uint64{}, floor: map[uint64]uint64{}}
}

func (m *model) legs(pred func(*mleg) bool) []*mleg {
	var out []*mleg
	for _, id := range m.order {
		in := m.intents[id]
		names := make([]string, 0, len(in.legs))
		for n := range in.legs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if l := in.legs[n]; pred(l) {
				out = append(out, l)
			}
		}
	}
	return out
}

func (m *model) pick(ls []*mleg) *mleg {
	if len(ls) == 0 {
		return nil
	}
	return ls[m.rng.IntN(len(ls))]
}

func (m *model) randAmount(chain uint64) *big.Int {
	a := big.NewInt(m.rng.Int64N(2_000_000) - 1_000_000)
	if propDecimals[chain] == 18 && m.rng.IntN(2) == 0 {
		a.Mul(a, new(big.Int).Exp(big.NewInt(10), big.NewInt(14), nil)) // past 64 bits
	}
	return a
}

func (m *model) toLeg(l *mleg) pending.Leg {
	return pending.Leg{IntentID: l.intent, Name: l.name, ChainID: l.chain, Token: l.token,
		Amount: new(big.Int).Set(l.amount), Decimals: propDecimals[l.chain], UntilBlock: l.recorded, State: pending.StateRealized}
}

func (m *model) update(in string, changes []pending.LegUpdate, apply func()) {
	t := m.t
	mi := m.intents[in]
	if m.rng.IntN(8) == 0 { // a stale writer: must change nothing
		_, err := m.e.w.Update(m.ctx, m.e.account, in, mi.version-1, []byte("stale"), changes)
		require.ErrorIs(t, err, pending.ErrVersionConflict)
		return
	}
	v, err := m.e.w.Update(m.ctx, m.e.account, in, mi.version, []byte("v"), changes)
	require.NoError(t, err)
	require.Equal(t, mi.version+1, v)
	mi.version = v
	apply()
}

func (m *model) step(step int) {
	t := m.t
	m.e.clock.Advance(time.Duration(m.rng.IntN(90)) * time.Minute)
	now := m.e.clock.Now().Truncate(time.Millisecond)
	switch op := m.rng.IntN(100); {
	case op < 16: // accept a new intent, or replay an old one
		if len(m.order) > 0 && m.rng.IntN(5) == 0 {
			id := m.order[m.rng.IntN(len(m.order))]
			created, err := m.e.w.Accept(m.ctx, m.e.account, id, nil, []pending.Leg{leg("x", 1, "USDC", 1, 6, 0)})
			require.NoError(t, err)
			require.False(t, created, "a replayed intent must be a no-op")
			return
		}
		id := fmt.Sprintf("i%d", step)
		in := &mintent{version: 1, legs: map[string]*mleg{}}
		var legs []pending.Leg
		for k := range 1 + m.rng.IntN(3) {
			c := propChains[m.rng.IntN(len(propChains))]
			l := &mleg{intent: id, name: fmt.Sprintf("l%d", k), chain: c, token: propTokens[m.rng.IntN(2)],
				amount: m.randAmount(c), updatedAt: now}
			in.legs[l.name] = l
			legs = append(legs, m.toLeg(l))
		}
		created, err := m.e.w.Accept(m.ctx, m.e.account, id, []byte("accepted"), legs)
		require.NoError(t, err)
		require.True(t, created)
		m.intents[id] = in
		m.order = append(m.order, id)
	case op < 30: // a chain mines a block, maybe showing a leg from it on
		c := propChains[m.rng.IntN(len(propChains))]
		m.head[c] += 1 + uint64(m.rng.IntN(3))
		if l := m.pick(m.legs(func(l *mleg) bool { return l.chain == c && l.truth == 0 })); l != nil && m.rng.IntN(3) > 0 {
			l.truth = m.head[c]
		}
	case op < 48: // the executor records a leg's block (possibly before asOf reaches it)
		l := m.pick(m.legs(func(l *mleg) bool { return l.truth != 0 && l.recorded == 0 }))
		if l == nil {
			return
		}
		nl := m.toLeg(l)
		nl.UntilBlock = l.truth
		m.update(l.intent, []pending.LegUpdate{pending.SetLeg(nl)}, func() { l.recorded, l.updatedAt = l.truth, now })
	case op < 56: // a credit's realized amount replaces the estimate
		l := m.pick(m.legs(func(l *mleg) bool { return l.truth == 0 }))
		if l == nil {
			return
		}
		nl := m.toLeg(l)
		nl.Amount = m.randAmount(l.chain)
		m.update(l.intent, []pending.LegUpdate{pending.SetLeg(nl)}, func() { l.amount, l.updatedAt = nl.Amount, now })
	case op < 60: // an intent fails before a leg reached the chain: drop it
		l := m.pick(m.legs(func(l *mleg) bool { return l.truth == 0 }))
		if l == nil {
			return
		}
		m.update(l.intent, []pending.LegUpdate{pending.DropLeg(l.name)}, func() { delete(m.intents[l.intent].legs, l.name) })
	case op < 80: // the watcher's snapshot lets asOf advance as far as the recorded events allow
		c := propChains[m.rng.IntN(len(propChains))]
		limit := m.head[c]
		for _, l := range m.legs(func(l *mleg) bool { return l.chain == c && l.truth != 0 && l.recorded == 0 }) {
			limit = min(limit, l.truth-1)
		}
		// A block a reorg moved or undid is re-verified before asOf passes it.
		for _, l := range m.legs(func(l *mleg) bool { return l.chain == c && l.recorded != 0 && l.recorded != l.truth }) {
			limit = min(limit, l.recorded-1)
			if l.truth != 0 {
				limit = min(limit, l.truth-1)
			}
		}
		target := limit - min(limit, uint64(m.rng.IntN(3))) // never below block 0
		if m.rng.IntN(6) == 0 {
			target = m.asOf[c] / 2 // an old snapshot: must not move asOf back
		}
		got, err := m.e.w.AdvanceAsOf(m.ctx, m.e.account, c, target)
		require.NoError(t, err)
		m.asOf[c] = max(m.asOf[c], target)
		require.Equal(t, m.asOf[c], got)
	case op < 88: // GC one intent
		if len(m.order) == 0 {
			return
		}
		id := m.order[m.rng.IntN(len(m.order))]
		retention := time.Duration(m.rng.IntN(4)) * time.Hour
		cutoff := now.Add(-retention)
		want := 0
		for n, l := range m.intents[id].legs {
			if l.recorded != 0 && l.recorded <= m.asOf[l.chain] && !l.updatedAt.After(cutoff) {
				want++
				delete(m.intents[id].legs, n)
				m.floor[l.chain] = max(m.floor[l.chain], l.recorded)
			}
		}
		n, err := m.e.w.GC(m.ctx, m.e.account, id, pending.GCPolicy{Retention: retention})
		require.NoError(t, err)
		require.Equal(t, want, n)
		if n > 0 {
			m.cov.add("gc removed a leg")
		}
	case op < 93: // a reorg replaces the blocks past a fork block: leg events there move or go
		c := propChains[m.rng.IntN(len(propChains))]
		if m.head[c] <= m.floor[c] {
			return
		}
		fork := m.floor[c] + uint64(m.rng.Int64N(int64(m.head[c]-m.floor[c])))
		for _, l := range m.legs(func(l *mleg) bool { return l.chain == c && l.truth > fork }) {
			switch m.rng.IntN(3) {
			case 0: // mined again at another block of the new branch
				l.truth = fork + 1 + uint64(m.rng.Int64N(int64(m.head[c]-fork)))
			case 1: // not in the new branch (yet)
				l.truth = 0
			}
		}
		if m.asOf[c] > fork {
			m.cov.add("rewound below asOf")
		}
		got, _, err := m.e.w.RewindAsOf(m.ctx, m.e.account, c, fork)
		require.NoError(t, err)
		m.asOf[c] = min(m.asOf[c], fork)
		require.Equal(t, m.asOf[c], got)
	case op < 97: // the executor re-verifies a recorded block after a reorg: moved, or gone
		l := m.pick(m.legs(func(l *mleg) bool { return l.recorded != 0 && l.recorded != l.truth }))
		if l == nil {
			return
		}
		nl := m.toLeg(l)
		nl.UntilBlock = l.truth
		m.update(l.intent, []pending.LegUpdate{pending.SetLeg(nl)}, func() { l.recorded, l.updatedAt = l.truth, now })
		m.cov.add("stale block re-verified")
	default: // only reads this step
	}
}

// check reads the ledger at several random block choices and compares with the model.
func (m *model) check(step int) {
	for range 3 {
		blocks := map[uint64]uint64{}
		for _, c := range propChains {
			lo := m.floor[c]
			switch m.rng.IntN(4) {
			case 0: // no block: evaluated at asOf
			case 1: // behind
				if m.asOf[c] > lo {
					blocks[c] = lo + uint64(m.rng.Int64N(int64(m.asOf[c]-lo)))
				}
			case 2:
				blocks[c] = m.asOf[c]
			case 3: // ahead, up to the chain's head
				if m.head[c] > m.asOf[c] {
					blocks[c] = m.asOf[c] + 1 + uint64(m.rng.Int64N(int64(m.head[c]-m.asOf[c])))
				}
			}
		}
		m.checkAt(step, blocks)
	}
}

func (m *model) checkAt(step int, blocks map[uint64]uint64) {
	t := m.t
	m.reads++
	view, err := m.e.r.Read(m.ctx, m.e.account, blocks)
	require.NoError(t, err)
	msg := fmt.Sprintf("step %d blocks %v asOf %v head %v", step, blocks, m.asOf, m.head)

	// Raw legs: exactly the model's live legs, each once.
	live := m.legs(func(*mleg) bool { return true })
	require.Len(t, view.Legs(), len(live), msg)
	seen := map[string]bool{}
	for _, l := range view.Legs() {
		require.False(t, seen[l.Field()], "leg %s twice: %s", l.Field(), msg)
		seen[l.Field()] = true
		ml := m.intents[l.IntentID].legs[l.Name]
		require.NotNil(t, ml, "leg %s not in the model: %s", l.Field(), msg)
		require.Equal(t, 0, ml.amount.Cmp(l.Amount), msg)
		require.Equal(t, ml.recorded, l.UntilBlock, msg)
	}

	type key struct {
		chain uint64
		token string
	}
	type sums struct{ truth, conservative, withheld, unconfirmedDebits big.Int }
	want := map[key]*sums{}
	for _, l := range live {
		k := key{l.chain, l.token}
		s := want[k]
		if s == nil {
			s = &sums{}
			want[k] = s
		}
		b, given := blocks[l.chain]
		if !given {
			b = m.asOf[l.chain]
		}
		if l.truth == 0 || b < l.truth {
			s.truth.Add(&s.truth, l.amount)
		}
		switch {
		case b <= m.asOf[l.chain] || (l.recorded != 0 && l.recorded <= m.asOf[l.chain]):
			if l.recorded == 0 || b < l.recorded {
				s.conservative.Add(&s.conservative, l.amount)
			}
		case l.amount.Sign() > 0:
			s.withheld.Add(&s.withheld, l.amount)
		default:
			s.conservative.Add(&s.conservative, l.amount)
			s.unconfirmedDebits.Sub(&s.unconfirmedDebits, l.amount)
		}
	}

	for _, c := range propChains {
		b, given := blocks[c]
		if !given {
			b = m.asOf[c]
		}
		cv, ok := view.Chains[c]
		if !ok {
			require.False(t, given, "chain %d asked for but absent: %s", c, msg)
			require.Zero(t, m.asOf[c], msg)
			continue
		}
		require.Equal(t, m.asOf[c], cv.AsOf, msg)
		require.Equal(t, b, cv.Block, msg)
		require.Equal(t, b > m.asOf[c], cv.Ahead, msg)
		for _, tok := range propTokens {
			s := want[key{c, tok}]
			got, ok := cv.Tokens[tok]
			if s == nil {
				require.False(t, ok, "chain %d token %s has no leg but a total: %s", c, tok, msg)
				continue
			}
			require.True(t, ok, msg)
			require.Equal(t, propDecimals[c], got.Decimals)
			where := fmt.Sprintf("chain %d token %s: %s", c, tok, msg)
			require.Equal(t, s.conservative.String(), got.Amount.String(), where)
			require.Equal(t, s.withheld.String(), got.Withheld.String(), where)
			switch {
			case b < m.asOf[c]:
				m.cov.add("behind")
			case b == m.asOf[c]:
				m.cov.add("at")
			case s.truth.Cmp(got.Amount) > 0:
				m.cov.add("ahead, truth above the total")
			default:
				m.cov.add("ahead, truth equal to the total")
			}
			if b > m.asOf[c] {
				m.cov.add("ahead")
			}
			for _, l := range live {
				if l.chain == c && l.token == tok && l.recorded > m.asOf[c] {
					m.cov.add("leg recorded past asOf")
					break
				}
			}
			for _, l := range live {
				if l.chain == c && l.token == tok && l.recorded != l.truth && l.recorded != 0 {
					m.cov.add("stale block read")
					break
				}
			}
			if !cv.Ahead {
				require.Equal(t, s.truth.String(), got.Amount.String(), "at or below asOf the total is exact: "+where)
				require.Zero(t, got.Withheld.Sign(), where)
				continue
			}
			require.LessOrEqual(t, got.Amount.Cmp(&s.truth), 0, "ahead of asOf the total must not overcount: "+where)
			slack := new(big.Int).Add(&s.withheld, &s.unconfirmedDebits)
			require.LessOrEqual(t, new(big.Int).Sub(&s.truth, got.Amount).Cmp(slack), 0, where)
		}
	}
}

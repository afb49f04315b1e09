package planner

import (
	"fmt"
	"slices"
	"time"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// State is everything the planner knows, folded from the REBAL stream in stream order: the latest
// snapshot per (account, location) with its health, the ledger watermarks, the intents (the ones
// in the stream and the ones this planner decided but has not yet seen there) and their execution
// updates. The same events in the same order always fold to the same State; it holds no wall
// clock: "now" is the latest producer time seen in the stream.
//
// State is not safe for concurrent use.
type State struct {
	clock time.Time
	seq   uint64
	locs  map[locKey]*locState
	marks map[chainKey]uint64
	ints  map[string]*intentState
	// byAccount indexes ints by account, so a decision reads only its account's intents.
	byAccount map[string]map[string]*intentState
	routes    map[routeKey]time.Time
	paused    map[string]bool
	// firstSnap is, per account, the stream time at which its first snapshot was folded: the
	// start of its warm-up grace (see warmingUp).
	firstSnap map[string]time.Time
	// ownOnly keeps intents (and their updates) decided under another config out of the state:
	// a what-if replay counts only its own decisions.
	ownOnly string
	// own is the config hash this planner decides under (see Own).
	own string
}

type locKey struct {
	account string
	loc     events.Location
}

type chainKey struct {
	account string
	chain   uint64
}

type routeKey struct {
	account, venue     string
	srcChain, dstChain uint64
	srcToken, dstToken string
}

func routeKeyOf(account, venue string, r events.Route) routeKey {
	return routeKey{account: account, venue: venue, srcChain: r.SrcChain, dstChain: r.DstChain, srcToken: r.SrcToken, dstToken: r.DstToken}
}

type locState struct {
	snap *events.BalanceSnapshot
	// problem is why the location takes part in no new intent (gap, reorg, hash change) until a
	// clean contiguous snapshot follows; empty when healthy.
	problem string
}

type intentState struct {
	intent  *events.RebalanceIntent // nil when only execution updates were seen
	account string
	venue   string
	legs    []events.Leg
	version uint64
	state   events.State
	// inStream says the intent itself was read from the stream (not only decided here).
	inStream bool
	// superseded says another config's intent on the same basis was read: this decision is
	// never published, and counts only until that config's intents have all been read.
	superseded bool
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		locs:      map[locKey]*locState{},
		marks:     map[chainKey]uint64{},
		ints:      map[string]*intentState{},
		byAccount: map[string]map[string]*intentState{},
		routes:    map[routeKey]time.Time{},
		paused:    map[string]bool{},
		firstSnap: map[string]time.Time{},
	}
}

// Own tells the state which config hash its planner decides under. When the stream then shows
// an intent decided under another config on a basis this planner also decided on (a planner
// catching up after a config change, re-deciding history), the stream's intent is what was
// really sent: this planner's unpublished decisions on that basis are never published, and
// each of the other config's intents read takes the place of one of them (the one on its route
// if any), so a move is neither counted twice nor made twice, nor forgotten while the rest of
// the other config's intents on that basis are still to be read.
func (s *State) Own(configHash string) { s.own = configHash }

// newWhatIfState returns a state that ignores intents not decided under configHash.
func newWhatIfState(configHash string) *State {
	s := NewState()
	s.ownOnly = configHash
	return s
}

// Clock is the stream time: the latest producer time of any event folded.
func (s *State) Clock() time.Time { return s.clock }

// Seq is the stream sequence of the last event folded.
func (s *State) Seq() uint64 { return s.seq }

// Apply folds one stream event. It returns the account whose plan the event may change, or ""
// when the event cannot change any decision (an intent, a duplicate, an older snapshot).
func (s *State) Apply(seq uint64, ev events.Event) string {
	if seq > s.seq {
		s.seq = seq
	}
	if at := ev.EventMeta().ProducedAt; at.After(s.clock) {
		s.clock = at
	}
	switch e := ev.(type) {
	case *events.BalanceSnapshot:
		return s.applySnapshot(e)
	case *events.LedgerWatermark:
		k := chainKey{e.Account, e.ChainID}
		if e.AsOf <= s.marks[k] {
			return ""
		}
		s.marks[k] = e.AsOf
		return e.Account
	case *events.RebalanceIntent:
		s.applyIntent(e, true)
		return ""
	case *events.ExecutionUpdate:
		return s.applyUpdate(e)
	case *events.ControlCommand:
		switch e.Verb {
		case events.VerbPause, events.VerbKill:
			s.paused[e.Scope] = true
		case events.VerbResume, events.VerbUnkill:
			delete(s.paused, e.Scope)
		}
		return ""
	}
	return ""
}

func (s *State) applySnapshot(e *events.BalanceSnapshot) string {
	if _, ok := s.firstSnap[e.Account]; !ok {
		s.firstSnap[e.Account] = s.clock
	}
	k := locKey{e.Account, e.Location}
	ls := s.locs[k]
	if ls == nil {
		ls = &locState{}
		s.locs[k] = ls
	}
	prev := ls.snap
	switch {
	case prev == nil:
		ls.problem = ""
		if e.Reorg != nil {
			ls.problem = fmt.Sprintf("reorg at height %d", e.Reorg.Height)
		}
	case e.Range == nil: // a venue
		if e.VenueSeq <= prev.VenueSeq {
			return ""
		}
	case e.Reorg != nil:
		ls.problem = fmt.Sprintf("reorg at height %d", e.Reorg.Height)
	case e.Range.To < prev.Range.To:
		return "" // an older fact arriving late: the newer one stands
	case e.Range.To == prev.Range.To:
		if e.BlockHash == prev.BlockHash {
			return ""
		}
		ls.problem = fmt.Sprintf("block %d changed hash without a reorg notice", e.Range.To)
	case e.Range.From != prev.Range.To:
		ls.problem = fmt.Sprintf("gap: snapshot from block %d, previous to block %d", e.Range.From, prev.Range.To)
	default:
		ls.problem = ""
	}
	ls.snap = e
	if e.Range != nil {
		s.prune(e.Account)
	}
	return e.Account
}

func (s *State) applyIntent(in *events.RebalanceIntent, fromStream bool) {
	if s.ownOnly != "" && in.Basis.ConfigHash != s.ownOnly {
		return
	}
	if fromStream && s.own != "" && in.Basis.ConfigHash != s.own {
		// Another config's intent on a basis this planner decided on: none of this planner's
		// decisions on that basis is published, but they keep counting as in flight, standing
		// for the other config's intents on that basis that the stream has not shown yet. This
		// one takes the place of the decision on the same route (else of the first by id).
		var match, first string
		for id, is := range s.byAccount[in.Account] {
			if is.inStream || is.intent == nil || is.intent.Basis.Seq != in.Basis.Seq || is.intent.Basis.ConfigHash != s.own {
				continue
			}
			is.superseded = true
			if is.venue == in.Venue && is.intent.Route == in.Route && (match == "" || id < match) {
				match = id
			}
			if first == "" || id < first {
				first = id
			}
		}
		if match == "" {
			match = first
		}
		if match != "" {
			delete(s.byAccount[in.Account], match)
			delete(s.ints, match)
		}
	}
	is := s.ints[in.ID]
	if is == nil {
		is = s.track(in.ID, in.Account, in.Venue)
	}
	if is.intent == nil {
		is.intent = in
	}
	is.inStream = is.inStream || fromStream
	rk := routeKeyOf(in.Account, in.Venue, in.Route)
	if in.ProducedAt.After(s.routes[rk]) {
		s.routes[rk] = in.ProducedAt
	}
}

func (s *State) applyUpdate(u *events.ExecutionUpdate) string {
	is := s.ints[u.IntentID]
	if is == nil {
		if s.ownOnly != "" {
			return ""
		}
		is = s.track(u.IntentID, u.Account, u.Venue)
	}
	if u.IntentVersion <= is.version {
		return ""
	}
	is.version, is.state, is.legs = u.IntentVersion, u.State, u.Legs
	return u.Account
}

func (s *State) track(id, account, venue string) *intentState {
	is := &intentState{account: account, venue: venue}
	s.ints[id] = is
	m := s.byAccount[account]
	if m == nil {
		m = map[string]*intentState{}
		s.byAccount[account] = m
	}
	m[id] = is
	return is
}

// accountIntents returns an account's intents in id order.
func (s *State) accountIntents(account string) []*intentState {
	m := s.byAccount[account]
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*intentState, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// prune forgets an account's intents that can no longer change a decision: not in flight, and
// every leg closed at a block the account's snapshot of that chain has passed (so no later
// snapshot counts it). Forgetting them keeps the state, and each decision, small over a long
// stream; the route cooldowns are kept apart. It depends only on the state, so every replica
// and every replay prunes alike.
func (s *State) prune(account string) {
	for id, is := range s.byAccount[account] {
		if is.inFlight(s.clock) {
			continue
		}
		inert := true
		for _, l := range is.currentLegs(s.clock) {
			ls := s.locs[locKey{account, events.ChainLocation(l.ChainID)}]
			if l.UntilBlock == 0 || ls == nil || ls.snap == nil || ls.snap.Range == nil || ls.snap.Range.To < l.UntilBlock {
				inert = false
				break
			}
		}
		if inert {
			delete(s.byAccount[account], id)
			delete(s.ints, id)
		}
	}
}

// Decided records intents this planner decided, so that they count as in flight from the moment
// of the decision, before the stream holds them.
func (s *State) Decided(ins []*events.RebalanceIntent) {
	for _, in := range ins {
		s.applyIntent(in, false)
	}
}

// Has reports whether the stream already held intent id when it was folded.
func (s *State) Has(id string) bool {
	is := s.ints[id]
	return is != nil && is.inStream
}

// holds reports whether intent id is known and not yet seen in the stream.
func (s *State) holds(id string) bool {
	is := s.ints[id]
	return is != nil && !is.inStream && !is.superseded
}

// live reports whether an intent still counts: updated by the executor, or not yet past its
// deadline without any update (an intent nobody accepted by then never runs).
func (is *intentState) live(now time.Time) bool {
	if is.version > 0 {
		return true
	}
	return is.intent != nil && !now.After(is.intent.Deadline)
}

// inFlight reports whether the intent holds a venue slot: live and not completed or rejected.
// needs_attention keeps it: its funds are somewhere on the way.
func (is *intentState) inFlight(now time.Time) bool {
	if !is.live(now) {
		return false
	}
	return is.state != events.StateCompleted && is.state != events.StateRejected
}

// currentLegs are the intent's ledger legs: the executor's latest, or before any update the
// intent's own expected legs (source debit, destination credit, both until block 0).
func (is *intentState) currentLegs(now time.Time) []events.Leg {
	if is.version > 0 {
		return is.legs
	}
	if !is.live(now) {
		return nil
	}
	in := is.intent
	return []events.Leg{
		{Name: "src", ChainID: in.Route.SrcChain, Token: in.Route.SrcToken, Amount: events.NewAmount(neg(in.AmountIn.Big())), Decimals: in.Route.SrcDecimals},
		{Name: "dst", ChainID: in.Route.DstChain, Token: in.Route.DstToken, Amount: in.MinAmountOut, Decimals: in.Route.DstDecimals},
	}
}

package devnet

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"sync"
	"time"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Tracker folds the stream into what the live view and the report show: the latest balance of
// every chain and token, every intent's state, fees paid per venue, and for how long each chain
// and token has been below its threshold.
type Tracker struct {
	cfg *config.Config

	mu       sync.Mutex
	seq      uint64
	balances map[string]*big.Int // "<chain>/<token>" → latest snapshot balance
	blocks   map[uint64]uint64   // chain → block of the latest snapshot
	intents  map[string]*intentView
	order    []string
	fees     map[string]map[string]*big.Int // venue → "<token>/<decimals>" → amount
	below    map[string]time.Duration
	belowAt  map[string]time.Time // when the pair last went below threshold
	// refills records, per route, how long from a chain going below threshold to the landing of
	// the intent that refilled it.
	refills map[string][]time.Duration
}

type intentView struct {
	intent  *events.RebalanceIntent
	state   events.State
	version uint64
	updated time.Time
	err     string
	legs    []events.Leg
	decided time.Time
}

// NewTracker returns an empty tracker for cfg.
func NewTracker(cfg *config.Config) *Tracker {
	return &Tracker{cfg: cfg, balances: map[string]*big.Int{}, blocks: map[uint64]uint64{}, intents: map[string]*intentView{},
		fees: map[string]map[string]*big.Int{}, below: map[string]time.Duration{}, belowAt: map[string]time.Time{}, refills: map[string][]time.Duration{}}
}

// Follow reads the stream from where it left off every interval until ctx ends.
func (t *Tracker) Follow(ctx context.Context, b *bus.Bus, every time.Duration) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		from := t.lastSeq() + 1
		err := b.ReadRange(ctx, bus.Range{FromSeq: from}, func(m bus.Message) error {
			t.apply(m)
			return nil
		})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("tracker: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (t *Tracker) lastSeq() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seq
}

func pairKey(chain uint64, token string) string { return fmt.Sprintf("%d/%s", chain, token) }

func (t *Tracker) apply(m bus.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m.Seq <= t.seq {
		return
	}
	t.seq = m.Seq
	switch ev := m.Event.(type) {
	case *events.BalanceSnapshot:
		id, ok := ev.Location.ChainID()
		if !ok {
			return
		}
		for _, b := range ev.Balances {
			t.balances[pairKey(id, b.Token)] = b.Amount.Big()
		}
		t.blocks[id] = ev.Range.To
		t.sampleBelow(m.Time)
	case *events.RebalanceIntent:
		if _, ok := t.intents[ev.ID]; !ok {
			t.order = append(t.order, ev.ID)
			t.intents[ev.ID] = &intentView{intent: ev, state: "decided", updated: m.Time, decided: m.Time}
		}
	case *events.ExecutionUpdate:
		iv, ok := t.intents[ev.IntentID]
		if !ok || ev.IntentVersion <= iv.version {
			return
		}
		iv.version, iv.state, iv.updated, iv.err, iv.legs = ev.IntentVersion, ev.State, m.Time, ev.Error, ev.Legs
		if ev.State == events.StateCompleted {
			if ev.Realized != nil {
				for _, f := range ev.Realized.Fees {
					k := fmt.Sprintf("%s/%d", f.Token, f.Decimals)
					if t.fees[ev.Venue] == nil {
						t.fees[ev.Venue] = map[string]*big.Int{}
					}
					if t.fees[ev.Venue][k] == nil {
						t.fees[ev.Venue][k] = new(big.Int)
					}
					t.fees[ev.Venue][k].Add(t.fees[ev.Venue][k], f.Amount.Big())
				}
			}
		}
	}
}

// sampleBelow updates the below-threshold clocks at stream time at.
func (t *Tracker) sampleBelow(at time.Time) {
	for _, tg := range t.cfg.Targets {
		k := pairKey(tg.Chain, tg.Token)
		bal, ok := t.balances[k]
		tc, ok2 := t.cfg.TokenOn(tg.Token, tg.Chain)
		if !ok || !ok2 {
			continue
		}
		thr, err := tg.Threshold.Units(tc.Decimals)
		if err != nil {
			continue
		}
		since, was := t.belowAt[k]
		isBelow := bal.Cmp(thr) < 0
		switch {
		case isBelow && !was:
			t.belowAt[k] = at
		case !isBelow && was:
			t.below[k] += at.Sub(since)
			delete(t.belowAt, k)
			// The refill landed: credit it to the newest intent into this pair decided while it
			// was low (an intent decided before the drop did not answer it).
			if route, ok := t.refillRoute(tg.Chain, tg.Token, since); ok {
				t.refills[route] = append(t.refills[route], at.Sub(since))
			}
		}
	}
}

// refillRoute names the route of the newest intent into (chain, token) decided at or after since.
func (t *Tracker) refillRoute(chain uint64, token string, since time.Time) (string, bool) {
	for i := len(t.order) - 1; i >= 0; i-- {
		iv := t.intents[t.order[i]]
		r := iv.intent.Route
		if r.DstChain != chain || r.DstToken != token {
			continue
		}
		if iv.decided.Before(since) {
			return "", false
		}
		return fmt.Sprintf("%s %d/%s→%d/%s", iv.intent.Venue, r.SrcChain, r.SrcToken, r.DstChain, r.DstToken), true
	}
	return "", false
}

// Counts says how many intents were emitted and how many are in each state.
func (t *Tracker) Counts() (emitted int, byState map[events.State]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	byState = map[events.State]int{}
	for _, iv := range t.intents {
		byState[iv.state]++
	}
	return len(t.intents), byState
}

// BelowSeconds is the time each chain/token spent below its threshold, up to now.
func (t *Tracker) BelowSeconds(now time.Time) map[string]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]float64{}
	for _, tg := range t.cfg.Targets {
		k := pairKey(tg.Chain, tg.Token)
		d := t.below[k]
		if since, ok := t.belowAt[k]; ok {
			d += now.Sub(since)
		}
		out[k] = d.Round(time.Millisecond).Seconds()
	}
	return out
}

// Fees is the fees paid per venue, as "<amount> <token>" in base units with decimals.
func (t *Tracker) Fees() map[string]map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]map[string]string{}
	for v, m := range t.fees {
		out[v] = map[string]string{}
		for k, a := range m {
			out[v][k] = a.String()
		}
	}
	return out
}

// Refills returns, per route, the times from a chain going below its threshold to the landing
// of an intent that refilled it.
func (t *Tracker) Refills() map[string][]time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string][]time.Duration{}
	for k, v := range t.refills {
		out[k] = append([]time.Duration(nil), v...)
	}
	return out
}

// lastLegs returns each intent's legs as its latest execution update gave them.
func (t *Tracker) lastLegs() map[string][]events.Leg {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string][]events.Leg, len(t.intents))
	for id, iv := range t.intents {
		if iv.version > 0 {
			out[id] = iv.legs
		}
	}
	return out
}

// recentIntents returns up to n intents, newest first.
func (t *Tracker) recentIntents(n int) []intentView {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []intentView
	for i := len(t.order) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, *t.intents[t.order[i]])
	}
	return out
}

func (t *Tracker) balance(chain uint64, token string) (*big.Int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.balances[pairKey(chain, token)]
	if !ok {
		return nil, false
	}
	return new(big.Int).Set(b), true
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

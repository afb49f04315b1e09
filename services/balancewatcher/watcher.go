package balancewatcher

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"golang.org/x/sync/errgroup"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Watcher runs one goroutine per chain and per venue.
type Watcher struct {
	cfg    Config
	chains []*chainWatcher
	venues []*venueWatcher
	health *health
}

// New checks the configuration against the dependencies and builds the watcher.
func New(cfg Config, d Deps) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if d.Stream == nil {
		return nil, errors.New("balancewatcher: no stream")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	m := newMetrics(d.Metrics)
	w := &Watcher{cfg: cfg, health: newHealth(d.Now, m)}
	for i, ch := range cfg.Chains {
		if d.Chains[ch.ID] == nil {
			return nil, fmt.Errorf("watcher.chains[%d]: no reader for chain %d", i, ch.ID)
		}
		w.health.watch(events.ChainLocation(ch.ID), ch.StaleAfter)
		w.chains = append(w.chains, newChainWatcher(ch, cfg, d, m, w.health))
	}
	byName := map[string]VenueReader{}
	for _, v := range d.Venues {
		byName[v.Venue()] = v
	}
	for i, name := range cfg.Venues {
		r, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("watcher.venues[%d]: no reader for venue %q", i, name)
		}
		loc := events.VenueLocation(name)
		w.health.watch(loc, max(3*cfg.VenueInterval, 30*time.Second))
		w.venues = append(w.venues, &venueWatcher{
			reader: r, loc: loc, stream: d.Stream, accounts: cfg.Accounts, opts: cfg,
			log: d.Log.With().Str("venue", name).Logger(), m: m, now: d.Now, health: w.health,
			lastSeq: map[common.Address]uint64{},
		})
	}
	return w, nil
}

// Start runs every chain and venue until ctx ends.
func (w *Watcher) Start(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, c := range w.chains {
		g.Go(func() error { return c.Start(ctx) })
	}
	for _, v := range w.venues {
		g.Go(func() error { return v.Start(ctx) })
	}
	// Keep the stale gauge current even when nobody probes readiness.
	g.Go(func() error {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				w.health.stale()
			}
		}
	})
	return g.Wait()
}

// Ready fails, naming them, while any location is stale.
func (w *Watcher) Ready(context.Context) error {
	stale := w.health.stale()
	if len(stale) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", errStale, strings.Join(stale, ", "))
}

// health tracks each location's last successful read.
type health struct {
	mu    sync.Mutex
	now   func() time.Time
	m     *metrics
	start time.Time
	limit map[events.Location]time.Duration
	last  map[events.Location]time.Time
}

func newHealth(now func() time.Time, m *metrics) *health {
	return &health{now: now, m: m, start: now(), limit: map[events.Location]time.Duration{}, last: map[events.Location]time.Time{}}
}

func (h *health) watch(loc events.Location, limit time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.limit[loc] = limit
}

func (h *health) ok(loc events.Location, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last[loc] = at
	h.m.lastOK.WithLabelValues(string(loc)).Set(float64(at.Unix()))
	h.m.stale.WithLabelValues(string(loc)).Set(0)
}

// stale lists the locations not read successfully within their limit (counting from start for
// locations never read).
func (h *health) stale() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	var out []string
	for loc, limit := range h.limit {
		last, ok := h.last[loc]
		if !ok {
			last = h.start
		}
		if now.Sub(last) > limit {
			out = append(out, fmt.Sprintf("%s (no successful read for %s)", loc, now.Sub(last).Round(time.Second)))
			h.m.stale.WithLabelValues(string(loc)).Set(1)
		}
	}
	sort.Strings(out)
	return out
}

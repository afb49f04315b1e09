package devnet

import (
	"encoding/json"
	"os"
	"sort"
	"time"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Report is devnet's JSON summary (--report FILE).
type Report struct {
	Seed                      uint64                       `json:"seed"`
	DurationSeconds           float64                      `json:"duration_seconds"`
	IntentsEmitted            int                          `json:"intents_emitted"`
	IntentsCompleted          int                          `json:"intents_completed"`
	IntentsNeedsAttention     int                          `json:"intents_needs_attention"`
	IntentsByState            map[string]int               `json:"intents_by_state"`
	LedgerInvariantViolations int                          `json:"ledger_invariant_violations"`
	LedgerInvariantChecks     int                          `json:"ledger_invariant_checks"`
	ViolationSamples          []string                     `json:"violation_samples,omitempty"`
	SecondsBelowThreshold     map[string]float64           `json:"seconds_below_threshold"`
	FeesPaid                  map[string]map[string]string `json:"fees_paid"`
	// RefillSeconds is, per route, the time from a chain falling below its threshold to the
	// landing of the intent that refilled it: p50 and max over the run.
	RefillSeconds map[string]RefillStat `json:"refill_seconds"`
	Redis         string                `json:"redis"`
}

// RefillStat summarizes refill times on one route.
type RefillStat struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	Max   float64 `json:"max"`
}

// BuildReport assembles the report from the tracker and the invariant checker's counts.
func BuildReport(t *Tracker, seed uint64, started, now time.Time, checks, violations int, samples []string, redis RedisSource) Report {
	emitted, states := t.Counts()
	r := Report{
		Seed:                      seed,
		DurationSeconds:           now.Sub(started).Round(time.Millisecond).Seconds(),
		IntentsEmitted:            emitted,
		IntentsCompleted:          states[events.StateCompleted],
		IntentsNeedsAttention:     states[events.StateNeedsAttention],
		IntentsByState:            toStringKeys(states),
		LedgerInvariantViolations: violations,
		LedgerInvariantChecks:     checks,
		ViolationSamples:          samples,
		SecondsBelowThreshold:     t.BelowSeconds(now),
		FeesPaid:                  t.Fees(),
		RefillSeconds:             map[string]RefillStat{},
		Redis:                     string(redis),
	}
	for route, ds := range t.Refills() {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		r.RefillSeconds[route] = RefillStat{Count: len(ds), P50: ds[len(ds)/2].Seconds(), Max: ds[len(ds)-1].Seconds()}
	}
	return r
}

// Write writes the report as indented JSON.
func (r Report) Write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

package planner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// RangeReader reads the stream in order; *bus.Bus implements it.
type RangeReader interface {
	ReadRange(ctx context.Context, r bus.Range, fn func(bus.Message) error) error
}

// ReplayResult is what a replay decided, and what the stream holds, for a range of basis
// sequences.
type ReplayResult struct {
	// Intents are the replay's decisions whose basis is in the range, in decision order.
	Intents []*events.RebalanceIntent
	// Original are the intents the stream holds whose basis is in the range, in stream order.
	Original []*events.RebalanceIntent
	// Events is how many stream events were folded (the range and what precedes it).
	Events int
	// Unproven counts decisions not proven optimal.
	Unproven int
	// Clock is the stream time at the end of the replay.
	Clock time.Time
}

// Replay re-runs the planner with pol over the stream from its start up to toSeq (the state at
// fromSeq depends on everything before it) and returns the decisions based on [fromSeq, toSeq].
// It publishes nothing. The state counts only intents decided under pol's config, so a replay
// with another config is a what-if run: it sees its own decisions, not the original ones.
// Replaying the same range with the same config always gives the same intents, byte for byte.
func Replay(ctx context.Context, rr RangeReader, pol *Policy, costs CostModel, fromSeq, toSeq uint64) (ReplayResult, error) {
	if costs == nil {
		costs = NewStaticCosts(pol.cfg)
	}
	accounts := map[string]bool{}
	for _, a := range pol.cfg.Accounts {
		accounts[a] = true
	}
	st := newWhatIfState(pol.hash)
	var res ReplayResult
	err := rr.ReadRange(ctx, bus.Range{ToSeq: toSeq, Subjects: inputSubjects}, func(m bus.Message) error {
		if m.Event == nil || m.Seq <= st.Seq() {
			return nil
		}
		res.Events++
		if in, ok := m.Event.(*events.RebalanceIntent); ok && in.Basis.Seq >= fromSeq && (toSeq == 0 || in.Basis.Seq <= toSeq) {
			res.Original = append(res.Original, in)
		}
		acct := st.Apply(m.Seq, m.Event)
		if acct == "" || !accounts[acct] {
			return nil
		}
		meta := m.Event.EventMeta()
		d := Plan(pol, costs, st, acct, Basis{Seq: m.Seq, EventID: meta.ID, At: meta.ProducedAt})
		st.Decided(d.Intents)
		if m.Seq >= fromSeq {
			res.Intents = append(res.Intents, d.Intents...)
			if !d.Record.Proven {
				res.Unproven++
			}
		}
		return nil
	})
	res.Clock = st.Clock()
	if err != nil {
		return res, fmt.Errorf("replay: %w", err)
	}
	return res, nil
}

// WriteIntents writes intents as JSON lines, the format of replay --out.
func WriteIntents(w io.Writer, ins []*events.RebalanceIntent) error {
	var buf bytes.Buffer
	for _, in := range ins {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode intent %s: %w", in.ID, err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// decisionKey identifies a decision independently of the config hash (which is in the id).
func decisionKey(in *events.RebalanceIntent) string {
	r := in.Route
	return fmt.Sprintf("seq %d %s %s %d/%s→%d/%s amountIn %s", in.Basis.Seq, in.Account, in.Venue, r.SrcChain, r.SrcToken, r.DstChain, r.DstToken, in.AmountIn)
}

// Diff lists the decisions that differ: "- " for an original the replay did not make, "+ " for
// a replay decision the stream does not hold. Lines are in basis order.
func Diff(original, replayed []*events.RebalanceIntent) []string {
	type line struct {
		seq  uint64
		text string
	}
	have := map[string]int{}
	for _, in := range replayed {
		have[decisionKey(in)]++
	}
	orig := map[string]int{}
	for _, in := range original {
		orig[decisionKey(in)]++
	}
	var lines []line
	for _, in := range original {
		k := decisionKey(in)
		if have[k] > 0 {
			have[k]--
			continue
		}
		lines = append(lines, line{in.Basis.Seq, "- " + k})
	}
	for _, in := range replayed {
		k := decisionKey(in)
		if orig[k] > 0 {
			orig[k]--
			continue
		}
		lines = append(lines, line{in.Basis.Seq, "+ " + k})
	}
	slices.SortStableFunc(lines, func(a, b line) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.text
	}
	return out
}

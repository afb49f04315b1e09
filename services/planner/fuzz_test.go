package planner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// FuzzPlanInput: any history of the test world, written as the file `plan` reads (JSON lines),
// decodes, folds and plans without a panic; every decision along the way keeps every cap (excess,
// deficit, sizes, fee bound, venue counts and notional, checkDecision); and planning from the
// decoded file decides exactly what planning from the live state decided.
//
// The input is a compact program, four bytes an operation (see fuzzOp), not the JSON itself: the
// fuzzer's mutations then make other histories (snapshots in and out of their bands, gaps and
// rewinds, stale venues, pauses, intents decided, rejected, watermarks) instead of malformed JSON,
// and a new input takes a few hundred executions to minimise instead of a minute. Malformed
// event JSON is the decoders' fuzz targets' job (pkg/events).
func FuzzPlanInput(f *testing.F) {
	pol := newWorld(f, testYAML).pol
	costs := NewStaticCosts(pol.cfg)
	f.Add([]byte{3, 0, 0, 0, 3, 1, 0, 0, 0, 0, 200, 100, 0, 1, 40, 100, 4, 0, 0, 0})
	f.Add([]byte{3, 0, 0, 0, 3, 1, 0, 0, 0, 2, 5, 5, 0, 1, 250, 100, 4, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0})
	f.Add([]byte{3, 0, 0, 0, 3, 1, 0, 0, 0, 0, 200, 200, 2, 1, 1, 30, 6, 0, 0, 0, 8, 1, 0, 0, 4, 0, 0, 0})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 250, 250, 0, 1, 10, 10, 7, 2, 0, 0, 4, 0, 0, 0})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) > 4*48 {
			return // long histories add nothing short ones cannot reach
		}
		w := &world{t: t, pol: pol, costs: costs, st: NewState(), at: t0, last: map[uint64]uint64{}}
		var file bytes.Buffer
		var open []*events.RebalanceIntent
		emit := func(ev events.Event) {
			w.seq++
			w.st.Apply(w.seq, ev)
			b, err := json.Marshal(ev)
			require.NoError(t, err)
			file.Write(b)
			file.WriteByte('\n')
		}
		w.out = emit
		for i := 0; i+4 <= len(prog); i += 4 {
			fuzzOp(t, w, prog[i:i+4], &open, emit)
		}
		live := w.plan()

		evs, err := decodeEvents(file.Bytes())
		require.NoError(t, err)
		st := NewState()
		for i, ev := range evs {
			st.Apply(uint64(i+1), ev)
		}
		fromFile := Plan(pol, costs, st, testAccount, Basis{Seq: w.seq, EventID: fmt.Sprintf("ev-%d", w.seq), At: w.at})
		a, _ := json.Marshal(live)
		b, _ := json.Marshal(fromFile)
		require.Equal(t, string(a), string(b), "the decoded file decides differently from the live state")
	})
}

// fuzzOp applies one operation [op, x, y, z] to the world:
//
//	0, 1  a contiguous snapshot of chain x%3 with USDC 10·y and USDT 10·z (human units)
//	2     a snapshot of chain x%3 after a gap (y%2 = 0) or rewound (y%2 = 1)
//	3     a snapshot of venue x%2
//	4     plan, check the decision, and publish its intents
//	5     the executor rejects open intent x
//	6     a ledger watermark on chain x%3 at its last block less y%3
//	7     x·30 seconds pass, then venue y%2 reports
//	8     pause (x%2 = 0) or resume all venues or one (y%3)
func fuzzOp(t *testing.T, w *world, op []byte, open *[]*events.RebalanceIntent, emit func(events.Event)) {
	chains := []uint64{1, 10, 42161}
	venues := []string{"binance", "hyperliquid"}
	human := func(b byte) string { return fmt.Sprint(10 * int(b)) }
	switch op[0] % 9 {
	case 0, 1:
		w.chainSnap(chains[op[1]%3], human(op[2]), human(op[3]))
	case 2:
		c := chains[op[1]%3]
		from := w.last[c] + 1
		if op[2]%2 == 1 {
			from = max(w.last[c], 10) - 10
		}
		w.last[c] = from + 10
		w.snapAt(c, from, from+10, human(op[3]), "1000")
	case 3:
		w.venueSnap(venues[op[1]%2])
	case 4:
		d := w.plan()
		checkDecision(t, w, d)
		for _, in := range d.Intents {
			emit(in)
			*open = append(*open, in)
		}
	case 5:
		if len(*open) > 0 {
			k := int(op[1]) % len(*open)
			emit(rejected(w, (*open)[k]))
			*open = append((*open)[:k], (*open)[k+1:]...)
		}
	case 6:
		c := chains[op[1]%3]
		emit(watermark(w, c, max(w.last[c], 2)-uint64(op[2]%3)))
	case 7:
		w.at = w.at.Add(time.Duration(op[1]) * 30 * time.Second)
		w.venueSnap(venues[op[2]%2])
	case 8:
		verb := events.VerbPause
		if op[1]%2 == 1 {
			verb = events.VerbResume
		}
		scope := events.ScopeAll
		if k := op[2] % 3; k < 2 {
			scope = venues[k]
		}
		w.at = w.at.Add(time.Second)
		emit(&events.ControlCommand{Meta: events.NewMeta(events.TypeControlCommand, fmt.Sprintf("cmd-%d", w.seq), "", "fuzz", w.at),
			Verb: verb, Scope: scope, Reason: "fuzz", Operator: "fuzz"})
	}
}

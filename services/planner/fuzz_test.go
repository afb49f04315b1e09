package planner

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// FuzzPlanInput: any file `plan` accepts folds and plans without a panic, and every intent it
// decides is valid.
func FuzzPlanInput(f *testing.F) {
	w := newWorld(f, testYAML)
	var buf bytes.Buffer
	w.out = func(ev events.Event) {
		b, _ := json.Marshal(ev)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	w.balanced()
	w.chainSnap(1, "2000", "1000")
	w.chainSnap(10, "400", "1000")
	f.Add(buf.Bytes())
	f.Add([]byte("[]"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		evs, err := decodeEvents(raw)
		if err != nil {
			return
		}
		st := NewState()
		for i, ev := range evs {
			st.Apply(uint64(i+1), ev)
		}
		d := Plan(w.pol, w.costs, st, testAccount, Basis{Seq: uint64(len(evs)), EventID: "fuzz", At: st.Clock()})
		for _, in := range d.Intents {
			if err := in.Validate(); err != nil {
				t.Fatalf("invalid intent: %v", err)
			}
		}
	})
}

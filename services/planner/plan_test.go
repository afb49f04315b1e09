package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func TestPlanRules(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		setup func(w *world)
		want  []string
		check func(t *testing.T, d Decision)
	}{
		{
			name:  "inside the band nothing moves",
			setup: func(w *world) {},
			check: func(t *testing.T, d Decision) { require.Equal(t, "no deficit", d.Record.Reason) },
		},
		{
			name:  "at the threshold is not a deficit",
			setup: func(w *world) { w.chainSnap(10, "500", "1000"); w.chainSnap(1, "2000", "1000") },
			check: func(t *testing.T, d Decision) { require.Empty(t, d.Record.Deficit) },
		},
		{
			name:  "below threshold refills to target from the excess above max",
			setup: func(w *world) { w.chainSnap(1, "2000", "1000"); w.chainSnap(10, "400", "1000") },
			want:  []string{"binance 1/USDC→10/USDC 600.00"},
			check: func(t *testing.T, d Decision) {
				require.Equal(t, "1000000000", d.Record.Excess[0].Amount.String(), "excess down to target")
				require.Equal(t, "600000000", d.Record.Deficit[0].Amount.String())
				in := d.Intents[0]
				require.Equal(t, "15000000", in.MaxFee.String(), "2.5% of 600")
				require.Equal(t, "585000000", in.MinAmountOut.String())
				require.Equal(t, "100000", in.Why.CostEstimate.String(), "0.1 USDC withdrawal fee")
				require.Equal(t, t0.Add(7*time.Second+30*time.Minute), in.Deadline)
			},
		},
		{
			name:  "at max is not an excess",
			setup: func(w *world) { w.chainSnap(1, "1500", "1000"); w.chainSnap(10, "400", "1000") },
			check: func(t *testing.T, d Decision) {
				require.Equal(t, "deficits but no excess to fill them from", d.Record.Reason)
			},
		},
		{
			name:  "the cheapest venue wins",
			setup: func(w *world) { w.chainSnap(42161, "2500", "1000"); w.chainSnap(10, "400", "1000") },
			want:  []string{"hyperliquid 42161/USDC→10/USDC 600.00"},
		},
		{
			name: "tier 1 is filled before tier 2",
			setup: func(w *world) {
				w.chainSnap(1, "1000", "2000")
				w.chainSnap(10, "1000", "200")
				w.chainSnap(42161, "1000", "200")
			},
			want: []string{"binance 1/USDT→10/USDT 200.00", "binance 1/USDT→42161/USDT 800.00"},
		},
		{
			name:  "one deficit from several sources, same token first",
			setup: func(w *world) { w.chainSnap(1, "1800", "1800"); w.chainSnap(10, "0", "1000") },
			want:  []string{"binance 1/USDC→10/USDC 800.00", "binance 1/USDT→10/USDC 200.00"},
		},
		{
			name:  "max transfer caps an intent",
			yaml:  edit(t, `maxTransfer: "2000"`, `maxTransfer: "300"`),
			setup: func(w *world) { w.chainSnap(1, "2000", "1000"); w.chainSnap(10, "400", "1000") },
			want:  []string{"binance 1/USDC→10/USDC 300.00"},
			check: func(t *testing.T, d Decision) { require.True(t, contains(d.Record.Unfilled, "10/USDC")) },
		},
		{
			name:  "a venue minimum above what is needed rules the route out",
			yaml:  edit(t, `minTransfer: "50"`, `minTransfer: "700"`),
			setup: func(w *world) { w.chainSnap(1, "2000", "1000"); w.chainSnap(10, "400", "1000") },
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Rejected, "binance 1/USDC→10/USDC: minimum"), "%v", d.Record.Rejected)
				require.Equal(t, "no feasible route: see rejected", d.Record.Reason)
			},
		},
		{
			name:  "a fixed fee raises the minimum size to keep within the fee bound",
			yaml:  edit(t, `network: OPTIMISM, deposit: true, withdraw: true, withdrawFee: "0.1"}`, `network: OPTIMISM, deposit: true, withdraw: true, withdrawFee: "20"}`),
			setup: func(w *world) { w.chainSnap(1, "2000", "1000"); w.chainSnap(10, "400", "1000") },
			check: func(t *testing.T, d Decision) {
				// 20 / 0.025 = 800 > 600 needed: no tiny transfer pays a large fixed fee.
				require.True(t, contains(d.Record.Rejected, "minimum 800000000"), "%v", d.Record.Rejected)
			},
		},
		{
			name:  "a proportional cost above the fee bound rules the route out",
			yaml:  edit(t, `{from: USDC, to: USDT, fee: "0.001"}`, `{from: USDC, to: USDT, fee: "0.03"}`),
			setup: func(w *world) { w.chainSnap(1, "2000", "1000"); w.chainSnap(10, "1000", "400") },
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Rejected, "fee bound"), "%v", d.Record.Rejected)
			},
		},
		{
			name: "max in flight excludes the venue",
			yaml: edit(t, `maxInFlight: 3`, `maxInFlight: 1`),
			setup: func(w *world) {
				w.chainSnap(1, "2000", "2000")
				w.chainSnap(10, "400", "1000")
				require.Len(w.t, w.decide().Intents, 1)
				w.chainSnap(42161, "1000", "300")
			},
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Excluded, "binance: 1 intents in flight, max 1"), "%v", d.Record.Excluded)
			},
		},
		{
			name: "notional in flight caps the venue",
			yaml: edit(t, `maxNotional: "5000"`, `maxNotional: "700"`),
			setup: func(w *world) {
				w.chainSnap(1, "2000", "2000")
				w.chainSnap(10, "400", "1000")
				require.Len(w.t, w.decide().Intents, 1) // 600 of 700
				w.chainSnap(42161, "1000", "300")
			},
			want: []string{"binance 1/USDT→42161/USDT 100.00"},
		},
		{
			name: "a route in cooldown is not used again",
			setup: func(w *world) {
				w.chainSnap(1, "2000", "1000")
				w.chainSnap(10, "400", "1000")
				d := w.decide()
				require.Len(w.t, d.Intents, 1)
				w.apply(rejected(w, d.Intents[0]))
				w.chainSnap(10, "400", "1000")
			},
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Rejected, "binance 1/USDC→10/USDC: cooldown"), "%v", d.Record.Rejected)
			},
		},
		{
			name: "intents decided count as in flight at once",
			setup: func(w *world) {
				w.chainSnap(1, "2000", "1000")
				w.chainSnap(10, "400", "1000")
				require.Len(w.t, w.decide().Intents, 1)
			},
			check: func(t *testing.T, d Decision) { require.Equal(t, "no deficit", d.Record.Reason) },
		},
		{
			name: "a stale chain takes part in nothing",
			setup: func(w *world) {
				w.chainSnap(10, "400", "1000")
				for i := 0; i < 61; i++ {
					w.chainSnap(1, "2000", "1000")
				}
			},
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Excluded, "10/USDC: stale"), "%v", d.Record.Excluded)
				require.Empty(t, d.Intents)
			},
		},
		{
			name: "a gap fails closed",
			setup: func(w *world) {
				w.chainSnap(1, "2000", "1000")
				w.snapAt(10, 15, 20, "400", "1000")
			},
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Excluded, "10/USDC: gap"), "%v", d.Record.Excluded)
				require.Empty(t, d.Intents)
			},
		},
		{
			name: "a reorg fails closed",
			setup: func(w *world) {
				w.chainSnap(1, "2000", "1000")
				s := w.snapAt(10, 10, 20, "400", "1000")
				s2 := *s
				s2.Reorg = &events.Reorg{Height: 15, OldHash: hash(1), NewHash: hash(2)}
				s2.Range = &events.BlockRange{From: 20, To: 21}
				w.apply(&s2)
			},
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Excluded, "10/USDC: reorg"), "%v", d.Record.Excluded)
			},
		},
		{
			name: "a clean contiguous snapshot after a gap heals",
			setup: func(w *world) {
				w.chainSnap(1, "2000", "1000")
				w.snapAt(10, 15, 20, "400", "1000")
				w.snapAt(10, 20, 30, "400", "1000")
			},
			want: []string{"binance 1/USDC→10/USDC 600.00"},
		},
		{
			// Past the warm-up (TestWarmUp covers the wait before it): the first snapshots,
			// then a minute of stream time with no venue snapshot.
			name: "an unknown venue takes part in nothing",
			setup: func(w *world) {
				w.st = NewState()
				w.chainSnap(1, "2000", "1000")
				w.chainSnap(10, "400", "1000")
				w.chainSnap(42161, "1000", "1000")
				w.at = w.at.Add(time.Minute)
				w.chainSnap(1, "2000", "1000")
				w.chainSnap(10, "400", "1000")
				w.chainSnap(42161, "1000", "1000")
			},
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Excluded, "binance: state unknown"))
				require.True(t, contains(d.Record.Excluded, "hyperliquid: state unknown"))
				require.Equal(t, "no venue can take an intent", d.Record.Reason)
			},
		},
		{
			name: "a paused venue takes part in nothing",
			setup: func(w *world) {
				w.apply(&events.ControlCommand{Meta: events.NewMeta(events.TypeControlCommand, "c1", "", "op", w.at), Verb: events.VerbPause, Scope: "binance", Reason: "test", Operator: "me"})
				w.chainSnap(1, "2000", "1000")
				w.chainSnap(10, "400", "1000")
			},
			check: func(t *testing.T, d Decision) {
				require.True(t, contains(d.Record.Excluded, "binance: paused"))
				require.Empty(t, d.Intents)
			},
		},
		{
			name: "aggregate mode refills a short token on chains by tier",
			yaml: edit(t, `feeBound: "0.025"`, "mode: aggregate\n  feeBound: \"0.025\""),
			setup: func(w *world) {
				w.chainSnap(1, "1250", "800")
				w.chainSnap(10, "1500", "800")
				w.chainSnap(42161, "1250", "800")
			},
			want: []string{"binance 10/USDC→1/USDT 200.00", "binance 10/USDC→10/USDT 200.00", "binance 10/USDC→42161/USDT 200.00"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := tc.yaml
			if y == "" {
				y = testYAML
			}
			w := newWorld(t, y)
			w.balanced()
			tc.setup(w)
			d := w.plan()
			require.Equal(t, tc.want, summary(d), "record: %+v", d.Record)
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

// rejected is the executor's update turning an intent down, with no legs left.
func rejected(w *world, in *events.RebalanceIntent) *events.ExecutionUpdate {
	w.at = w.at.Add(time.Second)
	return &events.ExecutionUpdate{
		Meta:     events.NewMeta(events.TypeExecutionUpdate, in.ID+":1", in.ID, "executor", w.at),
		IntentID: in.ID, Account: in.Account, Venue: in.Venue, IntentVersion: 1, State: events.StateRejected, Legs: []events.Leg{},
	}
}

// TestPlanFailsClosedAtAugmentGuard: when the solver's min-cost flow reaches its iteration
// guard, the decision has no intent and says why.
func TestPlanFailsClosedAtAugmentGuard(t *testing.T) {
	w := newWorld(t, testYAML)
	w.balanced()
	w.chainSnap(1, "2000", "2000")
	w.chainSnap(10, "400", "400")
	require.Len(t, w.plan().Intents, 2, "the world must call for two intents (two augmentations)")

	w.pol.augmentGuard = 1
	d := w.plan()
	require.Empty(t, d.Intents)
	require.False(t, d.Record.Proven)
	require.Contains(t, d.Record.Reason, "iteration guard")
}

// TestIntentIDBytes pins IntentID to the bytes of its documented format, which it builds
// without fmt: ids of intents already in streams must not change.
func TestIntentIDBytes(t *testing.T) {
	viaFmt := func(configHash string, seq uint64, account, venue string, r events.Route, amountIn *big.Int) string {
		h := sha256.New()
		fmt.Fprintf(h, "rebal-intent-v1|%s|%d|%s|%s|%d|%s|%d|%s|%s", configHash, seq, account, venue, r.SrcChain, r.SrcToken, r.DstChain, r.DstToken, amountIn)
		return hex.EncodeToString(h.Sum(nil))
	}
	huge, ok := new(big.Int).SetString("123456789012345678901234567890123456789012345678901234567890", 10)
	require.True(t, ok)
	long := strings.Repeat("x", 400) // past the stack buffer
	for _, tc := range []struct {
		name, hash, account, venue string
		seq                        uint64
		r                          events.Route
		amount                     *big.Int
	}{
		{"usual", "abc", testAccount, "binance", 7, events.Route{SrcChain: 1, SrcToken: "USDC", DstChain: 10, DstToken: "USDT"}, big.NewInt(1_000_000)},
		{"zero", "", "", "", 0, events.Route{}, new(big.Int)},
		{"nil amount", "h", "a", "v", 1, events.Route{SrcChain: 1}, nil},
		{"large", long, long, long, math.MaxUint64, events.Route{SrcChain: math.MaxUint64, SrcToken: long, DstChain: 3, DstToken: long}, huge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, viaFmt(tc.hash, tc.seq, tc.account, tc.venue, tc.r, tc.amount), IntentID(tc.hash, tc.seq, tc.account, tc.venue, tc.r, tc.amount))
		})
	}
}

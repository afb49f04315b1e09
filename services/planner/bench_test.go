package planner

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// bigWorld is a planner state over a generated configuration: chains × tokens locations (token 0
// has 18 decimals on every tenth chain, like BSC), venues that each serve about two thirds of the
// locations with costs drawn at random, and balances of which about imbalancePct percent are in
// deficit and as many in excess.
type bigWorld struct {
	pol   *Policy
	costs CostModel
	st    *State
	at    time.Time
}

func addr(n int) string { return events.ChecksumAddress(fmt.Sprintf("0x%040x", n)) }

func genConfig(chains, tokens, venues int, r *rand.Rand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "network: bench\naccounts: [%q]\nchains:\n", testAccount)
	for c := 1; c <= chains; c++ {
		fmt.Fprintf(&b, "  - {id: %d, name: c%d, rpc: [\"http://x\"], pollInterval: \"1s\", staleAfter: \"1000h\"}\n", c, c)
	}
	b.WriteString("tokens:\n")
	for t := 0; t < tokens; t++ {
		fmt.Fprintf(&b, "  - symbol: T%d\n    fairPrice: \"1\"\n    chains:\n", t)
		for c := 1; c <= chains; c++ {
			fmt.Fprintf(&b, "      - {chain: %d, address: %q, decimals: %d}\n", c, addr(c*100+t), decimalsOf(c, t))
		}
	}
	b.WriteString("targets:\n")
	for t := 0; t < tokens; t++ {
		for c := 1; c <= chains; c++ {
			fmt.Fprintf(&b, "  - {token: T%d, chain: %d, target: \"10000\", threshold: \"5000\", max: \"15000\", tier: %d}\n", t, c, 1+c%3)
		}
	}
	b.WriteString("venues:\n")
	for v := 0; v < venues; v++ {
		name := events.KnownVenues[v%2]
		if v >= 2 {
			name = fmt.Sprintf("venue%d", v)
		}
		fmt.Fprintf(&b, "  - name: %s\n    staleAfter: \"1000h\"\n    maxInFlight: %d\n    maxNotional: \"%d\"\n    minTransfer: \"50\"\n    maxTransfer: \"20000\"\n    cooldown: \"1ns\"\n    legs:\n",
			name, 8+r.IntN(8), 100000+r.IntN(200000))
		for c := 1; c <= chains; c++ {
			for t := 0; t < tokens; t++ {
				if r.IntN(3) == 0 {
					continue
				}
				fmt.Fprintf(&b, "      - {chain: %d, token: T%d, network: n%d, deposit: true, withdraw: true, depositCost: \"0.0%d\", withdrawFee: \"%d.%d\", withdrawMin: \"10\", latency: \"0.0000%d\"}\n",
					c, t, c, 1+r.IntN(9), r.IntN(2), r.IntN(10), 1+r.IntN(9))
			}
		}
		b.WriteString("    trades:\n")
		for x := 0; x < tokens; x++ {
			for y := 0; y < tokens; y++ {
				if x != y {
					fmt.Fprintf(&b, "      - {from: T%d, to: T%d, fee: \"0.000%d\", spread: \"0.0000%d\", minNotional: \"10\"}\n", x, y, 1+r.IntN(9), r.IntN(10))
				}
			}
		}
	}
	b.WriteString("planner: {mode: chain, feeBound: \"0.025\", intentTTL: \"30m\", cooldown: \"1ns\", aheadOfLedger: conservative}\n")
	return b.String()
}

func decimalsOf(chain, token int) uint8 {
	if token == 0 && chain%10 == 6 {
		return 18
	}
	return 6
}

func newBigWorld(tb testing.TB, chains, tokens, venues, imbalancePct int, seed uint64) *bigWorld {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var cfg config.Config
	require.NoError(tb, yaml.Unmarshal([]byte(genConfig(chains, tokens, venues, r)), &cfg))
	pol, err := newPolicy(&cfg)
	require.NoError(tb, err)
	w := &bigWorld{pol: pol, costs: NewStaticCosts(&cfg), st: NewState(), at: t0}
	seq := uint64(0)
	apply := func(ev events.Event) {
		seq++
		w.st.Apply(seq, ev)
	}
	for _, v := range cfg.Venues {
		w.at = w.at.Add(time.Millisecond)
		apply(&events.BalanceSnapshot{Meta: events.NewMeta(events.TypeBalanceSnapshot, "v-"+v.Name, "", "bench", w.at),
			Location: events.VenueLocation(v.Name), Account: testAccount, VenueSeq: 1})
	}
	for c := 1; c <= chains; c++ {
		w.at = w.at.Add(time.Millisecond)
		s := &events.BalanceSnapshot{Meta: events.NewMeta(events.TypeBalanceSnapshot, fmt.Sprintf("b-%d", c), "", "bench", w.at),
			Location: events.ChainLocation(uint64(c)), Account: testAccount, Range: &events.BlockRange{From: 0, To: 10}, BlockHash: hash(10)}
		for t := 0; t < tokens; t++ {
			human := 10000
			switch p := r.IntN(100); {
			case p < imbalancePct:
				human = r.IntN(4900)
			case p < 2*imbalancePct:
				human = 15001 + r.IntN(20000)
			}
			d := decimalsOf(c, t)
			u, err := config.MustDecimal(fmt.Sprint(human)).Units(d)
			require.NoError(tb, err)
			s.Balances = append(s.Balances, events.TokenBalance{Token: fmt.Sprintf("T%d", t), Address: addr(c*100 + t), Amount: events.NewAmount(u), Decimals: d})
		}
		apply(s)
	}
	return w
}

func (w *bigWorld) plan() Decision {
	return Plan(w.pol, w.costs, w.st, testAccount, Basis{Seq: w.st.Seq(), EventID: "bench", At: w.at})
}

func benchPlan(b *testing.B, chains, tokens, venues, pct int) {
	w := newBigWorld(b, chains, tokens, venues, pct, 42)
	d := w.plan()
	require.NotEmpty(b, d.Intents)
	b.ResetTimer()
	cpu := cpuTime(b)
	for i := 0; i < b.N; i++ {
		w.plan()
	}
	b.StopTimer()
	// On a shared machine wall time depends on the neighbours; the process's CPU time per
	// decision (the garbage collector's included) does much less.
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(len(d.Record.Excess)), "excess")
	b.ReportMetric(float64(len(d.Record.Deficit)), "deficits")
	b.ReportMetric(float64(len(d.Intents)), "intents")
	b.ReportMetric(float64(d.Record.Nodes), "search-nodes")
	if d.Record.Proven {
		b.ReportMetric(1, "proven")
	} else {
		b.ReportMetric(0, "proven")
	}
}

// BenchmarkPlan50x4x2 is the budget case of DESIGN §10 (goal under 1 ms): 50 chains × 4 tokens ×
// 2 venues, a tenth of the locations in deficit and a tenth in excess.
func BenchmarkPlan50x4x2(b *testing.B) { benchPlan(b, 50, 4, 2, 10) }

// BenchmarkPlan50x4x2Quiet is the same world on a typical day: 2% of the locations in deficit
// and 2% in excess.
func BenchmarkPlan50x4x2Quiet(b *testing.B) { benchPlan(b, 50, 4, 2, 2) }

// BenchmarkPlan500x10x4 is the large case: 500 chains × 10 tokens × 4 venues, 2% of locations in
// deficit and 2% in excess (100 of each).
func BenchmarkPlan500x10x4(b *testing.B) { benchPlan(b, 500, 10, 4, 2) }

// cpuTime is the CPU time (user + system) the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

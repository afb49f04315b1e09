package planner

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

const testAccount = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

// testYAML is a small world: chains 1, 10 and 42161 with USDC and USDT (6 decimals), Binance on
// every chain, Hyperliquid on Arbitrum USDC only. Bands: target 1000, threshold 500, max 1500.
const testYAML = `
network: test
accounts: ["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"]
chains:
  - {id: 1, name: a, rpc: ["http://a"], pollInterval: "1s", staleAfter: "60s"}
  - {id: 10, name: b, rpc: ["http://b"], pollInterval: "1s", staleAfter: "60s"}
  - {id: 42161, name: c, rpc: ["http://c"], pollInterval: "1s", staleAfter: "60s"}
tokens:
  - symbol: USDC
    chains:
      - {chain: 1, address: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", decimals: 6}
      - {chain: 10, address: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", decimals: 6}
      - {chain: 42161, address: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", decimals: 6}
  - symbol: USDT
    chains:
      - {chain: 1, address: "0xdAC17F958D2ee523a2206206994597C13D831ec7", decimals: 6}
      - {chain: 10, address: "0x94b008aA00579c1307B0EF2c499aD98a8ce58e58", decimals: 6}
      - {chain: 42161, address: "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", decimals: 6}
targets:
  - {token: USDC, chain: 1, target: "1000", threshold: "500", max: "1500", tier: 2}
  - {token: USDC, chain: 10, target: "1000", threshold: "500", max: "1500", tier: 2}
  - {token: USDC, chain: 42161, target: "1000", threshold: "500", max: "1500", tier: 1}
  - {token: USDT, chain: 1, target: "1000", threshold: "500", max: "1500", tier: 2}
  - {token: USDT, chain: 10, target: "1000", threshold: "500", max: "1500", tier: 2}
  - {token: USDT, chain: 42161, target: "1000", threshold: "500", max: "1500", tier: 1}
aggregates:
  - {token: USDC, target: "3000", threshold: "2500", max: "3500"}
  - {token: USDT, target: "3000", threshold: "2500", max: "3500"}
venues:
  - name: binance
    staleAfter: "60s"
    maxInFlight: 3
    maxNotional: "5000"
    minTransfer: "50"
    maxTransfer: "2000"
    cooldown: "5m"
    legs:
      - {chain: 1, token: USDC, network: ETH, deposit: true, withdraw: true, withdrawFee: "1"}
      - {chain: 1, token: USDT, network: ETH, deposit: true, withdraw: true, withdrawFee: "1"}
      - {chain: 10, token: USDC, network: OPTIMISM, deposit: true, withdraw: true, withdrawFee: "0.1"}
      - {chain: 10, token: USDT, network: OPTIMISM, deposit: true, withdraw: true, withdrawFee: "0.1"}
      - {chain: 42161, token: USDC, network: ARBITRUM, deposit: true, withdraw: true, withdrawFee: "0.1"}
      - {chain: 42161, token: USDT, network: ARBITRUM, deposit: true, withdraw: true, withdrawFee: "0.1"}
    trades:
      - {from: USDC, to: USDT, fee: "0.001"}
      - {from: USDT, to: USDC, fee: "0.001"}
  - name: hyperliquid
    staleAfter: "60s"
    maxInFlight: 2
    maxNotional: "5000"
    minTransfer: "20"
    maxTransfer: "2000"
    legs:
      - {chain: 42161, token: USDC, network: bridge2, deposit: true, withdraw: true, depositMin: "5", withdrawFee: "1"}
      - {chain: 10, token: USDC, network: hyperevm, deposit: true, withdraw: true, withdrawFee: "0"}
planner:
  feeBound: "0.025"
  intentTTL: "30m"
  cooldown: "10m"
`

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// world is a planner state fed event by event, as the stream would.
type world struct {
	t     testing.TB
	pol   *Policy
	costs CostModel
	st    *State
	seq   uint64
	at    time.Time
	last  map[uint64]uint64 // chain → last block
	// out, when set, receives events instead of the state (to publish them on a stream).
	out func(events.Event)
}

func newWorld(t testing.TB, yamlText string) *world {
	t.Helper()
	cfg, err := config.Parse([]byte(yamlText))
	require.NoError(t, err)
	pol, err := NewPolicy(cfg)
	require.NoError(t, err)
	return &world{t: t, pol: pol, costs: NewStaticCosts(cfg), st: NewState(), at: t0, last: map[uint64]uint64{}}
}

// edit returns testYAML with one replacement, which must apply.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	require.Contains(t, testYAML, old)
	return strings.Replace(testYAML, old, new, 1)
}

func (w *world) apply(ev events.Event) string {
	if w.out != nil {
		w.out(ev)
		return ""
	}
	w.seq++
	return w.st.Apply(w.seq, ev)
}

func units(human string) events.Amount {
	d := config.MustDecimal(human)
	u, err := d.Units(6)
	if err != nil {
		panic(err)
	}
	return events.NewAmount(u)
}

func hash(n uint64) string { return fmt.Sprintf("0x%064x", n) }

// chainSnap publishes a contiguous snapshot of a chain with USDC and USDT balances (human units).
func (w *world) chainSnap(chain uint64, usdc, usdt string) *events.BalanceSnapshot {
	from := w.last[chain]
	to := from + 10
	w.last[chain] = to
	return w.snapAt(chain, from, to, usdc, usdt)
}

func (w *world) snapAt(chain, from, to uint64, usdc, usdt string) *events.BalanceSnapshot {
	w.at = w.at.Add(time.Second)
	s := &events.BalanceSnapshot{
		Meta:      events.NewMeta(events.TypeBalanceSnapshot, fmt.Sprintf("bal:%d:%d", chain, to), "", "balancewatcher", w.at),
		Location:  events.ChainLocation(chain),
		Account:   testAccount,
		Range:     &events.BlockRange{From: from, To: to},
		BlockHash: hash(to),
	}
	for _, b := range []struct{ tok, amt string }{{"USDC", usdc}, {"USDT", usdt}} {
		tc, _ := w.pol.cfg.TokenOn(b.tok, chain)
		s.Balances = append(s.Balances, events.TokenBalance{Token: b.tok, Address: tc.Address, Amount: units(b.amt), Decimals: 6})
	}
	require.NoError(w.t, s.Validate())
	w.apply(s)
	return s
}

func (w *world) venueSnap(venue string) {
	w.at = w.at.Add(time.Second)
	s := &events.BalanceSnapshot{
		Meta:     events.NewMeta(events.TypeBalanceSnapshot, "v:"+venue+w.at.Format("150405"), "", "balancewatcher", w.at),
		Location: events.VenueLocation(venue),
		Account:  testAccount,
		VenueSeq: uint64(w.at.UnixMilli()),
		Balances: []events.TokenBalance{},
	}
	require.NoError(w.t, s.Validate())
	w.apply(s)
}

// balanced puts every chain inside its band and both venues in view.
func (w *world) balanced() {
	for _, c := range []uint64{1, 10, 42161} {
		w.chainSnap(c, "1000", "1000")
	}
	w.venueSnap("binance")
	w.venueSnap("hyperliquid")
}

func (w *world) plan() Decision {
	w.t.Helper()
	d := Plan(w.pol, w.costs, w.st, testAccount, Basis{Seq: w.seq, EventID: fmt.Sprintf("ev-%d", w.seq), At: w.at})
	for _, in := range d.Intents {
		require.NoError(w.t, in.Validate())
	}
	return d
}

// decide plans and records the intents as decided, as the service does.
func (w *world) decide() Decision {
	d := w.plan()
	w.st.Decided(d.Intents)
	return d
}

func amountOf(in *events.RebalanceIntent) string {
	r := new(big.Rat).SetFrac(in.AmountIn.Big(), big.NewInt(1_000_000))
	return r.FloatString(2)
}

func summary(d Decision) []string {
	var out []string
	for _, in := range d.Intents {
		out = append(out, fmt.Sprintf("%s %d/%s→%d/%s %s", in.Venue, in.Route.SrcChain, in.Route.SrcToken, in.Route.DstChain, in.Route.DstToken, amountOf(in)))
	}
	return out
}

func contains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func sortedIntentIDs(st *State) []string {
	ids := make([]string, 0, len(st.ints))
	for id := range st.ints {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

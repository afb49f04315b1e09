package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files from samples() (only when adding a sample: existing files must never change)")

const (
	acct   = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	usdcA  = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"
	usdt0A = "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9"
	hashA  = "0x8e8c1a9e7f7d3c3b5c1f0f9a3e2d1c0b9a8f7e6d5c4b3a29180706050403020a"
	hashB  = "0x1111111111111111111111111111111111111111111111111111111111111111"
	intent = "3f7a1c2b9d8e4f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6"
)

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// samples are the golden events, one per file. A new sample gets a new file; an existing file is
// never edited, because it stands for messages already stored in someone's stream.
func samples() map[string]Event {
	return map[string]Event{
		"balance_snapshot_chain": &BalanceSnapshot{
			Meta:      NewMeta(TypeBalanceSnapshot, "bal:eip155:42161:"+acct+":1200", "", "balancewatcher", t0),
			Location:  ChainLocation(42161),
			Account:   acct,
			Range:     &BlockRange{From: 1190, To: 1200},
			BlockHash: hashA,
			Balances: []TokenBalance{
				{Token: "USDC", Address: usdcA, Amount: MustAmount("125000000000"), Decimals: 6},
				{Token: "USDT", Address: usdt0A, Amount: MustAmount("0"), Decimals: 6},
			},
		},
		"balance_snapshot_reorg": &BalanceSnapshot{
			Meta:      NewMeta(TypeBalanceSnapshot, "bal:eip155:56:"+acct+":88", "", "balancewatcher", t0),
			Location:  ChainLocation(56),
			Account:   acct,
			Range:     &BlockRange{From: 85, To: 88},
			BlockHash: hashB,
			Reorg:     &Reorg{Height: 86, OldHash: hashA, NewHash: hashB},
			Balances: []TokenBalance{
				{Token: "USDC", Address: "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", Amount: MustAmount("1000000000000000000000"), Decimals: 18},
			},
		},
		"balance_snapshot_venue": &BalanceSnapshot{
			Meta:     NewMeta(TypeBalanceSnapshot, "bal:binance:"+acct+":1763974800000", "", "balancewatcher", t0),
			Location: VenueLocation(VenueBinance),
			Account:  acct,
			VenueSeq: 1763974800000,
			Balances: []TokenBalance{{Token: "USDT", Amount: MustAmount("50000000000"), Decimals: 8}},
		},
		"rebalance_intent": &RebalanceIntent{
			Meta:         NewMeta(TypeRebalanceIntent, intent, "bal:eip155:42161:"+acct+":1200", "planner", t0),
			Basis:        Basis{Seq: 4711, ConfigHash: "c0ffee00"},
			Account:      acct,
			Venue:        VenueBinance,
			Route:        Route{SrcChain: 42161, SrcToken: "USDC", SrcDecimals: 6, DstChain: 56, DstToken: "USDT", DstDecimals: 18},
			AmountIn:     MustAmount("20000000000"),
			MinAmountOut: MustAmount("19950000000000000000000"),
			MaxFee:       MustAmount("50000000"),
			Deadline:     t0.Add(30 * time.Minute),
			Why: Justification{
				Excess: MustAmount("25000000000"), Deficit: MustAmount("20000000000000000000000"),
				CostEstimate: MustAmount("12000000"), Reason: "BSC USDT below threshold; Arbitrum USDC above max; cheapest route binance",
			},
		},
		"execution_update": &ExecutionUpdate{
			Meta:          NewMeta(TypeExecutionUpdate, intent+":4", intent, "executor", t0),
			IntentID:      intent,
			Account:       acct,
			Venue:         VenueBinance,
			IntentVersion: 4,
			State:         StateDepositMined,
			Legs: []Leg{
				{Name: "src", ChainID: 42161, Token: "USDC", Amount: MustAmount("-20000000000"), Decimals: 6, UntilBlock: 1234},
				{Name: "dst", ChainID: 56, Token: "USDT", Amount: MustAmount("19950000000000000000000"), Decimals: 18},
			},
			Refs:     map[string]string{"depositTx": hashB},
			Realized: &Realized{AmountIn: MustAmount("20000000000"), Fees: []Fee{{Kind: "gas", Token: "ETH", Amount: MustAmount("21000000000000"), Decimals: 18}}},
		},
		"execution_update_attention": &ExecutionUpdate{
			Meta:          NewMeta(TypeExecutionUpdate, intent+":9", intent, "executor", t0),
			IntentID:      intent,
			Account:       acct,
			Venue:         VenueHyperliquid,
			IntentVersion: 9,
			State:         StateNeedsAttention,
			Legs:          []Leg{{Name: "dst", ChainID: 999, Token: "USDT", Amount: MustAmount("19990000"), Decimals: 6}},
			FundsAt:       "hyperliquid spot (USDT0 19.99)",
			Error:         "spotSend not confirmed on HyperCore within 10m",
		},
		"ledger_watermark": &LedgerWatermark{
			Meta:    NewMeta(TypeLedgerWatermark, "wm:"+acct+":42161:1200", "", "executor", t0),
			Account: acct,
			ChainID: 42161,
			AsOf:    1200,
		},
		"dead_letter": &DeadLetter{
			Meta:        NewMeta(TypeDeadLetter, "bal:eip155:1:"+acct+":7", "", "planner", t0),
			Service:     "planner",
			OrigSubject: "rebal.v1.balances.eip155:1." + acct,
			Seq:         99,
			Deliveries:  1,
			Reason:      "invalid event: range: from 9 > to 7",
			OrigType:    TypeBalanceSnapshot,
			OrigVersion: 1,
			Data:        []byte(`{"type":"balance_snapshot"}`),
		},
		"control_command": &ControlCommand{
			Meta:     NewMeta(TypeControlCommand, "ctl-20261124-0001", "", "operator", t0),
			Verb:     VerbKill,
			Scope:    ScopeAll,
			Reason:   "binance withdrawals look wrong; stop everything",
			Operator: "alice",
		},
	}
}

func goldenPath(name string) string { return filepath.Join("testdata", name+".v1.json") }

func TestGoldenWrite(t *testing.T) {
	if !*update {
		return
	}
	for name, ev := range samples() {
		b, err := json.MarshalIndent(ev, "", "  ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(goldenPath(name), append(b, '\n'), 0o644))
	}
}

// TestGoldenDecodeForever decodes every golden file, checks it validates and that re-encoding
// gives the same bytes (compacted). A failure here means a change broke messages already stored.
func TestGoldenDecodeForever(t *testing.T) {
	files, err := filepath.Glob("testdata/*.v1.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), len(samples()), "every sample has a golden file")
	seenTypes := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			ev, err := DecodeBody(raw)
			require.NoError(t, err)
			seenTypes[ev.EventMeta().Type] = true

			var want bytes.Buffer
			require.NoError(t, json.Compact(&want, raw))
			got, _, err := Encode(ev)
			require.NoError(t, err)
			require.Equal(t, want.String(), string(got), "re-encoding must be byte-identical")

			name := strings.TrimSuffix(filepath.Base(f), ".v1.json")
			if s, ok := samples()[name]; ok {
				sb, err := json.Marshal(s)
				require.NoError(t, err)
				require.Equal(t, want.String(), string(sb), "sample %s drifted from its golden file", name)
			}
		})
	}
	for typ := range current {
		require.True(t, seenTypes[typ], "no golden file for type %s", typ)
	}
}

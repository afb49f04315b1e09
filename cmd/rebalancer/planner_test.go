package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// writeSnapshots writes one snapshot per configured chain (every token at its target except the
// overrides, human amounts) and one per venue, as JSON lines.
func writeSnapshots(t *testing.T, overrides map[string]string) string {
	t.Helper()
	cfg := config.Default()
	acct := cfg.Accounts[0]
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var lines []string
	add := func(ev events.Event) {
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		lines = append(lines, string(b))
	}
	for _, c := range cfg.Chains {
		var bals []events.TokenBalance
		for _, tok := range cfg.Tokens {
			tc, ok := cfg.TokenOn(tok.Symbol, c.ID)
			if !ok {
				continue
			}
			human := "50000"
			if o, ok := overrides[fmt.Sprintf("%d/%s", c.ID, tok.Symbol)]; ok {
				human = o
			}
			units, err := config.MustDecimal(human).Units(tc.Decimals)
			require.NoError(t, err)
			bals = append(bals, events.TokenBalance{Token: tok.Symbol, Address: tc.Address, Amount: events.NewAmount(units), Decimals: tc.Decimals})
		}
		s := &events.BalanceSnapshot{
			Meta:      events.NewMeta(events.TypeBalanceSnapshot, "", "", "balancewatcher", at),
			Location:  events.ChainLocation(c.ID),
			Account:   acct,
			Range:     &events.BlockRange{From: 99, To: 100},
			BlockHash: "0x" + strings.Repeat("ab", 32),
			Balances:  bals,
		}
		s.ID = s.MsgID()
		add(s)
	}
	for _, v := range events.KnownVenues {
		s := &events.BalanceSnapshot{
			Meta:     events.NewMeta(events.TypeBalanceSnapshot, "", "", "balancewatcher", at),
			Location: events.VenueLocation(v),
			Account:  acct,
			VenueSeq: 1,
			Balances: []events.TokenBalance{},
		}
		s.ID = s.MsgID()
		add(s)
	}
	p := filepath.Join(t.TempDir(), "snapshots.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	return p
}

// TestPlanCommand runs `rebalancer plan` on a snapshot file with one chain short of USDT and one
// with too much USDC: the planner moves the excess into the deficit.
func TestPlanCommand(t *testing.T) {
	file := writeSnapshots(t, map[string]string{"56/USDT": "5000", "42161/USDC": "150000"})
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"plan", "--snapshot", file, "--json"}, &out, &errOut), errOut.String())
	var got struct {
		Intents []events.RebalanceIntent `json:"intents"`
	}
	require.NoError(t, json.NewDecoder(&out).Decode(&got))
	require.NotEmpty(t, got.Intents, "an excess and a deficit that a route joins make an intent")
	var toBSC bool
	for _, in := range got.Intents {
		require.NoError(t, in.Validate())
		if in.Route.DstChain == 56 && in.Route.DstToken == "USDT" {
			toBSC = true
			require.Equal(t, uint8(18), in.Route.DstDecimals)
		}
	}
	require.True(t, toBSC, "the BSC USDT deficit is refilled: %+v", got.Intents)

	// The human form says what it decided and why.
	out.Reset()
	require.NoError(t, run(context.Background(), []string{"plan", "--snapshot", file}, &out, &errOut))
	require.Contains(t, out.String(), "deficit   56/USDT 45000 USDT (tier 2)", "refill from 5000 to the 50000 target")
	require.Contains(t, out.String(), "  intent    ")

	out.Reset()
	balanced := writeSnapshots(t, nil)
	require.NoError(t, run(context.Background(), []string{"plan", "--snapshot", balanced}, &out, &errOut))
	require.Contains(t, out.String(), "account ")
	require.NotContains(t, out.String(), "  intent    ", "nothing to do when every chain is at its target:\n%s", out.String())

	err := run(context.Background(), []string{"plan"}, &out, &errOut)
	require.ErrorIs(t, err, errUsage)
}

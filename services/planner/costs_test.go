package planner

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func bigInt(s string) *big.Int {
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return x
}

func TestStaticCostsOnDevnet(t *testing.T) {
	cfg := config.Default()
	costs := NewStaticCosts(cfg)
	route := func(sc uint64, st string, dc uint64, dt string) events.Route {
		s, _ := cfg.TokenOn(st, sc)
		d, _ := cfg.TokenOn(dt, dc)
		return events.Route{SrcChain: sc, SrcToken: st, SrcDecimals: s.Decimals, DstChain: dc, DstToken: dt, DstDecimals: d.Decimals}
	}
	cases := []struct {
		name            string
		venue           string
		route           events.Route
		rate            string
		fixed, min, max string
		noRoute         bool
	}{
		{
			// 18-decimal USDC on BSC into 6-decimal USDT0 on Arbitrum: the withdrawal fee (0.1
			// USDT) and minimum (10 USDT) are converted into source units, 18 decimals.
			name: "binance BSC USDC to Arbitrum USDT", venue: "binance", route: route(56, "USDC", 42161, "USDT"),
			rate: "0.00112", fixed: "150000000000000000", min: "10100000000000000000", max: "1000000000000000000000000",
		},
		{
			name: "binance Arbitrum USDT to BSC USDT, no trade", venue: "binance", route: route(42161, "USDT", 56, "USDT"),
			rate: "0.00002", fixed: "50000", min: "10000000", max: "1000000000000",
		},
		{
			// Bridge2 below 5 USDC is lost; the book's minimum order is 10.
			name: "hyperliquid Arbitrum USDC to HyperEVM USDT0", venue: "hyperliquid", route: route(42161, "USDC", 999, "USDT"),
			rate: "0.00093", fixed: "50000", min: "10000000",
		},
		{name: "binance has no HyperEVM network", venue: "binance", route: route(999, "USDC", 1, "USDC"), noRoute: true},
		{name: "hyperliquid has no Ethereum leg", venue: "hyperliquid", route: route(1, "USDC", 999, "USDC"), noRoute: true},
		{name: "hyperliquid does not withdraw USDT to Arbitrum", venue: "hyperliquid", route: route(999, "USDC", 42161, "USDT"), noRoute: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := costs.Quote(tc.venue, tc.route)
			if tc.noRoute {
				require.ErrorIs(t, err, ErrNoRoute)
				return
			}
			require.NoError(t, err)
			want, _ := new(big.Rat).SetString(tc.rate)
			require.Zero(t, want.Cmp(q.Rate), "rate %s", q.Rate.FloatString(6))
			require.Equal(t, bigInt(tc.fixed), q.Fixed)
			require.Equal(t, bigInt(tc.min), q.Min)
			if tc.max == "" {
				require.Nil(t, q.Max)
			} else {
				require.Equal(t, bigInt(tc.max), q.Max)
			}
			again, err := costs.Quote(tc.venue, tc.route)
			require.NoError(t, err)
			require.Equal(t, q, again)
		})
	}
}

// TestPlanAcrossDecimals: a deficit of 18-decimal USDT on BSC filled from 6-decimal USDC on
// Arbitrum, on the devnet configuration.
func TestPlanAcrossDecimals(t *testing.T) {
	cfg := config.Default()
	pol, err := NewPolicy(cfg)
	require.NoError(t, err)
	st := NewState()
	at := t0
	seq := uint64(0)
	apply := func(ev events.Event) {
		seq++
		st.Apply(seq, ev)
	}
	for _, v := range []string{"binance", "hyperliquid"} {
		at = at.Add(1)
		apply(&events.BalanceSnapshot{Meta: events.NewMeta(events.TypeBalanceSnapshot, "v-"+v, "", "t", at), Location: events.VenueLocation(v), Account: cfg.Accounts[0], VenueSeq: 1})
	}
	for _, c := range cfg.Chains {
		s := &events.BalanceSnapshot{Meta: events.NewMeta(events.TypeBalanceSnapshot, "b-"+itoa(c.ID), "", "t", at), Location: events.ChainLocation(c.ID),
			Account: cfg.Accounts[0], Range: &events.BlockRange{From: 0, To: 5}, BlockHash: hash(5)}
		for _, tok := range []string{"USDC", "USDT"} {
			tc, _ := cfg.TokenOn(tok, c.ID)
			human := "50000"
			switch {
			case c.ID == 56 && tok == "USDT":
				human = "12345.5"
			case c.ID == 42161 && tok == "USDC":
				human = "150000"
			}
			u, err := config.MustDecimal(human).Units(tc.Decimals)
			require.NoError(t, err)
			s.Balances = append(s.Balances, events.TokenBalance{Token: tok, Address: tc.Address, Amount: events.NewAmount(u), Decimals: tc.Decimals})
		}
		apply(s)
	}
	d := Plan(pol, NewStaticCosts(cfg), st, cfg.Accounts[0], Basis{Seq: seq, EventID: "x", At: at})
	require.Len(t, d.Intents, 1, "%+v", d.Record)
	in := d.Intents[0]
	require.NoError(t, in.Validate())
	require.Equal(t, events.Route{SrcChain: 42161, SrcToken: "USDC", SrcDecimals: 6, DstChain: 56, DstToken: "USDT", DstDecimals: 18}, in.Route)
	require.Equal(t, "binance", in.Venue)
	// Deficit 50000 − 12345.5 = 37654.5 USDT; value units are 6 decimals, so 37654.5 USDC leave.
	require.Equal(t, "37654500000", in.AmountIn.String())
	require.Equal(t, "37654500000000000000000", in.Why.Deficit.String())
	// maxFee 2.5% in source units; minAmountOut is what is left, in 18 decimals.
	require.Equal(t, "941362500", in.MaxFee.String())
	require.Equal(t, "36713137500000000000000", in.MinAmountOut.String())
}

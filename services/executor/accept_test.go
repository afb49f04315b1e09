package executor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// updates reads every ExecutionUpdate of an intent from the stream.
func (h *harness) updates(id string) []*events.ExecutionUpdate {
	h.t.Helper()
	var out []*events.ExecutionUpdate
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := h.pub.ReadRange(ctx, bus.Range{Subjects: []string{events.SubjectExecutions + ".*." + id}}, func(m bus.Message) error {
		if u, ok := m.Event.(*events.ExecutionUpdate); ok {
			out = append(out, u)
		}
		return nil
	})
	require.NoError(h.t, err)
	return out
}

func (h *harness) legs(id string) []pending.Leg {
	h.t.Helper()
	lkey, _ := pending.LedgerKey(h.account.Hex())
	fields, err := h.rdb.HGetAll(context.Background(), lkey).Result()
	require.NoError(h.t, err)
	var out []pending.Leg
	for f, v := range fields {
		if strings.HasPrefix(f, id+":") {
			l, err := pending.DecodeLeg(f, v)
			require.NoError(h.t, err)
			out = append(out, l)
		}
	}
	return out
}

func TestAcceptRejectsUnexecutableIntents(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg
	cfg.MaxPerIntent = "5000"
	cfg.MaxPerDay = map[string]string{testVenueName: "8000"}
	e, err := New(cfg, h.deps(h.pub))
	require.NoError(t, err)
	ctx := context.Background()
	deliver := func(it *events.RebalanceIntent) error {
		return e.handleIntent(ctx, bus.Message{Event: it, Seq: 1})
	}

	// Fill the 24 h window to 7000 of 8000.
	first := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 4000)
	require.NoError(t, deliver(first))
	second := h.intent(simchain.BSC, "USDT", simchain.Base, "USDT", 3000)
	require.NoError(t, deliver(second))

	tests := []struct {
		name string
		make func() *events.RebalanceIntent
		why  string
	}{
		{"not the relayer's account", func() *events.RebalanceIntent {
			it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 100)
			it.Account = events.ChecksumAddress(simchain.DevAddress("stranger").Hex())
			return it
		}, "not allowlisted"},
		{"unknown route", func() *events.RebalanceIntent {
			it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 100)
			it.Route.DstChain = simchain.Polygon
			return it
		}, "no executable route"},
		{"venue not enabled", func() *events.RebalanceIntent {
			it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 100)
			it.Venue = events.VenueHyperliquid
			return it
		}, "not enabled"},
		{"decimals disagree", func() *events.RebalanceIntent {
			it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 100)
			it.Route.DstDecimals = 6
			return it
		}, "decimals"},
		{"over the per-intent cap", func() *events.RebalanceIntent {
			return h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 5001)
		}, "per-intent cap"},
		{"over the 24 h cap", func() *events.RebalanceIntent {
			return h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 1001)
		}, "24 h"},
		{"deadline passed", func() *events.RebalanceIntent {
			it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 100)
			it.Deadline = time.Now().Add(-time.Second)
			return it
		}, "deadline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := tc.make()
			require.NoError(t, deliver(it), "a rejection is decided and acked, not retried")
			_, _, err := h.record(it.ID)
			require.ErrorIs(t, err, pending.ErrNotFound)
			require.Empty(t, h.legs(it.ID), "a rejected intent's legs never appear")
			ups := h.updates(it.ID)
			require.Len(t, ups, 1)
			require.Equal(t, events.StateRejected, ups[0].State)
			require.Contains(t, ups[0].Error, tc.why)
			require.Empty(t, ups[0].Legs)
		})
	}

	t.Run("exactly at the 24 h cap is accepted", func(t *testing.T) {
		it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 1000)
		require.NoError(t, deliver(it))
		_, v, err := h.record(it.ID)
		require.NoError(t, err)
		require.Equal(t, uint64(1), v)
	})

	t.Run("a replayed intent is a no-op", func(t *testing.T) {
		before := h.legs(first.ID)
		require.Len(t, before, 2)
		require.NoError(t, deliver(first))
		require.NoError(t, deliver(first))
		rec, v, err := h.record(first.ID)
		require.NoError(t, err)
		require.Equal(t, uint64(1), v)
		require.Equal(t, events.StateAccepted, rec.State)
		require.ElementsMatch(t, before, h.legs(first.ID))
		n, err := h.rdb.ZCard(ctx, notionalKey(testVenueName)).Result()
		require.NoError(t, err)
		require.Equal(t, int64(3), n, "a replay is counted once in the 24 h window")
	})

	t.Run("accepted legs are the debit and the expected credit", func(t *testing.T) {
		byName := map[string]pending.Leg{}
		for _, l := range h.legs(first.ID) {
			byName[l.Name] = l
		}
		require.Equal(t, "-"+first.AmountIn.String(), byName[legSrc].Amount.String())
		require.Equal(t, first.Route.SrcChain, byName[legSrc].ChainID)
		require.Equal(t, first.MinAmountOut.String(), byName[legDst].Amount.String())
		require.Equal(t, pending.StateExpected, byName[legDst].State)
		require.Zero(t, byName[legSrc].UntilBlock)
	})
}

func TestConfigRefusesBadCaps(t *testing.T) {
	base := Config{Accounts: []string{simchain.DevAddress("relayer").Hex()}, MaxPerIntent: "10", MaxPerDay: map[string]string{"binance": "10"}}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no accounts", func(c *Config) { c.Accounts = nil }},
		{"float cap", func(c *Config) { c.MaxPerIntent = "1e6" }},
		{"negative cap", func(c *Config) { c.MaxPerIntent = "-1" }},
		{"missing cap", func(c *Config) { c.MaxPerIntent = "" }},
		{"unknown venue cap", func(c *Config) { c.MaxPerDay = map[string]string{"kraken": "1"} }},
		{"route without token contract", func(c *Config) {
			c.Routes = []RouteConfig{{Venue: "binance", Token: "USDC", ChainID: 1, Network: "ETH"}}
		}},
	}
	_, err := base.compile()
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mod(&c)
			_, err := c.compile()
			require.ErrorIs(t, err, ErrConfig)
		})
	}
}

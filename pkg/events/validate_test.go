package events

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clone deep-copies a sample through JSON so each case mutates its own copy.
func clone[T any](t *testing.T, v *T) *T {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out T
	require.NoError(t, json.Unmarshal(b, &out))
	return &out
}

func sample[T any](t *testing.T, name string) *T {
	t.Helper()
	var v any = samples()[name]
	p, ok := v.(*T)
	require.True(t, ok, "sample %s", name)
	return clone(t, p)
}

type validationCase struct {
	name      string
	mutate    func(Event)
	wantField string
}

func runValidation(t *testing.T, fresh func() Event, cases []validationCase) {
	t.Helper()
	require.NoError(t, fresh().Validate(), "the unmutated sample must be valid")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := fresh()
			c.mutate(ev)
			err := ev.Validate()
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrInvalid), "validation errors wrap ErrInvalid: %v", err)
			var fe *FieldError
			require.True(t, errors.As(err, &fe))
			require.Equal(t, c.wantField, fe.Field, "error %q names the wrong field", err)
		})
	}
}

func TestBalanceSnapshotValidate(t *testing.T) {
	chain := func() Event { return sample[BalanceSnapshot](t, "balance_snapshot_chain") }
	snap := func(e Event) *BalanceSnapshot { return e.(*BalanceSnapshot) }
	runValidation(t, chain, []validationCase{
		{"from after to", func(e Event) { snap(e).Range.From = 1201 }, "range"},
		{"no range on chain", func(e Event) { snap(e).Range = nil }, "range"},
		{"unknown location", func(e Event) { snap(e).Location = "solana" }, "location"},
		{"location chain id zero", func(e Event) { snap(e).Location = "eip155:0" }, "location"},
		{"location leading zero", func(e Event) { snap(e).Location = "eip155:01" }, "location"},
		{"negative amount", func(e Event) { snap(e).Balances[0].Amount = MustAmount("-1") }, "balances[0].amount"},
		{"lower-case account", func(e Event) { snap(e).Account = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed" }, "account"},
		{"bad checksum", func(e Event) { snap(e).Account = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed" }, "account"},
		{"short address", func(e Event) { snap(e).Balances[1].Address = "0x1234" }, "balances[1].address"},
		{"missing id", func(e Event) { snap(e).ID = "" }, "id"},
		{"id with dot", func(e Event) { snap(e).ID = "a.b" }, "id"},
		{"missing producer", func(e Event) { snap(e).Producer = "" }, "producer"},
		{"missing time", func(e Event) { snap(e).ProducedAt = time.Time{} }, "producedAt"},
		{"wrong type", func(e Event) { snap(e).Type = TypeRebalanceIntent }, "type"},
		{"bad hash", func(e Event) { snap(e).BlockHash = "0x12" }, "blockHash"},
		{"upper-case hash", func(e Event) {
			snap(e).BlockHash = "0x8E8C1A9E7F7D3C3B5C1F0F9A3E2D1C0B9A8F7E6D5C4B3A29180706050403020A"
		}, "blockHash"},
		{"token twice", func(e Event) { snap(e).Balances[1].Token = "USDC" }, "balances[1].token"},
		{"lower-case token", func(e Event) { snap(e).Balances[0].Token = "usdc" }, "balances[0].token"},
		{"absurd decimals", func(e Event) { snap(e).Balances[0].Decimals = 77 }, "balances[0].decimals"},
		{"venue seq on chain", func(e Event) { snap(e).VenueSeq = 5 }, "venueSeq"},
		{"reorg above range", func(e Event) {
			snap(e).Reorg = &Reorg{Height: 5000, OldHash: hashA, NewHash: hashB}
		}, "reorg.height"},
	})
	venue := func() Event { return sample[BalanceSnapshot](t, "balance_snapshot_venue") }
	runValidation(t, venue, []validationCase{
		{"range on venue", func(e Event) { snap(e).Range = &BlockRange{From: 1, To: 2} }, "range"},
		{"no seq on venue", func(e Event) { snap(e).VenueSeq = 0 }, "venueSeq"},
		{"unknown venue", func(e Event) { snap(e).Location = "kraken" }, "location"},
	})
}

func TestRebalanceIntentValidate(t *testing.T) {
	fresh := func() Event { return sample[RebalanceIntent](t, "rebalance_intent") }
	in := func(e Event) *RebalanceIntent { return e.(*RebalanceIntent) }
	runValidation(t, fresh, []validationCase{
		{"id not a hash", func(e Event) { in(e).ID = "abc" }, "id"},
		{"missing config hash", func(e Event) { in(e).Basis.ConfigHash = "" }, "basis.configHash"},
		{"unknown venue", func(e Event) { in(e).Venue = "kraken" }, "venue"},
		{"zero src chain", func(e Event) { in(e).Route.SrcChain = 0 }, "route.srcChain"},
		{"no-op route", func(e Event) { r := &in(e).Route; r.DstChain, r.DstToken = r.SrcChain, r.SrcToken }, "route"},
		{"zero amount", func(e Event) { in(e).AmountIn = MustAmount("0") }, "amountIn"},
		{"negative min out", func(e Event) { in(e).MinAmountOut = MustAmount("-5") }, "minAmountOut"},
		{"fee above amount", func(e Event) { in(e).MaxFee = MustAmount("20000000001") }, "maxFee"},
		{"no deadline", func(e Event) { in(e).Deadline = time.Time{} }, "deadline"},
		{"negative excess", func(e Event) { in(e).Why.Excess = MustAmount("-1") }, "why.excess"},
	})
}

func TestExecutionUpdateValidate(t *testing.T) {
	fresh := func() Event { return sample[ExecutionUpdate](t, "execution_update") }
	u := func(e Event) *ExecutionUpdate { return e.(*ExecutionUpdate) }
	runValidation(t, fresh, []validationCase{
		{"unknown state", func(e Event) { u(e).State = "exploded" }, "state"},
		{"version zero", func(e Event) { u(e).IntentVersion = 0 }, "intentVersion"},
		{"attention without funds", func(e Event) { u(e).State = StateNeedsAttention }, "fundsAt"},
		{"leg twice", func(e Event) { u(e).Legs[1].Name = "src" }, "legs[1].name"},
		{"leg without chain", func(e Event) { u(e).Legs[0].ChainID = 0 }, "legs[0].chainId"},
		{"negative fee", func(e Event) { u(e).Realized.Fees[0].Amount = MustAmount("-1") }, "realized.fees[0].amount"},
		{"bad intent id", func(e Event) { u(e).IntentID = "x" }, "intentId"},
	})
}

func TestOtherValidate(t *testing.T) {
	wm := func() Event { return sample[LedgerWatermark](t, "ledger_watermark") }
	runValidation(t, wm, []validationCase{
		{"no chain", func(e Event) { e.(*LedgerWatermark).ChainID = 0 }, "chainId"},
		{"bad account", func(e Event) { e.(*LedgerWatermark).Account = "nope" }, "account"},
	})
	cc := func() Event { return sample[ControlCommand](t, "control_command") }
	runValidation(t, cc, []validationCase{
		{"unknown verb", func(e Event) { e.(*ControlCommand).Verb = "explode" }, "verb"},
		{"unknown scope", func(e Event) { e.(*ControlCommand).Scope = "kraken" }, "scope"},
		{"no reason", func(e Event) { e.(*ControlCommand).Reason = " " }, "reason"},
		{"no operator", func(e Event) { e.(*ControlCommand).Operator = "" }, "operator"},
	})
	dl := func() Event { return sample[DeadLetter](t, "dead_letter") }
	runValidation(t, dl, []validationCase{
		{"no reason", func(e Event) { e.(*DeadLetter).Reason = "" }, "reason"},
		{"no subject", func(e Event) { e.(*DeadLetter).OrigSubject = "" }, "origSubject"},
	})
}

func TestSubjectsAndMsgIDs(t *testing.T) {
	s := samples()
	hb := clone(t, s["balance_snapshot_chain"].(*BalanceSnapshot))
	hb.Range.From = hb.Range.To
	s["balance_snapshot_heartbeat"] = hb
	cases := []struct{ name, subject, msgID string }{
		{"balance_snapshot_chain", "rebal.v1.balances.eip155:42161." + acct, "bal:eip155:42161:" + acct + ":1200"},
		{"balance_snapshot_reorg", "rebal.v1.balances.eip155:56." + acct, "bal:eip155:56:" + acct + ":88:" + hashB[2:]},
		{"balance_snapshot_venue", "rebal.v1.balances.binance." + acct, "bal:binance:" + acct + ":1763974800000"},
		{"balance_snapshot_heartbeat", "rebal.v1.balances.eip155:42161." + acct, "bal:eip155:42161:" + acct + ":1200:hb" + "1795510800000"},
		{"rebalance_intent", "rebal.v1.intents.binance", intent},
		{"execution_update", "rebal.v1.executions.binance." + intent, intent + ":4"},
		{"ledger_watermark", "rebal.v1.ledger." + acct, "wm:" + acct + ":42161:1200"},
		{"dead_letter", "rebal.v1.dlq.planner", "dlq:planner:99"},
		{"control_command", "rebal.v1.control.kill", "ctl-20261124-0001"},
	}
	for _, c := range cases {
		require.Equal(t, c.subject, s[c.name].Subject(), c.name)
		require.Equal(t, c.msgID, s[c.name].MsgID(), c.name)
	}
}

func TestCheckToken(t *testing.T) {
	require.NoError(t, CheckToken("USDT", 18))
	for _, c := range []struct {
		symbol   string
		decimals uint8
		field    string
	}{{"usdt", 6, "token"}, {"", 6, "token"}, {"USDT", 77, "decimals"}} {
		var fe *FieldError
		require.True(t, errors.As(CheckToken(c.symbol, c.decimals), &fe), "%+v", c)
		require.Equal(t, c.field, fe.Field)
	}
}

package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// The venue's side of DESIGN §8's invariant, for the simulated venues: what the account holds at
// the venue (every wallet, free and locked), less what is attributed to its intents, must equal
// what it held there before any intent ran, per coin and exactly.
//
// What an intent holds at the venue is derived step by step from its record, and each step is
// matched with the venue's own books by the ids the intent derives (its deposit transaction, its
// order's client id, its withdrawal's client id or nonce):
//   - credited: the deposit, once the venue has credited it;
//   - traded: minus what the order spent, plus what it received net of the fee (charged in the
//     coin received);
//   - withdrawn: minus the withdrawal's gross amount (what reaches the chain plus the venue's fee),
//     unless the venue failed and refunded it.
//
// So an intent between credit and trade holds its credited deposit, between trade and withdrawal
// what the order received, and after the withdrawal only what its own figures leave behind: the
// part of the deposit the lot size did not sell and the part of the fill the withdrawal's multiple
// did not withdraw (exactly credited − spent and received − withdrawn, named by its record).
//
// A step the record has recorded must show at the venue with the record's amounts (rescaled from
// the venue's precision to the token's decimals by the adapter's rounding: credits and receipts
// down, spending up): a record that says something else about the money fails the check. A step the
// record has not recorded may have happened at the venue only where the record allows it: a deposit
// once it is signed (the venue credits it on its own), an order or a withdrawal while the record
// holds the Attempt written before that call. A venue action of an intent beyond that, or a second
// one under the same id, fails the check. Nothing else may move the account's venue balances.

// venueFlows is what the venue's books show for one intent, in whole tokens per coin.
type venueFlows struct {
	credited, spent, received, withdrawn *big.Rat
}

// holds adds the intent's venue holdings (credited − spent + received − withdrawn) to m.
func (f venueFlows) holds(m map[string]*big.Rat, srcCoin, dstCoin string) {
	addRat(m, srcCoin, f.credited)
	addRat(m, srcCoin, new(big.Rat).Neg(f.spent))
	addRat(m, dstCoin, f.received)
	addRat(m, dstCoin, new(big.Rat).Neg(f.withdrawn))
}

func addRat(m map[string]*big.Rat, k string, d *big.Rat) {
	if m[k] == nil {
		m[k] = new(big.Rat)
	}
	m[k].Add(m[k], d)
}

// rescale is r in base units of dec, rounded down or up, as the adapters record venue amounts.
func rescale(r *big.Rat, dec uint8, up bool) *big.Int {
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(dec)))
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if up && m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func attemptIs(r *Record, step string) bool { return r.Attempt != nil && r.Attempt.Step == step }

// unattributedEqual compares the venue's holdings less the intents' with the initial balances.
func unattributedEqual(venueName string, holdings, attributed, initial map[string]*big.Rat) error {
	coins := map[string]bool{}
	for _, m := range []map[string]*big.Rat{holdings, attributed, initial} {
		for c := range m {
			coins[c] = true
		}
	}
	names := make([]string, 0, len(coins))
	for c := range coins {
		names = append(names, c)
	}
	sort.Strings(names)
	var bad []string
	for _, c := range names {
		got := new(big.Rat)
		if holdings[c] != nil {
			got.Set(holdings[c])
		}
		if attributed[c] != nil {
			got.Sub(got, attributed[c])
		}
		want := new(big.Rat)
		if initial[c] != nil {
			want.Set(initial[c])
		}
		if got.Cmp(want) != 0 {
			bad = append(bad, fmt.Sprintf("%s: held %s − attributed %s = %s, want %s (diff %s)", c, ratStr(holdings[c]),
				ratStr(attributed[c]), got.FloatString(18), want.FloatString(18), new(big.Rat).Sub(got, want).FloatString(18)))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("conservation violated at %s: unattributed balances: %s", venueName, strings.Join(bad, "; "))
	}
	return nil
}

func ratStr(r *big.Rat) string {
	if r == nil {
		return "0"
	}
	return r.FloatString(18)
}

// binanceUnattributed are balances the Binance simulator's account holds before any intent runs,
// in both wallets: the executor must never take them.
var binanceUnattributed = map[string]map[string]string{
	"spot":    {"USDC": "250", "USDT": "75.5"},
	"funding": {"USDT": "120", "USDC": "33.25"},
}

func binanceInitial() map[string]*big.Rat {
	m := map[string]*big.Rat{}
	for _, coins := range binanceUnattributed {
		for c, a := range coins {
			r, _ := new(big.Rat).SetString(a)
			addRat(m, c, r)
		}
	}
	return m
}

// binanceVenueRead reads the Binance simulator's account at one instant and returns its check.
func (h *harness) binanceVenueRead(_ context.Context) (func(map[string]*Record) error, error) {
	v, ok := h.bsim.View(simAPIKey)
	if !ok {
		return nil, fmt.Errorf("simulator has no account %s", simAPIKey)
	}
	return func(recs map[string]*Record) error {
		attributed := map[string]*big.Rat{}
		for id, r := range recs {
			f, err := binanceFlows(id, r, v)
			if err != nil {
				return fmt.Errorf("conservation violated at binance: intent %s (%s): %w", id, r.State, err)
			}
			f.holds(attributed, r.Intent.Route.SrcToken, r.Intent.Route.DstToken)
		}
		return unattributedEqual("binance", v.Holdings, attributed, binanceInitial())
	}, nil
}

// binanceFlows matches an intent's record with the simulator's books.
func binanceFlows(id string, r *Record, v simbinance.AccountView) (venueFlows, error) {
	rt := r.Intent.Route
	f := venueFlows{credited: new(big.Rat), spent: new(big.Rat), received: new(big.Rat), withdrawn: new(big.Rat)}
	// Credited: the deposit transaction, credited by the venue.
	if r.Deposit.TxHash != "" {
		for _, d := range v.Deposits {
			if !strings.EqualFold(d.TxHash, r.Deposit.TxHash) || !d.Credited {
				continue
			}
			if f.credited.Sign() != 0 {
				return f, fmt.Errorf("deposit %s credited twice", r.Deposit.TxHash)
			}
			f.credited.Set(d.Amount)
		}
	}
	switch recorded := r.Deposit.Credited.Sign() > 0; {
	case recorded && rescale(f.credited, rt.SrcDecimals, false).Cmp(r.Deposit.Credited.Big()) != 0:
		return f, fmt.Errorf("record says %s credited, the venue %s", r.Deposit.Credited, f.credited.FloatString(8))
	}
	// Traded: the order under the intent's client id (fills only; same-asset routes have none).
	cid, err := binance.ClientID(id, stepOrder)
	if err != nil {
		return f, err
	}
	var filled []simbinance.OrderView
	for _, o := range v.Orders {
		if o.ClientID == cid && o.Executed.Sign() > 0 {
			filled = append(filled, o)
		}
	}
	switch {
	case len(filled) > 1:
		return f, fmt.Errorf("%d filled orders under %s", len(filled), cid)
	case len(filled) == 1:
		o := filled[0]
		if o.Side == "SELL" {
			f.spent.Set(o.Executed)
			f.received.Sub(o.CumQuote, o.Commission)
		} else {
			f.spent.Set(o.CumQuote)
			f.received.Sub(o.Executed, o.Commission)
		}
		if r.Order.VenueID != "" {
			if rescale(f.spent, rt.SrcDecimals, true).Cmp(r.Order.Spent.Big()) != 0 ||
				rescale(f.received, rt.DstDecimals, false).Cmp(r.Order.Received.Big()) != 0 {
				return f, fmt.Errorf("record says order spent %s received %s, the venue %s and %s", r.Order.Spent, r.Order.Received,
					f.spent.FloatString(8), f.received.FloatString(8))
			}
		} else if !attemptIs(r, stepOrder) {
			return f, fmt.Errorf("order %s filled at the venue, but the record neither has it nor attempts it", cid)
		}
		if f.credited.Sign() == 0 {
			return f, fmt.Errorf("order %s traded before the deposit was credited", cid)
		}
	case r.Order.VenueID != "" && r.Order.Received.Sign() > 0:
		return f, fmt.Errorf("record has order %s filled, the venue has no fill", r.Order.VenueID)
	}
	// Withdrawn: the withdrawal under the intent's withdrawal id, unless failed and refunded.
	wid, err := binance.ClientID(id, stepWithdraw)
	if err != nil {
		return f, err
	}
	n := 0
	for _, w := range v.Withdrawals {
		if w.ClientID != wid {
			continue
		}
		if n++; n > 1 {
			return f, fmt.Errorf("%d withdrawals under %s", n, wid)
		}
		if r.Withdraw.VenueID != "" {
			if rescale(w.Amount, rt.DstDecimals, false).Cmp(r.Withdraw.Net.Big()) != 0 ||
				rescale(w.Fee, rt.DstDecimals, true).Cmp(r.Withdraw.Fee.Big()) != 0 {
				return f, fmt.Errorf("record says withdrawal net %s fee %s, the venue %s and %s", r.Withdraw.Net, r.Withdraw.Fee,
					w.Amount.FloatString(8), w.Fee.FloatString(8))
			}
		} else if !attemptIs(r, stepWithdraw) {
			return f, fmt.Errorf("withdrawal %s at the venue, but the record neither has it nor attempts it", wid)
		}
		if !w.Failed {
			f.withdrawn.Add(w.Amount, w.Fee)
		}
	}
	if n == 0 && r.Withdraw.VenueID != "" {
		return f, fmt.Errorf("record has withdrawal %s, the venue has none", r.Withdraw.VenueID)
	}
	return f, nil
}

// hlCoin is the HyperCore token of a configured token (USDT on HyperEVM is USDT0).
func hlCoin(token string) string {
	if token == "USDT" {
		return "USDT0"
	}
	return token
}

// hlWeiDecimals are HyperCore's wei decimals of USDC and USDT0.
const hlWeiDecimals = 8

func weiRat(v *big.Int) *big.Rat { return new(big.Rat).SetFrac(v, pow10(hlWeiDecimals)) }

// hlVenueRead reads the Hyperliquid simulator's account (spot and perp) at one instant and returns
// its check; prepared is the adapter's store of signed actions, which names the nonce of a
// withdrawal the record has not recorded yet.
func (h *harness) hlVenueRead(w *hlWorld) func(ctx context.Context) (func(map[string]*Record) error, error) {
	return func(ctx context.Context) (func(map[string]*Record) error, error) {
		v := w.sim.View(h.account)
		holdings := map[string]*big.Rat{}
		for tok, b := range v.Spot {
			addRat(holdings, tok, weiRat(b))
		}
		addRat(holdings, "USDC", weiRat(v.Perp))
		initial := map[string]*big.Rat{}
		for tok, b := range hlUnattributed {
			addRat(initial, tok, weiRat(b))
		}
		return func(recs map[string]*Record) error {
			attributed := map[string]*big.Rat{}
			for id, r := range recs {
				f, err := h.hlFlows(ctx, w, id, r, v)
				if err != nil {
					return fmt.Errorf("conservation violated at hyperliquid: intent %s (%s): %w", id, r.State, err)
				}
				f.holds(attributed, hlCoin(r.Intent.Route.SrcToken), hlCoin(r.Intent.Route.DstToken))
			}
			return unattributedEqual("hyperliquid", holdings, attributed, initial)
		}, nil
	}
}

// hlFlows matches a Hyperliquid intent's record with the simulator's books.
func (h *harness) hlFlows(ctx context.Context, w *hlWorld, id string, r *Record, v hlsim.AccountView) (venueFlows, error) {
	rt := r.Intent.Route
	user := h.account
	f := venueFlows{credited: new(big.Rat), spent: new(big.Rat), received: new(big.Rat), withdrawn: new(big.Rat)}
	// Credited: the deposit transaction (Bridge2, a system address or CoreDepositWallet).
	if r.Deposit.TxHash != "" {
		tx := common.HexToHash(r.Deposit.TxHash)
		for _, e := range v.Record {
			if e.Kind != hlsim.EvDeposit || e.User != user || e.TxHash != tx {
				continue
			}
			if f.credited.Sign() != 0 {
				return f, fmt.Errorf("deposit %s credited twice", r.Deposit.TxHash)
			}
			f.credited = weiRat(e.Amount)
		}
	}
	if r.Deposit.Credited.Sign() > 0 && rescale(f.credited, rt.SrcDecimals, false).Cmp(r.Deposit.Credited.Big()) != 0 {
		return f, fmt.Errorf("record says %s credited, the venue %s", r.Deposit.Credited, f.credited.FloatString(8))
	}
	// Traded: the fills of the order whose cloid derives from the intent.
	cloid := strings.ToLower(hyperliquid.Cloid(id+"/"+stepOrder, 0))
	fills := 0
	for _, x := range v.Fills {
		if x.Cloid != cloid {
			continue
		}
		fills++
		recv := new(big.Int).Sub(x.BaseWei, x.FeeWei)
		spent := x.QuoteWei
		if !x.IsBuy {
			recv, spent = new(big.Int).Sub(x.QuoteWei, x.FeeWei), x.BaseWei
		}
		f.spent.Add(f.spent, weiRat(spent))
		f.received.Add(f.received, weiRat(recv))
	}
	if orders := countEvents(v.Record, hlsim.EvOrder, user, cloid); orders > 1 {
		return f, fmt.Errorf("%d orders under cloid %s", orders, cloid)
	}
	switch {
	case fills > 0 && r.Order.VenueID != "":
		if rescale(f.spent, rt.SrcDecimals, true).Cmp(r.Order.Spent.Big()) != 0 ||
			rescale(f.received, rt.DstDecimals, false).Cmp(r.Order.Received.Big()) != 0 {
			return f, fmt.Errorf("record says order spent %s received %s, the venue %s and %s", r.Order.Spent, r.Order.Received,
				f.spent.FloatString(8), f.received.FloatString(8))
		}
	case fills > 0 && !attemptIs(r, stepOrder):
		return f, fmt.Errorf("order %s filled at the venue, but the record neither has it nor attempts it", cloid)
	case fills == 0 && r.Order.VenueID != "" && r.Order.Received.Sign() > 0:
		return f, fmt.Errorf("record has order %s filled, the venue has no fill", r.Order.VenueID)
	}
	if fills > 0 && f.credited.Sign() == 0 {
		return f, fmt.Errorf("order %s traded before the deposit was credited", cloid)
	}
	// Withdrawn: the withdraw3 or spotSend under the nonce the record names or, before the record
	// has it, the nonce of the action the adapter signed for the intent's withdrawal.
	var nonce uint64
	if r.Withdraw.VenueID != "" {
		n, err := strconv.ParseUint(r.Withdraw.VenueID, 10, 64)
		if err != nil {
			return f, fmt.Errorf("withdrawal venue id %q: %w", r.Withdraw.VenueID, err)
		}
		nonce = n
	} else if p, ok, err := w.prepared.Load(ctx, id+"/"+stepWithdraw); err != nil {
		return f, err
	} else if ok {
		nonce = p.Nonce
	}
	if nonce != 0 {
		n := 0
		for _, e := range v.Record {
			if (e.Kind != hlsim.EvWithdraw && e.Kind != hlsim.EvSpotSend) || e.User != user || e.Nonce != nonce {
				continue
			}
			if n++; n > 1 {
				return f, fmt.Errorf("withdrawal nonce %d took effect %d times", nonce, n)
			}
			if r.Withdraw.VenueID == "" && !attemptIs(r, stepWithdraw) {
				return f, fmt.Errorf("withdrawal %d at the venue, but the record neither has it nor attempts it", nonce)
			}
			f.withdrawn = weiRat(e.Amount)
		}
		if n == 0 && r.Withdraw.VenueID != "" {
			return f, fmt.Errorf("record has withdrawal %s, the venue has none", r.Withdraw.VenueID)
		}
	}
	return f, nil
}

func countEvents(rec []hlsim.Event, kind string, user common.Address, cloid string) int {
	n := 0
	for _, e := range rec {
		if e.Kind == kind && e.User == user && strings.EqualFold(e.Cloid, cloid) {
			n++
		}
	}
	return n
}

// TestConservationChecksBite breaks conservation on purpose, one way at a time, in a settled
// Binance world (the real adapter over the simulator, with unattributed balances in both wallets)
// and shows that each part of the per-step check fails: one venue unit nobody attributes, a
// record whose order received one base unit more than the venue paid, a withdrawal the venue made
// that the record neither has nor attempts, an intent whose residue at the venue is forgotten, and
// a leg change the ledger view skipped.
func TestConservationChecksBite(t *testing.T) {
	h := newHarness(t, withBinanceSim())
	h.feesFromLegs = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)
	in := h.start(h.cfg, nil)
	sell := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 1000)
	buy := h.intent(simchain.BSC, "USDT", simchain.Base, "USDC", 810) // buys whole USDC: leaves USDT behind
	same := h.intent(simchain.BSC, "USDT", simchain.Base, "USDT", 500)
	ids := []string{sell.ID, buy.ID, same.ID}
	for _, it := range []*events.RebalanceIntent{sell, buy, same} {
		h.publish(it)
	}
	for id, r := range h.waitTerminal(ids, 90*time.Second) {
		require.Equal(t, events.StateCompleted, r.State, "%s: %s", id, r.Error)
	}
	// Settled: asOf past every landing, so a leg's untilBlock decides whether it counts.
	landed := func() bool {
		st, err := h.readLedgerState(ctx)
		if err != nil {
			return false
		}
		view, err := pending.Parse(h.account.Hex(), st.fields, nil)
		if err != nil {
			return false
		}
		for _, l := range view.Legs() {
			if l.UntilBlock == 0 || view.Chains[l.ChainID].AsOf < l.UntilBlock {
				return false
			}
		}
		return true
	}
	require.Eventually(t, landed, 10*time.Second, 50*time.Millisecond)
	in.stop(t)
	require.NoError(t, h.conservation(ctx))

	// One unit (1e-8, Binance's precision) that no intent explains.
	h.bsim.Credit(simAPIKey, "funding", "USDT", "0.00000001")
	require.ErrorContains(t, h.conservation(ctx), "USDT: held")
	h.bsim.Credit(simAPIKey, "funding", "USDT", "-0.00000001")
	require.NoError(t, h.conservation(ctx))

	st, err := h.readLedgerState(ctx)
	require.NoError(t, err)
	check, err := h.binanceVenueRead(ctx)
	require.NoError(t, err)
	require.NoError(t, check(st.records))
	tamper := func(id string, f func(r *Record)) map[string]*Record {
		out := map[string]*Record{}
		for k, r := range st.records {
			out[k] = r.clone()
		}
		if f == nil {
			delete(out, id)
		} else {
			f(out[id])
		}
		return out
	}
	// The record's order received one unit of USDT more than the venue paid.
	err = check(tamper(sell.ID, func(r *Record) {
		r.Order.Received = events.NewAmount(new(big.Int).Add(r.Order.Received.Big(), big.NewInt(1)))
	}))
	require.ErrorContains(t, err, "record says order")
	// The record lost its withdrawal: the venue made one the record neither has nor attempts...
	lost := func(r *Record) { r.Withdraw = WithdrawStep{}; r.State = events.StateOrderFilled }
	require.ErrorContains(t, check(tamper(same.ID, lost)), "neither has it nor attempts it")
	// ...which is fine while the record holds the Attempt written before the call (a crash after it).
	require.NoError(t, check(tamper(same.ID, func(r *Record) { lost(r); r.Attempt = &Attempt{Step: stepWithdraw} })))
	// The buy's residue (USDT the whole-USDC lot did not spend) forgotten with its record.
	require.ErrorContains(t, check(tamper(buy.ID, nil)), "USDT: held")

	// A leg change the ledger view skipped: the sell's landing not applied to its credit.
	fields := map[string]string{}
	for k, v := range st.fields {
		fields[k] = v
	}
	f := sell.ID + ":" + legDst
	require.Contains(t, fields, f)
	var leg map[string]any
	require.NoError(t, json.Unmarshal([]byte(fields[f]), &leg))
	leg["untilBlock"] = 0
	b, err := json.Marshal(leg)
	require.NoError(t, err)
	fields[f] = string(b)
	require.ErrorContains(t, h.chainConservation(ctx, fields), "conservation violated")
}

package executor

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// hlRoutes are the Hyperliquid routes the tests drive: every way in (Bridge2, CoreDepositWallet
// approve + deposit, system address) and out (withdraw3, spotSend), with and without a trade.
var hlRoutes = []struct {
	src   uint64
	from  string
	dst   uint64
	to    string
	whole int64
}{
	{simchain.Arbitrum, "USDC", simchain.HyperEVM, "USDT", 300},
	{simchain.HyperEVM, "USDC", simchain.Arbitrum, "USDC", 200},
	{simchain.HyperEVM, "USDT", simchain.HyperEVM, "USDC", 150},
	{simchain.HyperEVM, "USDT", simchain.Arbitrum, "USDC", 120},
	{simchain.Arbitrum, "USDC", simchain.HyperEVM, "USDC", 100},
	{simchain.HyperEVM, "USDC", simchain.HyperEVM, "USDT", 90},
}

// TestHyperliquidRoutesComplete carries one intent of every route through the real adapter and the
// simulator, and checks the chain side: one approve and one CoreDepositWallet deposit for HyperEVM
// USDC (no plain transfer, which would be lost), the source debit's block that of the call that
// moved the tokens, the destination credit the amount that landed, from the payout's sender.
func TestHyperliquidRoutesComplete(t *testing.T) {
	h, w := newHLHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)
	h.start(h.cfg, nil)
	var ids []string
	for _, r := range hlRoutes {
		it := h.hlIntent(r.src, r.from, r.dst, r.to, r.whole)
		h.publish(it)
		ids = append(ids, it.ID)
	}
	recs := h.waitTerminal(ids, 90*time.Second)
	evm := h.clients[simchain.HyperEVM]
	for _, id := range ids {
		r := recs[id]
		require.Equal(t, events.StateCompleted, r.State, "%s: %s (funds at %s)", id, r.Error, r.FundsAt)
		rt := r.Intent.Route
		require.Equal(t, r.Deposit.Block, r.leg(legSrc).UntilBlock)
		rcpt, err := h.clients[rt.SrcChain].Receipt(ctx, common.HexToHash(r.Deposit.TxHash))
		require.NoError(t, err)
		require.Equal(t, rcpt.BlockNumber.Uint64(), r.Deposit.Block, "untilBlock is the deposit's block")
		if rt.SrcChain == simchain.HyperEVM && rt.SrcToken == "USDC" {
			require.NotEmpty(t, r.Deposit.ApproveTx)
			arc, err := evm.Receipt(ctx, common.HexToHash(r.Deposit.ApproveTx))
			require.NoError(t, err)
			require.Less(t, arc.BlockNumber.Uint64(), r.Deposit.Block, "approve mined before the deposit")
			// The deposit is a call to CoreDepositWallet, not a transfer to it.
			ts, err := evm.Transfers(ctx, chain.TransferFilter{FromBlock: r.Deposit.Block, ToBlock: r.Deposit.Block,
				From: []common.Address{h.account}, To: []common.Address{w.sim.CoreDepositWallet()}})
			require.NoError(t, err)
			require.Len(t, ts, 1)
			require.Equal(t, common.HexToHash(r.Deposit.TxHash), ts[0].TxHash)
		} else {
			require.Empty(t, r.Deposit.ApproveTx)
		}
		dst := r.leg(legDst)
		require.Equal(t, r.Withdraw.Block, dst.UntilBlock)
		require.Equal(t, r.Withdraw.Landed.String(), dst.Amount.String())
		require.Equal(t, r.Withdraw.Net.String(), r.Withdraw.Landed.String())
		require.True(t, r.Withdraw.Landed.Cmp(r.Intent.MinAmountOut) >= 0, "at least minAmountOut arrived")
	}
	require.Zero(t, w.sim.Count(hlsim.EvDepositLost, h.account, ""), "no deposit lost")
	require.Eventually(t, func() bool { return h.conservation(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
}

// TestHyperliquidRefusesForeignDestination: a withdrawal goes only to an allowlisted account, for
// Hyperliquid as for Binance. An intent for a foreign account is rejected at accept; and at the
// withdrawal step (HyperEVM destination, where a perp → spot move would come first) a foreign
// account is refused before any venue call, with the funds located on HyperCore.
func TestHyperliquidRefusesForeignDestination(t *testing.T) {
	h, w := newHLHarness(t)
	h.start(h.cfg, nil)
	foreign := h.hlIntent(simchain.HyperEVM, "USDT", simchain.HyperEVM, "USDC", 50)
	foreign.Account = events.ChecksumAddress(simchain.DevAddress("attacker").Hex())
	h.publish(foreign)

	e, err := New(h.cfg, h.deps(h.pub))
	require.NoError(t, err)
	it := h.hlIntent(simchain.Arbitrum, "USDC", simchain.HyperEVM, "USDT", 60)
	it.Account = foreign.Account
	rec := &Record{Intent: *it, State: events.StateOrderFilled, Legs: initialLegs(it)}
	rec.Order.Received = it.MinAmountOut
	// A lease that is not held: if the allowlist were not checked first, the first side effect
	// would fail with ErrLeaseLost instead.
	l := newLease(h.rdb, it.Account, events.VenueHyperliquid, "r1", time.Second, time.Now, h.log)
	x := &stepEnv{e: e, s: scope{events.VenueHyperliquid, strings.ToLower(it.Account)}, l: l, log: h.log, base: rec, v: 1}
	next, err := e.hlStep(context.Background(), x, rec)
	require.NoError(t, err)
	require.Equal(t, events.StateNeedsAttention, next.State)
	require.Contains(t, next.Error, "not allowlisted")
	require.Contains(t, next.FundsAt, "HyperCore")

	require.Eventually(t, func() bool { return len(h.updates(foreign.ID)) > 0 }, 10*time.Second, 50*time.Millisecond)
	ups := h.updates(foreign.ID)
	require.Equal(t, events.StateRejected, ups[0].State, "the foreign intent is rejected at accept")
	require.Contains(t, ups[0].Error, "not allowlisted")
	require.Zero(t, w.sim.Count(hlsim.EvWithdraw, common.Address{}, "")+w.sim.Count(hlsim.EvSpotSend, common.Address{}, "")+
		w.sim.Count(hlsim.EvClassTransfer, common.Address{}, ""), "the venue never saw a transfer")
}

// fakeHL is the real adapter with chosen venue answers, for one state transition at a time.
type fakeHL struct {
	*hyperliquid.Venue
	findDeposit    func() (venue.Deposit, error)
	makeTradable   func() (venue.Wait, error)
	swap           func(venue.SwapRequest) (venue.Order, error)
	findOrder      func() (venue.Order, error)
	withdraw       func(venue.WithdrawRequest) (venue.Withdrawal, error)
	findWithdrawal func() (venue.Withdrawal, error)
	tradableCalls  int
}

func (f *fakeHL) FindDeposit(ctx context.Context, k venue.Key, tx string) (venue.Deposit, error) {
	if f.findDeposit != nil {
		return f.findDeposit()
	}
	return f.Venue.FindDeposit(ctx, k, tx)
}

func (f *fakeHL) MakeTradable(ctx context.Context, token string, a venue.Amount) (venue.Wait, error) {
	f.tradableCalls++
	if f.makeTradable != nil {
		return f.makeTradable()
	}
	return f.Venue.MakeTradable(ctx, token, a)
}

func (f *fakeHL) Swap(ctx context.Context, r venue.SwapRequest) (venue.Order, error) {
	if f.swap != nil {
		return f.swap(r)
	}
	return f.Venue.Swap(ctx, r)
}

func (f *fakeHL) FindOrder(ctx context.Context, id, step string) (venue.Order, error) {
	if f.findOrder != nil {
		return f.findOrder()
	}
	return f.Venue.FindOrder(ctx, id, step)
}

func (f *fakeHL) Withdraw(ctx context.Context, r venue.WithdrawRequest) (venue.Withdrawal, error) {
	if f.withdraw != nil {
		return f.withdraw(r)
	}
	return f.Venue.Withdraw(ctx, r)
}

func (f *fakeHL) FindWithdrawal(ctx context.Context, id, step string) (venue.Withdrawal, error) {
	if f.findWithdrawal != nil {
		return f.findWithdrawal()
	}
	return f.Venue.FindWithdrawal(ctx, id, step)
}

// hlStepper takes one step at a time as the reconcile loop does: it holds the lease, steps a stored
// record and records the result.
type hlStepper struct {
	t     *testing.T
	h     *harness
	e     *Executor
	l     *Lease
	fence uint64
}

func newHLStepper(t *testing.T, h *harness, v Venue) *hlStepper {
	t.Helper()
	d := h.deps(h.pub)
	d.Venues = map[string]Venue{events.VenueHyperliquid: v}
	e, err := New(h.cfg, d)
	require.NoError(t, err)
	require.NoError(t, e.control.load(context.Background())) // the kill switch is read, and off
	l := newLease(h.rdb, h.account.Hex(), events.VenueHyperliquid, "unit", time.Minute, time.Now, h.log)
	require.True(t, l.tryOnce(context.Background()))
	fence, ok := l.Held()
	require.True(t, ok)
	return &hlStepper{t: t, h: h, e: e, l: l, fence: fence}
}

// put stores rec as an accepted intent's record, with its legs.
func (s *hlStepper) put(rec *Record) {
	s.t.Helper()
	b, err := rec.encode()
	require.NoError(s.t, err)
	legs := make([]pending.Leg, len(rec.Legs))
	for i, l := range rec.Legs {
		legs[i] = pendingLeg(rec.Intent.ID, l)
	}
	_, err = s.e.w.Accept(context.Background(), h0(s.h), rec.Intent.ID, b, legs)
	require.NoError(s.t, err)
	require.NoError(s.t, s.h.rdb.SAdd(context.Background(), openKey(h0(s.h)), rec.Intent.ID).Err())
}

func h0(h *harness) string { return strings.ToLower(h.account.Hex()) }

// step takes one step of the stored intent and records it; it returns the step's result (nil: no
// change) and the record as stored afterwards.
func (s *hlStepper) step(id string) (*Record, *Record) {
	s.t.Helper()
	ctx := context.Background()
	rec, v, err := s.h.record(id)
	require.NoError(s.t, err)
	x := &stepEnv{e: s.e, s: scope{events.VenueHyperliquid, h0(s.h)}, l: s.l, fence: s.fence, log: s.h.log, base: rec, v: v}
	next, err := s.e.hlStep(ctx, x, rec)
	require.NoError(s.t, err)
	if next != nil {
		_, err := s.e.record(ctx, h0(s.h), x.base, x.v, next, s.fence, s.h.log)
		require.NoError(s.t, err)
	}
	after, _, err := s.h.record(id)
	require.NoError(s.t, err)
	return next, after
}

// hlRecord is an intent's record in state st, as the steps before it would have left it.
func (h *harness) hlRecord(st events.State, src uint64, from string, dst uint64, to string, whole int64) *Record {
	it := h.hlIntent(src, from, dst, to, whole)
	rec := &Record{Intent: *it, State: st, Legs: initialLegs(it), EnteredAt: time.Now(), Deadline: time.Now().Add(time.Hour)}
	rec.Deposit.StepKey, rec.Deposit.TxHash, rec.Deposit.Block = rec.depositStepKey(), common.Hash{1}.Hex(), 1
	rec.leg(legSrc).UntilBlock = 1
	rec.Deposit.Credited = it.AmountIn
	if st == events.StateOrderFilled || st == events.StateWithdrawRequested || st == events.StateLanded {
		rec.Order.Received = it.MinAmountOut
	}
	return rec
}

func e6u(whole int64) *big.Int { return new(big.Int).Mul(big.NewInt(whole), big.NewInt(1_000_000)) }

// TestHyperliquidStateTransitions: one table row per transition of the Hyperliquid state list after
// the deposit is mined (the deposit pair has its own test), with the venue's answer chosen.
func TestHyperliquidStateTransitions(t *testing.T) {
	h, w := newHLHarness(t)
	for _, id := range hlChains { // heads above zero, so that a recorded head is visible
		require.NoError(t, h.chains[id].Mint(context.Background(), "USDC", simchain.DevAddress("someone"), big.NewInt(1)))
	}
	credited := func(wallet string) func() (venue.Deposit, error) {
		return func() (venue.Deposit, error) {
			return venue.Deposit{Status: venue.DepositCredited, Wallet: wallet, Amount: venue.NewAmount(big.NewInt(100_00000000), 8)}, nil
		}
	}
	cases := []struct {
		name  string
		rec   *Record
		fake  func(*fakeHL)
		want  events.State // "" for no change
		check func(t *testing.T, next *Record, f *fakeHL)
	}{
		{"deposit mined, not credited yet", h.hlRecord(events.StateDepositMined, simchain.Arbitrum, "USDC", simchain.HyperEVM, "USDT", 100),
			func(f *fakeHL) {
				f.findDeposit = func() (venue.Deposit, error) { return venue.Deposit{}, venue.ErrNotFound }
			}, "", nil},
		{"deposit mined, credited to perp", h.hlRecord(events.StateDepositMined, simchain.Arbitrum, "USDC", simchain.HyperEVM, "USDT", 100),
			func(f *fakeHL) { f.findDeposit = credited("perp") }, events.StateDepositCredited,
			func(t *testing.T, n *Record, _ *fakeHL) {
				require.Equal(t, e6u(100).String(), n.Deposit.Credited.String())
			}},
		{"credited, perp → spot not possible yet", h.hlRecord(events.StateDepositCredited, simchain.Arbitrum, "USDC", simchain.HyperEVM, "USDT", 100),
			func(f *fakeHL) { f.makeTradable = func() (venue.Wait, error) { return venue.WaitInsufficient, nil } }, "", nil},
		{"credited, moved to spot", h.hlRecord(events.StateDepositCredited, simchain.Arbitrum, "USDC", simchain.HyperEVM, "USDT", 100),
			func(f *fakeHL) { f.makeTradable = func() (venue.Wait, error) { return venue.WaitNone, nil } }, events.StateTransferred, nil},
		{"transferred, same asset skips the order", h.hlRecord(events.StateTransferred, simchain.Arbitrum, "USDC", simchain.HyperEVM, "USDC", 100),
			func(f *fakeHL) {
				f.swap = func(venue.SwapRequest) (venue.Order, error) { panic("no order on a same-asset route") }
			}, events.StateOrderFilled,
			func(t *testing.T, n *Record, _ *fakeHL) {
				require.Equal(t, e6u(100).String(), n.Order.Received.String())
			}},
		{"transferred, IOC filled", h.hlRecord(events.StateTransferred, simchain.HyperEVM, "USDT", simchain.Arbitrum, "USDC", 100),
			func(f *fakeHL) {
				f.makeTradable = func() (venue.Wait, error) { return venue.WaitNone, nil }
				f.swap = func(r venue.SwapRequest) (venue.Order, error) {
					return venue.Order{ClientID: "0xc1", Status: venue.OrderFilled, Spent: venue.NewAmount(big.NewInt(100_00000000), 8),
						Received: venue.NewAmount(big.NewInt(99_90000000), 8), Fee: venue.NewAmount(big.NewInt(7000000), 8), FeeToken: "USDC"}, nil
				}
			}, events.StateOrderFilled,
			func(t *testing.T, n *Record, f *fakeHL) {
				require.Equal(t, "99900000", n.Order.Received.String())
				require.Equal(t, 1, f.tradableCalls, "spot is made to hold the credit right before the order")
			}},
		{"transferred, IOC found nothing to match", h.hlRecord(events.StateTransferred, simchain.HyperEVM, "USDT", simchain.Arbitrum, "USDC", 100),
			func(f *fakeHL) {
				f.makeTradable = func() (venue.Wait, error) { return venue.WaitNone, nil }
				f.swap = func(venue.SwapRequest) (venue.Order, error) {
					return venue.Order{ClientID: "0xc2", Status: venue.OrderCanceled, Raw: "could not immediately match"}, nil
				}
			}, events.StateNeedsAttention,
			func(t *testing.T, n *Record, _ *fakeHL) { require.Contains(t, n.FundsAt, "HyperCore spot: USDT") }},
		{"order filled, withdrawal reported without a tx hash", h.hlRecord(events.StateOrderFilled, simchain.HyperEVM, "USDT", simchain.Arbitrum, "USDC", 100),
			func(f *fakeHL) {
				f.withdraw = func(r venue.WithdrawRequest) (venue.Withdrawal, error) {
					net := new(big.Int).Sub(r.Amount.Units, big.NewInt(1_000_000))
					return venue.Withdrawal{ClientID: r.IntentID + "/w", VenueID: "42", Status: venue.WithdrawalPending,
						Amount: venue.NewAmount(net, 6), Fee: venue.NewAmount(big.NewInt(1_000_000), 6)}, nil
				}
			}, events.StateWithdrawRequested,
			func(t *testing.T, n *Record, f *fakeHL) {
				want := new(big.Int).Sub(n.Intent.MinAmountOut.Big(), big.NewInt(1_000_000))
				require.Equal(t, want.String(), n.Withdraw.Net.String())
				require.Equal(t, want.String(), n.leg(legDst).Amount.String(), "the credit is the venue's net amount")
				require.Zero(t, n.leg(legDst).UntilBlock)
				require.NotZero(t, n.Withdraw.Since, "the head before the request is recorded")
				require.Zero(t, f.tradableCalls, "withdraw3 draws on perp: no move to spot")
			}},
		{"withdraw requested, nothing landed yet", func() *Record {
			r := h.hlRecord(events.StateWithdrawRequested, simchain.HyperEVM, "USDT", simchain.HyperEVM, "USDC", 100)
			r.Withdraw.Net, r.Withdraw.Since = r.Intent.MinAmountOut, h.chains[simchain.HyperEVM].Head()
			return r
		}(), nil, "", nil},
		{"landed", h.hlRecord(events.StateLanded, simchain.HyperEVM, "USDT", simchain.HyperEVM, "USDC", 100), nil, events.StateCompleted, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeHL{Venue: w.venue}
			if c.fake != nil {
				c.fake(f)
			}
			s := newHLStepper(t, h, f)
			s.put(c.rec)
			next, after := s.step(c.rec.Intent.ID)
			if c.want == "" {
				require.Nil(t, next)
				require.Equal(t, c.rec.State, after.State)
				return
			}
			require.NotNil(t, next)
			require.Equal(t, c.want, after.State)
			if c.check != nil {
				c.check(t, after, f)
			}
		})
	}
}

// TestHyperliquidApproveThenDeposit: HyperEVM USDC enters HyperCore by approve(CoreDepositWallet)
// then CoreDepositWallet.deposit(amount, spot), two write-ahead transactions under their own step
// keys, in that order; the source debit's untilBlock is the deposit's block. A second intent on
// the same gateway waits while the first's approve has no deposit signed (approve sets the
// allowance, so a second approve in between would take the first's away), and an intent escalated
// with only its approve signed is rejected with its legs dropped: nothing left the account.
func TestHyperliquidApproveThenDeposit(t *testing.T) {
	h, w := newHLHarness(t)
	ctx := context.Background()
	s := newHLStepper(t, h, w.venue)
	accepted := func() *Record {
		it := h.hlIntent(simchain.HyperEVM, "USDC", simchain.HyperEVM, "USDT", 80)
		return &Record{Intent: *it, State: events.StateAccepted, Legs: initialLegs(it), EnteredAt: time.Now(), Deadline: time.Now().Add(time.Hour)}
	}
	a, b := accepted(), accepted()
	s.put(a)
	s.put(b)
	ts := &txStore{rdb: h.rdb, account: h0(h)}
	wallet := w.sim.CoreDepositWallet()
	usdc := h.chains[simchain.HyperEVM].TokenAddress("USDC")

	// A signs its approve, and only that.
	_, ra := s.step(a.Intent.ID)
	require.Equal(t, events.StateDepositSigned, ra.State)
	require.NotEmpty(t, ra.Deposit.ApproveTx)
	require.Empty(t, ra.Deposit.TxHash)
	app, ok, err := ts.LoadTx(ctx, a.Intent.ID+":approve")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, usdc, app.To)
	_, ok, err = ts.LoadTx(ctx, a.depositStepKey())
	require.NoError(t, err)
	require.False(t, ok, "no deposit signed before the approve is mined")

	// B waits for the gateway.
	_, rb := s.step(b.Intent.ID)
	require.Equal(t, events.StateWaiting, rb.State)
	require.Equal(t, "deposit_wallet_busy", rb.Wait)
	_, ok, err = ts.LoadTx(ctx, b.Intent.ID+":approve")
	require.NoError(t, err)
	require.False(t, ok)

	// A's approve is broadcast and mined, then its deposit signed: a call to the wallet.
	_, ra = s.step(a.Intent.ID)
	require.Equal(t, events.StateDepositSigned, ra.State)
	require.NotEmpty(t, ra.Deposit.TxHash)
	dep, ok, err := ts.LoadTx(ctx, a.depositStepKey())
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, wallet, dep.To)
	var tx types.Transaction
	require.NoError(t, tx.UnmarshalBinary(dep.Raw))
	require.Equal(t, hyperliquid.DepositCalldata(a.Intent.AmountIn.Big(), hyperliquid.SpotDex), tx.Data())
	require.Greater(t, dep.Nonce, app.Nonce)

	// Mined: the debit ends at the deposit's block, not the approve's.
	_, ra = s.step(a.Intent.ID)
	require.Equal(t, events.StateDepositMined, ra.State)
	arc, err := h.clients[simchain.HyperEVM].Receipt(ctx, app.Hash)
	require.NoError(t, err)
	drc, err := h.clients[simchain.HyperEVM].Receipt(ctx, dep.Hash)
	require.NoError(t, err)
	require.Equal(t, drc.BlockNumber.Uint64(), ra.leg(legSrc).UntilBlock)
	require.Less(t, arc.BlockNumber.Uint64(), drc.BlockNumber.Uint64())
	// And HyperCore credits it to spot.
	require.Eventually(t, func() bool {
		_, r := s.step(a.Intent.ID)
		return r.State == events.StateDepositCredited
	}, 10*time.Second, 20*time.Millisecond)

	// Now B goes ahead with its own approve.
	_, rb = s.step(b.Intent.ID)
	require.Equal(t, events.StateDepositSigned, rb.State)
	require.NotEmpty(t, rb.Deposit.ApproveTx)
	// Escalated with only the approve signed, B is rejected and its legs dropped.
	n, err := s.e.escalate(ctx, rb, "timed out")
	require.NoError(t, err)
	require.Equal(t, events.StateRejected, n.State)
	require.Empty(t, n.Legs)
	require.Contains(t, n.FundsAt, "never left the account")
}

// TestHyperliquidLandingClaims: the venue names no transaction for a withdrawal, so its landing is
// the Transfer from the payout sender to the account of exactly the venue's net amount after the
// recorded head. Two intents waiting for equal payouts take one Transfer each; a third finds none;
// an intent asking again (a crash between its claim and its record) gets the same one; a transfer
// before the head, of another amount or from another sender is never taken.
func TestHyperliquidLandingClaims(t *testing.T) {
	h, w := newHLHarness(t)
	ctx := context.Background()
	evm := h.chains[simchain.HyperEVM]
	usdc := evm.TokenAddress("USDC")
	payer := simchain.DevKey("hl-payer")
	amount := e6u(77)
	pay := func(v *big.Int) common.Hash {
		rcpt, err := evm.SendAndMine(ctx, payer, usdc, nil, hyperliquid.TransferCalldata(h.account, v))
		require.NoError(t, err)
		return rcpt.TxHash
	}
	early := pay(amount) // before the withdrawals were requested
	s := newHLStepper(t, h, w.venue)
	waiting := func() *Record {
		r := h.hlRecord(events.StateWithdrawRequested, simchain.HyperEVM, "USDT", simchain.HyperEVM, "USDC", 80)
		r.Withdraw.Net, r.Withdraw.Since, r.Withdraw.ClientID = events.NewAmount(amount), evm.Head(), r.Intent.ID+"/w"
		r.leg(legDst).Amount = r.Withdraw.Net
		s.put(r)
		return r
	}
	a, b, c := waiting(), waiting(), waiting()
	require.NoError(t, evm.Mint(ctx, "USDC", h.account, amount)) // another sender
	pay(new(big.Int).Sub(amount, big.NewInt(1)))                 // another amount
	p1, p2 := pay(amount), pay(amount)

	_, ra := s.step(a.Intent.ID)
	_, rb := s.step(b.Intent.ID)
	next, rc := s.step(c.Intent.ID)
	require.Equal(t, events.StateLanded, ra.State)
	require.Equal(t, events.StateLanded, rb.State)
	require.Nil(t, next, "both equal payouts are claimed: the third intent keeps waiting")
	require.Equal(t, events.StateWithdrawRequested, rc.State)
	got := map[string]bool{ra.Withdraw.TxHash: true, rb.Withdraw.TxHash: true}
	require.Equal(t, map[string]bool{p1.Hex(): true, p2.Hex(): true}, got, "one payout each, never the early one")
	require.NotEqual(t, early.Hex(), ra.Withdraw.TxHash)
	for _, r := range []*Record{ra, rb} {
		require.Equal(t, amount.String(), r.Withdraw.Landed.String())
		require.Equal(t, r.Withdraw.Block, r.leg(legDst).UntilBlock)
		require.Equal(t, amount.String(), r.leg(legDst).Amount.String())
	}
	// Asking again (as after a crash before the record) returns the intent's own claim.
	again, found, err := s.e.findLanding(ctx, w.venue, a)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, ra.Withdraw.TxHash, again.TxHash.Hex())
}

package executor

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Venue step names: they derive the venue's client ids (with the intent id) in the adapters, which
// accept 1 to 4 of [a-z0-9] ("o" the order, "w" the withdrawal, as the Binance adapter documents).
const (
	stepDeposit  = "deposit"
	stepOrder    = "o"
	stepWithdraw = "w"
)

type stepEnv struct {
	e     *Executor
	s     scope
	l     *Lease
	fence uint64
	log   zerolog.Logger
	// base and v are the record as last written and its version; persist advances them.
	base *Record
	v    uint64
}

// persist records n over the step's base within a step (an attempt written ahead of its call).
func (x *stepEnv) persist(ctx context.Context, n *Record) error {
	if x.e.cfg.DryRun {
		return errDryRun
	}
	nv, err := x.e.record(ctx, x.s.account, x.base, x.v, n, x.fence, x.log)
	if err != nil {
		return err
	}
	x.base, x.v = n, nv
	return nil
}

// effect guards one external side effect (allowed), then runs the fault hook before it.
func (x *stepEnv) effect(name string) error {
	if err := x.allowed(name); err != nil {
		return err
	}
	return x.e.fault("effect:" + name + ":before")
}

// allowed checks that a side effect may run: the lease must be held with our fence, no kill switch
// or pause may cover the venue, and dry-run sends nothing.
func (x *stepEnv) allowed(name string) error {
	if f, ok := x.l.Held(); !ok || f != x.fence {
		return ErrLeaseLost
	}
	if halted, why := x.e.control.Halted(x.s.venue); halted {
		return fmt.Errorf("%w: %s", ErrHalted, why)
	}
	if x.e.cfg.DryRun {
		x.log.Info().Str("effect", name).Msg("dry-run: would perform side effect")
		return errDryRun
	}
	x.e.m.effects.WithLabelValues(x.s.venue, name).Inc()
	return nil
}

// after runs the fault hook once the side effect returned (its result not yet recorded).
func (x *stepEnv) after(name string) error { return x.e.fault("effect:" + name + ":after") }

var errDryRun = errors.New("dry-run")

// step decides the next record for rec, performing at most one external side effect; nil means
// nothing changed (wait and look again next tick).
func (e *Executor) step(ctx context.Context, x *stepEnv, rec *Record) (*Record, error) {
	now := e.d.Now()
	// A kill or a pause stops side effects, not the clock; but an intent must not be escalated
	// because an operator held it: no timeout fires while its venue is halted, and after a resume
	// every state gets a full window again.
	halted, _ := e.control.Halted(x.s.venue)
	resumed := e.noteHalt(x.s.venue, halted)
	if now.After(rec.Deadline) && !halted && now.Sub(resumed) > e.cfg.timeout(stateOf(rec)) {
		return e.escalate(ctx, rec, fmt.Sprintf("timed out in %s", stateOf(rec)))
	}
	var next *Record
	var err error
	if rec.Intent.Venue == events.VenueHyperliquid {
		next, err = e.hlStep(ctx, x, rec)
	} else {
		next, err = e.binanceStep(ctx, x, rec)
	}
	switch {
	case errors.Is(err, errDryRun):
		return nil, nil
	case errors.Is(err, ErrHalted):
		x.log.Debug().Err(err).Msg("side effect held back")
		return nil, nil
	}
	return next, err
}

// stateOf is the state whose work is pending: the waited-in state for a waiting intent.
func stateOf(rec *Record) events.State {
	if rec.State == events.StateWaiting {
		return rec.Resume
	}
	return rec.State
}

func (rec *Record) srcKey() venue.Key {
	return venue.Key{Token: rec.Intent.Route.SrcToken, ChainID: rec.Intent.Route.SrcChain}
}

func (rec *Record) dstKey() venue.Key {
	return venue.Key{Token: rec.Intent.Route.DstToken, ChainID: rec.Intent.Route.DstChain}
}

func (rec *Record) depositStepKey() string { return rec.Intent.ID + ":" + stepDeposit }

// to returns a copy of rec moved to state st (clearing any wait).
func (rec *Record) to(st events.State) *Record {
	n := rec.clone()
	n.State, n.Resume, n.Wait, n.Attempt = st, "", "", nil
	return n
}

// waiting returns rec waiting for w in its current state, or nil if it already is.
func (rec *Record) waiting(w string) *Record {
	st := stateOf(rec)
	if rec.State == events.StateWaiting && rec.Wait == w {
		return nil
	}
	n := rec.clone()
	n.State, n.Resume, n.Wait = events.StateWaiting, st, w
	return n
}

// waitingAfterCall returns rec waiting for w after a venue call that created nothing: the attempt is
// cleared, so the next try submits again (after looking up, as always). Nil if nothing changes.
func (rec *Record) waitingAfterCall(w string) *Record {
	st := stateOf(rec)
	if rec.State == events.StateWaiting && rec.Wait == w && rec.Attempt == nil {
		return nil
	}
	n := rec.clone()
	n.State, n.Resume, n.Wait, n.Attempt = events.StateWaiting, st, w, nil
	return n
}

// fundsAt says where an intent's funds are in a state, for needs_attention.
func (rec *Record) fundsAt(st events.State) string {
	if rec.Intent.Venue == events.VenueHyperliquid {
		if s, ok := rec.hlFundsAt(st); ok {
			return s
		}
	}
	r := rec.Intent.Route
	v := rec.Intent.Venue
	switch st {
	case events.StateAccepted:
		return fmt.Sprintf("chain %d: %s never left the account", r.SrcChain, r.SrcToken)
	case events.StateDepositSigned:
		return fmt.Sprintf("chain %d: deposit tx %s signed, maybe pending; %s not yet at %s", r.SrcChain, rec.Deposit.TxHash, r.SrcToken, v)
	case events.StateDepositMined:
		return fmt.Sprintf("%s: deposit of %s (tx %s on chain %d) not yet credited", v, r.SrcToken, rec.Deposit.TxHash, r.SrcChain)
	case events.StateDepositCredited, events.StateTransferred:
		return fmt.Sprintf("%s: %s credited", v, r.SrcToken)
	case events.StateOrderPlaced:
		return fmt.Sprintf("%s spot: order %s open (%s → %s)", v, rec.Order.ClientID, r.SrcToken, r.DstToken)
	case events.StateOrderFilled:
		return fmt.Sprintf("%s spot: %s", v, r.DstToken)
	case events.StateWithdrawRequested:
		return fmt.Sprintf("%s: withdrawal %s of %s to chain %d requested, not sent", v, rec.Withdraw.ClientID, r.DstToken, r.DstChain)
	case events.StateWithdrawSent:
		return fmt.Sprintf("in flight to chain %d: %s withdrawal tx %s", r.DstChain, r.DstToken, rec.Withdraw.TxHash)
	default:
		return fmt.Sprintf("chain %d: %s", r.DstChain, r.DstToken)
	}
}

// escalate ends the intent in needs_attention with its funds located, never deleting a leg whose
// funds may have moved. Before any deposit left (no signed deposit), nothing moved: the intent is
// rejected and its legs dropped instead, since the chain balance already holds the funds.
func (e *Executor) escalate(ctx context.Context, rec *Record, why string) (*Record, error) {
	st := stateOf(rec)
	// A deposit_signed intent may hold only an approve (Hyperliquid's CoreDepositWallet): an
	// approve moves nothing, so without a signed deposit nothing left the account.
	if st == events.StateAccepted || (st == events.StateDepositSigned && rec.Deposit.TxHash == "") {
		signed, err := e.depositSigned(ctx, rec)
		if err != nil {
			return nil, err
		}
		if !signed {
			// But a signed approve holds a nonce: dropped unsent, every later transaction of the
			// account on the chain would queue behind it. The intent ends only once the approve is
			// mined or its nonce consumed, its recorded bytes rebroadcast meanwhile (harmless: an
			// approve moves nothing).
			if done, err := e.approveSettled(ctx, rec); err != nil || !done {
				if err != nil {
					return nil, err
				}
				return rec.waiting(waitApproveUnmined), nil
			}
			return rec.abandon(why), nil
		}
		st = events.StateDepositSigned
	}
	n := rec.to(events.StateNeedsAttention)
	n.FundsAt, n.Error = rec.fundsAt(st), why
	n.Attempt = rec.Attempt // a venue call may have happened: observe keeps looking for it
	return n, nil
}

// waitApproveUnmined: a timed-out intent with only its approve signed waits for it to be mined.
const waitApproveUnmined = "approve_unmined"

// approveSettled reports whether the intent's approve, if it signed one, is mined or dead (its
// nonce consumed), rebroadcasting it otherwise.
func (e *Executor) approveSettled(ctx context.Context, rec *Record) (bool, error) {
	app, ok, err := (&txStore{rdb: e.d.Redis, account: accountOf(rec)}).LoadTx(ctx, rec.approveStepKey())
	if err != nil || !ok {
		return !ok, err
	}
	rcpt, dead, err := e.settle(ctx, rec, app, stepApprove)
	return rcpt != nil || dead, err
}

// settle looks after a write-ahead transaction the intent signed whose outcome no longer drives a
// step (the intent needs attention, or is about to be dropped): it returns its receipt once mined,
// dead once another transaction consumed its nonce, and otherwise broadcasts the recorded bytes
// again (effect "rebroadcast-<what>"). No decision is made and nothing is signed, but the kill
// switch and pauses hold it back like any side effect, and dry-run sends nothing. Until then the
// nonce is held and every later transaction of the account on the chain waits behind it.
func (e *Executor) settle(ctx context.Context, rec *Record, txr chain.TxRecord, what string) (rcpt *types.Receipt, dead bool, err error) {
	r := rec.Intent.Route
	c := e.d.Chains[r.SrcChain]
	rcpt, err = c.Receipt(ctx, txr.Hash)
	if !errors.Is(err, chain.ErrNotFound) {
		return rcpt, false, err
	}
	if halted, _ := e.control.Halted(rec.Intent.Venue); halted || e.cfg.DryRun {
		return nil, false, nil
	}
	sender, ok := e.d.Senders(r.SrcChain, accountOf(rec))
	if !ok {
		return nil, false, fmt.Errorf("no sender for chain %d", r.SrcChain)
	}
	effect := "rebroadcast-" + what
	if err := e.fault("effect:" + effect + ":before"); err != nil {
		return nil, false, err
	}
	e.m.effects.WithLabelValues(rec.Intent.Venue, effect).Inc()
	berr := sender.Broadcast(ctx, txr)
	if err := e.fault("effect:" + effect + ":after"); err != nil {
		return nil, false, err
	}
	switch {
	case errors.Is(berr, chain.ErrNonceConsumed):
		e.log.Warn().Err(berr).Str("intent", rec.Intent.ID).Uint64("chain", r.SrcChain).Str("tx", txr.Hash.Hex()).
			Msg(what + ": nonce consumed by another transaction; it can never be mined")
		return nil, true, nil
	case berr != nil:
		return nil, false, fmt.Errorf("rebroadcast %s %s: %w", what, txr.Hash.Hex(), berr)
	}
	rcpt, err = c.Receipt(ctx, txr.Hash)
	if errors.Is(err, chain.ErrNotFound) {
		return nil, false, nil
	}
	return rcpt, false, err
}

// abandon ends an intent whose funds never left: rejected, legs dropped.
func (rec *Record) abandon(why string) *Record {
	n := rec.to(events.StateRejected)
	n.Legs, n.Error = nil, why
	n.FundsAt = rec.fundsAt(events.StateAccepted)
	return n
}

// depositSigned reports whether a write-ahead deposit exists for the intent.
func (e *Executor) depositSigned(ctx context.Context, rec *Record) (bool, error) {
	ts := &txStore{rdb: e.d.Redis, account: accountOf(rec)}
	_, ok, err := ts.LoadTx(ctx, rec.depositStepKey())
	return ok, err
}

func accountOf(rec *Record) string { return strings.ToLower(rec.Intent.Account) }

// binanceStep is the Binance route's state machine (DESIGN §7): accepted → deposit_signed →
// deposit_mined → deposit_credited → transferred → [order_placed →] order_filled →
// withdraw_requested → withdraw_sent → landed → completed. Same-asset routes skip the order.
func (e *Executor) binanceStep(ctx context.Context, x *stepEnv, rec *Record) (*Record, error) {
	v := e.d.Venues[rec.Intent.Venue]
	r := rec.Intent.Route
	switch stateOf(rec) {
	case events.StateAccepted:
		return e.stepAccepted(ctx, x, v, rec)

	case events.StateDepositSigned:
		return e.stepDepositSigned(ctx, x, rec)

	case events.StateDepositMined:
		return e.stepDepositMined(ctx, v, rec)

	case events.StateDepositCredited:
		return e.stepMakeTradable(ctx, x, v, rec)

	case events.StateTransferred:
		if r.SrcToken == r.DstToken {
			return rec.skipTrade(), nil
		}
		return e.stepOrder(ctx, x, v, rec)

	case events.StateOrderPlaced:
		return e.stepOrderPlaced(ctx, v, rec)

	case events.StateOrderFilled:
		return e.stepWithdraw(ctx, x, v, rec)

	case events.StateWithdrawRequested:
		w, err := v.FindWithdrawal(ctx, rec.Intent.ID, stepWithdraw)
		if errors.Is(err, venue.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return rec.afterWithdrawal(w)

	case events.StateWithdrawSent:
		return e.stepLanding(ctx, rec)

	case events.StateLanded:
		return rec.to(events.StateCompleted), nil
	}
	return nil, fmt.Errorf("no step from state %s", rec.State)
}

func (rec *Record) abandonReverted(rcpt *types.Receipt) *Record {
	n := rec.to(events.StateNeedsAttention)
	n.Legs = nil
	n.FundsAt = rec.fundsAt(events.StateAccepted)
	n.Error = fmt.Sprintf("deposit tx %s reverted in block %s: nothing left the account", rec.Deposit.TxHash, rcpt.BlockNumber)
	return n
}

// stepDepositSigned broadcasts the recorded deposit (the same bytes, as often as needed) and, once
// it is mined, records its block as the source debit's untilBlock.
func (e *Executor) stepDepositSigned(ctx context.Context, x *stepEnv, rec *Record) (*Record, error) {
	txr, ok, err := (&txStore{rdb: e.d.Redis, account: accountOf(rec)}).LoadTx(ctx, rec.depositStepKey())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("deposit %s recorded as signed but its write-ahead record is missing", rec.Deposit.TxHash)
	}
	rcpt, berr, err := e.mined(ctx, x, rec, txr, "deposit")
	switch {
	case err != nil:
		return nil, err
	case errors.Is(berr, chain.ErrNonceConsumed):
		n := rec.to(events.StateNeedsAttention)
		n.FundsAt, n.Error = rec.fundsAt(events.StateDepositSigned), berr.Error()
		return n, nil
	case berr != nil:
		return nil, berr
	case rcpt == nil:
		return nil, nil
	case rcpt.Status != types.ReceiptStatusSuccessful:
		// The transfer reverted: nothing left the account.
		return rec.abandonReverted(rcpt), nil
	}
	n := rec.to(events.StateDepositMined)
	n.Deposit.Block = rcpt.BlockNumber.Uint64()
	n.leg(legSrc).UntilBlock = n.Deposit.Block
	return n, nil
}

// mined returns the receipt of a write-ahead transaction of the intent on its source chain,
// broadcasting the recorded bytes first when it is not mined (effect "broadcast-<what>"). A nil
// receipt means not mined yet; berr is the broadcast's own failure (chain.ErrNonceConsumed: another
// transaction took the nonce).
func (e *Executor) mined(ctx context.Context, x *stepEnv, rec *Record, txr chain.TxRecord, what string) (rcpt *types.Receipt, berr, err error) {
	r := rec.Intent.Route
	sender, ok := e.d.Senders(r.SrcChain, accountOf(rec))
	if !ok {
		return nil, nil, fmt.Errorf("no sender for chain %d", r.SrcChain)
	}
	rcpt, err = e.d.Chains[r.SrcChain].Receipt(ctx, txr.Hash)
	if !errors.Is(err, chain.ErrNotFound) {
		return rcpt, nil, err
	}
	if err := x.effect("broadcast-" + what); err != nil {
		return nil, nil, err
	}
	berr = sender.Broadcast(ctx, txr)
	if err := x.after("broadcast-" + what); err != nil {
		return nil, nil, err
	}
	if berr != nil {
		return nil, berr, nil
	}
	x.log.Info().Str("tx", txr.Hash.Hex()).Uint64("chain", r.SrcChain).Msg(what + " broadcast")
	rcpt, err = e.d.Chains[r.SrcChain].Receipt(ctx, txr.Hash)
	if errors.Is(err, chain.ErrNotFound) {
		return nil, nil, nil
	}
	return rcpt, nil, err
}

// stepDepositMined waits for the venue to credit the mined deposit.
func (e *Executor) stepDepositMined(ctx context.Context, v Venue, rec *Record) (*Record, error) {
	r := rec.Intent.Route
	dep, err := v.FindDeposit(ctx, rec.srcKey(), rec.Deposit.TxHash)
	if errors.Is(err, venue.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch {
	case dep.Status == venue.DepositRejected:
		n := rec.to(events.StateNeedsAttention)
		n.FundsAt, n.Error = rec.fundsAt(events.StateDepositMined), "venue rejected the deposit: "+dep.Raw
		return n, nil
	case dep.Status == venue.DepositCredited:
		n := rec.to(events.StateDepositCredited)
		n.Deposit.Credited = events.NewAmount(dep.Amount.Rescale(r.SrcDecimals, venue.Down).Units)
		return n, nil
	case dep.Wait != venue.WaitNone:
		return rec.waiting(string(dep.Wait)), nil
	}
	return nil, nil
}

// stepMakeTradable moves the credit to the wallet the venue trades and withdraws from.
func (e *Executor) stepMakeTradable(ctx context.Context, x *stepEnv, v Venue, rec *Record) (*Record, error) {
	r := rec.Intent.Route
	if err := x.effect("make-tradable"); err != nil {
		return nil, err
	}
	w, err := v.MakeTradable(ctx, r.SrcToken, venue.NewAmount(rec.Deposit.Credited.Big(), r.SrcDecimals))
	if err := x.after("make-tradable"); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	switch w {
	case venue.WaitNone:
		return rec.to(events.StateTransferred), nil
	case venue.WaitInsufficient:
		return nil, nil // the credit has not reached a wallet yet: look again
	default:
		return rec.waiting(string(w)), nil
	}
}

// skipTrade records a same-asset route's "trade": what was credited is what will be withdrawn, in
// the destination's decimals.
func (rec *Record) skipTrade() *Record {
	r := rec.Intent.Route
	n := rec.to(events.StateOrderFilled)
	in := venue.NewAmount(rec.Deposit.Credited.Big(), r.SrcDecimals)
	n.Order.Received = events.NewAmount(in.Rescale(r.DstDecimals, venue.Down).Units)
	return n
}

// stepOrderPlaced looks the placed order up by its derived id until the venue reports it.
func (e *Executor) stepOrderPlaced(ctx context.Context, v Venue, rec *Record) (*Record, error) {
	o, err := v.FindOrder(ctx, rec.Intent.ID, stepOrder)
	if errors.Is(err, venue.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return rec.afterOrder(o)
}

// beforeDeposit is what every route does before signing its first chain transaction: past the
// intent's deadline it abandons (nothing has left the account), a preflight that says wait records
// the wait, and otherwise it returns the venue's deposit address and the fresh withdrawal fee. A
// non-nil stop is the record to write instead of signing.
func (e *Executor) beforeDeposit(ctx context.Context, x *stepEnv, v Venue, rec *Record) (addr string, fee venue.Amount, stop *Record, err error) {
	if !e.d.Now().Before(rec.Intent.Deadline) {
		return "", fee, rec.abandon("intent deadline passed before the deposit"), nil
	}
	wait, fee, err := e.preflight(ctx, v, rec)
	if err != nil {
		return "", fee, nil, err
	}
	if wait != "" {
		x.log.Info().Str("wait", wait).Msg("preflight: waiting")
		return "", fee, rec.waiting(wait), nil
	}
	addr, err = v.DepositAddress(ctx, rec.srcKey())
	if err != nil {
		return "", fee, nil, fmt.Errorf("deposit address: %w", err)
	}
	if !common.IsHexAddress(addr) {
		return "", fee, nil, fmt.Errorf("deposit address %q is not an EVM address", addr)
	}
	return addr, fee, nil, nil
}

// stepAccepted runs the preflight with fresh venue reads, then signs the deposit (write-ahead).
func (e *Executor) stepAccepted(ctx context.Context, x *stepEnv, v Venue, rec *Record) (*Record, error) {
	r := rec.Intent.Route
	ts := &txStore{rdb: e.d.Redis, account: accountOf(rec)}
	if txr, ok, err := ts.LoadTx(ctx, rec.depositStepKey()); err != nil {
		return nil, err
	} else if ok {
		// Signed before a crash: the step is committed to that transaction.
		n := rec.to(events.StateDepositSigned)
		n.Deposit.StepKey, n.Deposit.TxHash = txr.StepKey, txr.Hash.Hex()
		return n, nil
	}
	addr, fee, stop, err := e.beforeDeposit(ctx, x, v, rec)
	if stop != nil || err != nil {
		return stop, err
	}
	src, _ := e.cfg.route(rec.Intent.Venue, r.SrcToken, r.SrcChain)
	sender, ok := e.d.Senders(r.SrcChain, accountOf(rec))
	if !ok {
		return nil, fmt.Errorf("no sender for chain %d", r.SrcChain)
	}
	if err := x.effect("sign-deposit"); err != nil {
		return nil, err
	}
	txr, err := sender.Prepare(ctx, rec.depositStepKey(),
		chain.TransferCall(common.HexToAddress(src.TokenAddress), common.HexToAddress(addr), rec.Intent.AmountIn.Big()))
	if err := x.after("sign-deposit"); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sign deposit: %w", err)
	}
	x.log.Info().Str("tx", txr.Hash.Hex()).Uint64("chain", r.SrcChain).Str("to", addr).Msg("deposit signed and recorded (write-ahead)")
	n := rec.to(events.StateDepositSigned)
	n.Deposit.StepKey, n.Deposit.Address, n.Deposit.TxHash = txr.StepKey, addr, txr.Hash.Hex()
	n.Withdraw.Fee = events.NewAmount(fee.Units)
	return n, nil
}

// preflight reads the venue fresh before the irreversible deposit: deposits open on the source
// network, withdrawals open on the destination network, the route feasible for the amount within
// the venue's limits, the quoted output at least minAmountOut and the cost within maxFee. It
// returns a wait reason when something is not right now, and the destination's withdrawal fee.
func (e *Executor) preflight(ctx context.Context, v Venue, rec *Record) (string, venue.Amount, error) {
	r := rec.Intent.Route
	routes, err := v.Routes(ctx)
	if err != nil {
		return "", venue.Amount{}, fmt.Errorf("preflight: routes: %w", err)
	}
	var src, dst *venue.Route
	for i := range routes {
		switch routes[i].Key() {
		case rec.srcKey():
			src = &routes[i]
		case rec.dstKey():
			dst = &routes[i]
		}
	}
	switch {
	case src == nil || dst == nil:
		return "route_unavailable", venue.Amount{}, nil
	case !src.DepositEnabled:
		return string(venue.WaitDepositSuspended), venue.Amount{}, nil
	case !dst.WithdrawEnabled:
		return string(venue.WaitWithdrawSuspended), venue.Amount{}, nil
	}
	cfgSrc, _ := e.cfg.route(rec.Intent.Venue, r.SrcToken, r.SrcChain)
	cfgDst, _ := e.cfg.route(rec.Intent.Venue, r.DstToken, r.DstChain)
	if !strings.EqualFold(src.TokenAddress, cfgSrc.TokenAddress) || !strings.EqualFold(dst.TokenAddress, cfgDst.TokenAddress) {
		return "token_contract_mismatch", venue.Amount{}, nil
	}
	// The account must hold the amount on the source chain (the relayer may have spent it since).
	c := e.d.Chains[r.SrcChain]
	head, err := c.HeadNumber(ctx)
	if err != nil {
		return "", venue.Amount{}, fmt.Errorf("preflight: head: %w", err)
	}
	bal, err := c.BalanceOf(ctx, head, common.HexToAddress(cfgSrc.TokenAddress), common.HexToAddress(rec.Intent.Account))
	if err != nil {
		return "", venue.Amount{}, fmt.Errorf("preflight: balance: %w", err)
	}
	if bal.Cmp(rec.Intent.AmountIn.Big()) < 0 {
		return "insufficient_chain_balance", venue.Amount{}, nil
	}
	q, err := v.Quote(ctx, rec.srcKey(), rec.dstKey(), venue.NewAmount(rec.Intent.AmountIn.Big(), r.SrcDecimals))
	if err != nil {
		return "", venue.Amount{}, fmt.Errorf("preflight: quote: %w", err)
	}
	minOut := venue.NewAmount(rec.Intent.MinAmountOut.Big(), r.DstDecimals)
	switch {
	case !q.Feasible:
		return "infeasible: " + q.Why, venue.Amount{}, nil
	case q.Out.Cmp(minOut) < 0:
		return "quote_below_min_out", venue.Amount{}, nil
	case q.Cost().Cmp(venue.NewAmount(rec.Intent.MaxFee.Big(), r.SrcDecimals)) > 0:
		return "over_fee_bound", venue.Amount{}, nil
	}
	return "", dst.Limits.WithdrawFee.Rescale(r.DstDecimals, venue.Up), nil
}

// stepOrder places the swap, recording the attempt first so that a restart looks the order up
// before any resubmission.
func (e *Executor) stepOrder(ctx context.Context, x *stepEnv, v Venue, rec *Record) (*Record, error) {
	r := rec.Intent.Route
	if a := rec.Attempt; a != nil && a.Step == stepOrder {
		o, err := v.FindOrder(ctx, rec.Intent.ID, stepOrder)
		if err == nil {
			return rec.afterOrder(o)
		}
		if !errors.Is(err, venue.ErrNotFound) {
			return nil, err
		}
		if e.d.Now().Sub(a.At) < e.cfg.ResubmitLag {
			return nil, nil // "absent" is not trusted yet: the venue's lookups may lag
		}
	}
	// The order must leave enough for the withdrawal fee on top of minAmountOut: read it fresh.
	fee, err := e.withdrawFee(ctx, v, rec)
	if err != nil {
		return nil, err
	}
	base, err := x.attempt(ctx, rec, stepOrder, "swap")
	if err != nil {
		return nil, err
	}
	minOut := new(big.Int).Add(rec.Intent.MinAmountOut.Big(), fee.Units)
	o, err := v.Swap(ctx, venue.SwapRequest{IntentID: rec.Intent.ID, Step: stepOrder, From: r.SrcToken, To: r.DstToken,
		In: venue.NewAmount(rec.Deposit.Credited.Big(), r.SrcDecimals), MinOut: venue.NewAmount(minOut, r.DstDecimals)})
	if err := x.after("swap"); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("swap: %w", err)
	}
	x.log.Info().Str("clientOrderId", o.ClientID).Str("status", string(o.Status)).Msg("order submitted")
	return base.afterOrder(o)
}

// withdrawFee is the destination network's withdrawal fee in destination decimals, rounded up.
func (e *Executor) withdrawFee(ctx context.Context, v Venue, rec *Record) (venue.Amount, error) {
	routes, err := v.Routes(ctx)
	if err != nil {
		return venue.Amount{}, fmt.Errorf("routes: %w", err)
	}
	for _, r := range routes {
		if r.Key() == rec.dstKey() {
			return r.Limits.WithdrawFee.Rescale(rec.Intent.Route.DstDecimals, venue.Up), nil
		}
	}
	return venue.Amount{}, fmt.Errorf("%w: no route for %s on chain %d", venue.ErrUnsupported, rec.Intent.Route.DstToken, rec.Intent.Route.DstChain)
}

// attempt records that the named venue call is about to be made (write-ahead for venue calls),
// after checking the lease, the kill switch and dry-run; it returns the record as written.
func (x *stepEnv) attempt(ctx context.Context, rec *Record, step, effect string) (*Record, error) {
	if err := x.allowed(effect); err != nil {
		return nil, err
	}
	n := rec.clone()
	n.Attempt = &Attempt{Step: step, At: x.e.d.Now()}
	if err := x.persist(ctx, n); err != nil {
		return nil, err
	}
	if err := x.e.fault("effect:" + effect + ":before"); err != nil {
		return nil, err
	}
	return x.base, nil
}

// afterOrder maps an order's venue status to the next record.
func (rec *Record) afterOrder(o venue.Order) (*Record, error) {
	r := rec.Intent.Route
	fill := func(st events.State) *Record {
		n := rec.to(st)
		n.Order.ClientID, n.Order.VenueID = o.ClientID, o.VenueID
		if o.Spent.Units != nil {
			n.Order.Spent = events.NewAmount(o.Spent.Rescale(r.SrcDecimals, venue.Up).Units)
		}
		if o.Received.Units != nil {
			n.Order.Received = events.NewAmount(o.Received.Rescale(r.DstDecimals, venue.Down).Units)
		}
		if o.Fee.Units != nil {
			n.Order.Fee, n.Order.FeeToken, n.Order.FeeDec = events.NewAmount(o.Fee.Units), o.FeeToken, o.Fee.Decimals
		}
		return n
	}
	switch o.Status {
	case venue.OrderOpen:
		if rec.State == events.StateOrderPlaced {
			return nil, nil
		}
		return fill(events.StateOrderPlaced), nil
	case venue.OrderFilled, venue.OrderPartial:
		if o.Received.Sign() <= 0 {
			break
		}
		return fill(events.StateOrderFilled), nil
	}
	if o.Wait != venue.WaitNone {
		return rec.waitingAfterCall(string(o.Wait)), nil
	}
	n := fill(events.StateNeedsAttention)
	n.FundsAt = rec.fundsAt(events.StateTransferred)
	n.Error = fmt.Sprintf("order %s ended %s without a fill: %s", o.ClientID, o.Status, o.Raw)
	return n, nil
}

// stepWithdraw withdraws what the order received to the account, which must be allowlisted,
// recording the attempt first; a withdrawal id is not de-duplicated by Binance, so it is looked up
// before every (re)submission.
func (e *Executor) stepWithdraw(ctx context.Context, x *stepEnv, v Venue, rec *Record) (*Record, error) {
	r := rec.Intent.Route
	if a := rec.Attempt; a != nil && a.Step == stepWithdraw {
		w, err := v.FindWithdrawal(ctx, rec.Intent.ID, stepWithdraw)
		if err == nil {
			return rec.afterWithdrawal(w)
		}
		if !errors.Is(err, venue.ErrNotFound) {
			return nil, err
		}
		if e.d.Now().Sub(a.At) < e.cfg.ResubmitLag {
			return nil, nil
		}
	}
	to, ok := e.allowlisted(rec.Intent.Account)
	if !ok {
		n := rec.to(events.StateNeedsAttention)
		n.FundsAt = rec.fundsAt(events.StateOrderFilled)
		n.Error = fmt.Sprintf("withdrawal destination %s is not allowlisted: refused", rec.Intent.Account)
		return n, nil
	}
	// Fresh limits: withdrawals may have been suspended since the preflight.
	routes, err := v.Routes(ctx)
	if err != nil {
		return nil, fmt.Errorf("withdraw: routes: %w", err)
	}
	var dst *venue.Route
	for i := range routes {
		if routes[i].Key() == rec.dstKey() {
			dst = &routes[i]
		}
	}
	if dst == nil || !dst.WithdrawEnabled {
		return rec.waiting(string(venue.WaitWithdrawSuspended)), nil
	}
	amount := rec.Order.Received.Big()
	if m := dst.Limits.WithdrawMultiple; m.Units != nil && m.Sign() > 0 {
		step := m.Rescale(r.DstDecimals, venue.Up).Units
		if step.Sign() > 0 {
			amount.Sub(amount, new(big.Int).Mod(amount, step))
		}
	}
	if min := dst.Limits.WithdrawMin; min.Units != nil && venue.NewAmount(amount, r.DstDecimals).Cmp(min) < 0 {
		n := rec.to(events.StateNeedsAttention)
		n.FundsAt = rec.fundsAt(events.StateOrderFilled)
		n.Error = fmt.Sprintf("received %s is below the withdrawal minimum %s", venue.NewAmount(amount, r.DstDecimals), min)
		return n, nil
	}
	base, err := x.attempt(ctx, rec, stepWithdraw, "withdraw")
	if err != nil {
		return nil, err
	}
	w, err := v.Withdraw(ctx, venue.WithdrawRequest{IntentID: rec.Intent.ID, Step: stepWithdraw, Route: rec.dstKey(),
		Address: to, Amount: venue.NewAmount(amount, r.DstDecimals)})
	if err := x.after("withdraw"); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("withdraw: %w", err)
	}
	x.log.Info().Str("withdrawOrderId", w.ClientID).Str("status", string(w.Status)).Str("to", to).Msg("withdrawal submitted")
	n, err := base.afterWithdrawal(w)
	if n != nil && n.Withdraw.Amount.Sign() == 0 {
		n.Withdraw.Amount = events.NewAmount(amount)
	}
	return n, err
}

// allowlisted returns the withdrawal destination if it is one of the relayer's own accounts.
func (e *Executor) allowlisted(account string) (string, bool) {
	a, ok := e.cfg.accounts[strings.ToLower(account)]
	if !ok {
		return "", false
	}
	return a.Hex(), true
}

// afterWithdrawal maps a withdrawal's venue status to the next record.
func (rec *Record) afterWithdrawal(w venue.Withdrawal) (*Record, error) {
	r := rec.Intent.Route
	set := func(st events.State) *Record {
		n := rec.to(st)
		n.Withdraw.ClientID, n.Withdraw.VenueID, n.Withdraw.TxHash = w.ClientID, w.VenueID, w.TxHash
		if w.Amount.Units != nil && w.Amount.Sign() > 0 {
			n.Withdraw.Net = events.NewAmount(w.Amount.Rescale(r.DstDecimals, venue.Down).Units)
			if w.Fee.Units != nil {
				n.Withdraw.Fee = events.NewAmount(w.Fee.Rescale(r.DstDecimals, venue.Up).Units)
				n.Withdraw.Amount = events.NewAmount(new(big.Int).Add(n.Withdraw.Net.Big(), n.Withdraw.Fee.Big()))
			}
			// The venue has said what the recipient gets: the credit is realized.
			n.leg(legDst).Amount = n.Withdraw.Net
		}
		return n
	}
	switch w.Status {
	case venue.WithdrawalPending:
		if rec.State == events.StateWithdrawRequested {
			return nil, nil
		}
		return set(events.StateWithdrawRequested), nil
	case venue.WithdrawalSent, venue.WithdrawalCompleted:
		if w.TxHash == "" {
			if rec.State == events.StateWithdrawRequested {
				return nil, nil
			}
			return set(events.StateWithdrawRequested), nil
		}
		return set(events.StateWithdrawSent), nil
	case venue.WithdrawalFailed:
		n := set(events.StateNeedsAttention)
		n.FundsAt = rec.fundsAt(events.StateOrderFilled)
		n.Error = fmt.Sprintf("withdrawal %s failed at the venue: %s", w.ClientID, w.Raw)
		return n, nil
	}
	if w.Wait != venue.WaitNone {
		return rec.waitingAfterCall(string(w.Wait)), nil
	}
	return nil, fmt.Errorf("withdrawal %s: unknown status %q", w.ClientID, w.Status)
}

// stepLanding finds the withdrawal on the destination chain: its receipt, and the Transfer to the
// account it carried, whose amount is the realized credit.
func (e *Executor) stepLanding(ctx context.Context, rec *Record) (*Record, error) {
	r := rec.Intent.Route
	block, got, found, err := e.landing(ctx, rec)
	if err != nil || !found {
		return nil, err
	}
	if got.Sign() == 0 {
		n := rec.to(events.StateNeedsAttention)
		n.Withdraw.Block = block // observed: the transaction is mined and carried nothing to us
		n.FundsAt = rec.fundsAt(events.StateWithdrawSent)
		n.Error = fmt.Sprintf("withdrawal tx %s in block %d carried no %s to %s", rec.Withdraw.TxHash, block, r.DstToken, rec.Intent.Account)
		return n, nil
	}
	n := rec.to(events.StateLanded)
	n.Withdraw.Block, n.Withdraw.Landed = block, events.NewAmount(got)
	l := n.leg(legDst)
	l.Amount, l.UntilBlock = events.NewAmount(got), block
	return n, nil
}

// landing looks the withdrawal transaction up on the destination chain: the block it is mined in
// and what it transferred to the account (zero for a reverted transaction); found is false while it
// is not mined.
func (e *Executor) landing(ctx context.Context, rec *Record) (block uint64, got *big.Int, found bool, err error) {
	r := rec.Intent.Route
	c := e.d.Chains[r.DstChain]
	hash := common.HexToHash(rec.Withdraw.TxHash)
	rcpt, err := c.Receipt(ctx, hash)
	if errors.Is(err, chain.ErrNotFound) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, err
	}
	block = rcpt.BlockNumber.Uint64()
	got = new(big.Int)
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return block, got, true, nil
	}
	dst, _ := e.cfg.route(rec.Intent.Venue, r.DstToken, r.DstChain)
	ts, err := c.Transfers(ctx, chain.TransferFilter{FromBlock: block, ToBlock: block,
		Tokens: []common.Address{common.HexToAddress(dst.TokenAddress)}, To: []common.Address{common.HexToAddress(rec.Intent.Account)}})
	if err != nil {
		return 0, nil, false, err
	}
	for _, t := range ts {
		if t.TxHash == hash {
			got.Add(got, t.Amount)
		}
	}
	return block, got, true, nil
}

// observe keeps the ledger true for an intent that needs attention: no new side effect runs, but
// the transactions it signed are rebroadcast until mined or dead (settle: their nonces would
// otherwise stall the account's later transactions), and a deposit that gets mined or a
// withdrawal that lands is still recorded on its leg, so readers and asOf stay exact. It returns
// the record to write (nil when nothing changed) and whether anything is still to be observed.
func (e *Executor) observe(ctx context.Context, rec *Record) (*Record, bool, error) {
	r := rec.Intent.Route
	n := rec.clone()
	changed, waiting := false, false
	if src := n.leg(legSrc); src != nil && src.UntilBlock == 0 {
		// The approve first (its nonce is below the deposit's): both are rebroadcast until mined.
		if done, err := e.approveSettled(ctx, rec); err != nil {
			return nil, true, err
		} else if !done {
			waiting = true
		}
		txr, ok, err := (&txStore{rdb: e.d.Redis, account: accountOf(rec)}).LoadTx(ctx, rec.depositStepKey())
		if err != nil {
			return nil, true, err
		}
		if ok {
			rcpt, dead, err := e.settle(ctx, rec, txr, stepDeposit)
			switch {
			case err != nil:
				return nil, true, err
			case dead:
				// Another transaction took its nonce: it can never be mined. The legs stay for the
				// operator, who settles the intent.
			case rcpt == nil:
				waiting = true
			case rcpt.Status == types.ReceiptStatusSuccessful:
				src.UntilBlock, n.Deposit.Block, n.Deposit.TxHash = rcpt.BlockNumber.Uint64(), rcpt.BlockNumber.Uint64(), txr.Hash.Hex()
				changed = true
			default:
				// Reverted: nothing left the account, and nothing can arrive.
				n.Legs, n.Deposit.TxHash = nil, txr.Hash.Hex()
				n.Error += "; deposit reverted: nothing left the account"
				return n, false, nil
			}
		}
	}
	if dst := n.leg(legDst); dst != nil && dst.UntilBlock == 0 && n.Withdraw.Block == 0 && rec.Intent.Venue == events.VenueHyperliquid {
		if rec.mayHaveWithdrawn() {
			c, w, err := e.hlObserve(ctx, n)
			if err != nil {
				return nil, true, err
			}
			changed, waiting = changed || c, waiting || w
		}
	} else if dst != nil && dst.UntilBlock == 0 && n.Withdraw.Block == 0 {
		if n.Withdraw.TxHash == "" && rec.mayHaveWithdrawn() {
			w, err := e.d.Venues[rec.Intent.Venue].FindWithdrawal(ctx, rec.Intent.ID, stepWithdraw)
			switch {
			case errors.Is(err, venue.ErrNotFound):
				waiting = true
			case err != nil:
				return nil, true, err
			case w.TxHash != "":
				n.Withdraw.TxHash, n.Withdraw.ClientID = w.TxHash, w.ClientID
				changed = true
			case w.Status != venue.WithdrawalFailed:
				waiting = true
			}
		}
		if n.Withdraw.TxHash != "" {
			block, got, found, err := e.landing(ctx, n)
			switch {
			case err != nil:
				return nil, true, err
			case !found:
				waiting = true
			default:
				n.Withdraw.Block, n.Withdraw.Landed = block, events.NewAmount(got)
				if got.Sign() > 0 {
					dst.Amount, dst.UntilBlock = events.NewAmount(got), block
				}
				changed = true
			}
		}
	}
	if !changed {
		return nil, waiting, nil
	}
	n.FundsAt = rec.FundsAt
	if n.Withdraw.Block != 0 && n.Withdraw.Landed.Sign() > 0 {
		n.FundsAt = fmt.Sprintf("chain %d: %s landed in block %d", r.DstChain, r.DstToken, n.Withdraw.Block)
	}
	return n, waiting, nil
}

package executor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// stepApprove names the approve that precedes a CoreDepositWallet deposit (step key
// <intent id>:approve); the deposit itself keeps <intent id>:deposit.
const stepApprove = "approve"

// hlVenue is what the Hyperliquid route needs beyond Venue (*hyperliquid.Venue): whether a deposit
// goes through CoreDepositWallet (approve, then deposit) and who sends a withdrawal's payout on the
// destination chain, since the venue reports no chain transaction for it.
type hlVenue interface {
	Venue
	ViaDepositWallet(ctx context.Context, route venue.Key) (bool, error)
	CoreDepositWallet() common.Address
	ArbitrumChainID() uint64
	PayoutSender(ctx context.Context, route venue.Key) (string, error)
}

func (rec *Record) approveStepKey() string { return rec.Intent.ID + ":" + stepApprove }

// hlStep is the Hyperliquid route's state machine:
//
//	accepted → deposit_signed → deposit_mined → deposit_credited → transferred → [order_placed →]
//	order_filled → withdraw_requested → landed → completed
//
// deposit_signed covers the approve and the deposit of HyperEVM USDC (CoreDepositWallet), each its
// own write-ahead transaction; withdraw_requested lasts until the payout's Transfer is found on the
// destination chain (there is no withdraw_sent: the venue never names the transaction).
func (e *Executor) hlStep(ctx context.Context, x *stepEnv, rec *Record) (*Record, error) {
	v, ok := e.d.Venues[rec.Intent.Venue].(hlVenue)
	if !ok {
		return nil, fmt.Errorf("venue %s lacks the Hyperliquid route's look-ups", rec.Intent.Venue)
	}
	r := rec.Intent.Route
	switch stateOf(rec) {
	case events.StateAccepted:
		return e.hlAccepted(ctx, x, v, rec)

	case events.StateDepositSigned:
		if rec.Deposit.TxHash == "" {
			return e.hlApproved(ctx, x, v, rec)
		}
		return e.stepDepositSigned(ctx, x, rec)

	case events.StateDepositMined:
		return e.stepDepositMined(ctx, v, rec)

	case events.StateDepositCredited:
		return e.stepMakeTradable(ctx, x, v, rec)

	case events.StateTransferred:
		if r.SrcToken == r.DstToken {
			return rec.skipTrade(), nil
		}
		if rec.Attempt == nil {
			// Spot and perp USDC are one pool shared by the account's intents: make sure spot
			// holds this credit right before the order (level-triggered, so repeating is harmless).
			if w, err := e.hlTradable(ctx, x, v, r.SrcToken, venue.NewAmount(rec.Deposit.Credited.Big(), r.SrcDecimals)); err != nil || w == venue.WaitInsufficient {
				return nil, err
			}
		}
		return e.stepOrder(ctx, x, v, rec)

	case events.StateOrderPlaced:
		return e.stepOrderPlaced(ctx, v, rec)

	case events.StateOrderFilled:
		if _, ok := e.allowlisted(rec.Intent.Account); !ok {
			return e.stepWithdraw(ctx, x, v, rec) // refuses it, before any side effect
		}
		if rec.Attempt == nil {
			if rec.Withdraw.Since == 0 {
				// The landing is found by its block: remember the head before anything is sent.
				head, err := e.d.Chains[r.DstChain].HeadNumber(ctx)
				if err != nil {
					return nil, fmt.Errorf("withdraw: head of chain %d: %w", r.DstChain, err)
				}
				n := rec.clone()
				n.Withdraw.Since = head
				rec = n
			}
			if r.DstChain != v.ArbitrumChainID() {
				// spotSend pays from spot: move a perp shortfall first (withdraw3's own move to
				// perp is the adapter's).
				if _, err := e.hlTradable(ctx, x, v, r.DstToken, venue.NewAmount(rec.Order.Received.Big(), r.DstDecimals)); err != nil {
					return nil, err
				}
			}
		}
		return e.stepWithdraw(ctx, x, v, rec)

	case events.StateWithdrawRequested:
		return e.hlLanding(ctx, v, rec)

	case events.StateLanded:
		return rec.to(events.StateCompleted), nil
	}
	return nil, fmt.Errorf("no Hyperliquid step from state %s", rec.State)
}

// hlTradable runs MakeTradable as a guard before a venue call that draws on spot; only HyperEVM
// withdrawals need it among withdrawals (withdraw3 draws on perp).
func (e *Executor) hlTradable(ctx context.Context, x *stepEnv, v Venue, token string, amount venue.Amount) (venue.Wait, error) {
	if err := x.effect("make-tradable"); err != nil {
		return venue.WaitNone, err
	}
	w, err := v.MakeTradable(ctx, token, amount)
	if err := x.after("make-tradable"); err != nil {
		return venue.WaitNone, err
	}
	return w, err
}

// hlAccepted runs the preflight and signs the first chain transaction (write-ahead): the approve for
// HyperEVM USDC, otherwise the deposit transfer (Bridge2 on Arbitrum, the token's system address on
// HyperEVM).
func (e *Executor) hlAccepted(ctx context.Context, x *stepEnv, v hlVenue, rec *Record) (*Record, error) {
	r := rec.Intent.Route
	ts := &txStore{rdb: e.d.Redis, account: accountOf(rec)}
	// Signed before a crash: the step is committed to those transactions.
	dep, okDep, err := ts.LoadTx(ctx, rec.depositStepKey())
	if err != nil {
		return nil, err
	}
	app, okApp, err := ts.LoadTx(ctx, rec.approveStepKey())
	if err != nil {
		return nil, err
	}
	if okDep || okApp {
		addr, err := v.DepositAddress(ctx, rec.srcKey())
		if err != nil {
			return nil, fmt.Errorf("deposit address: %w", err)
		}
		n := rec.to(events.StateDepositSigned)
		n.Deposit.StepKey, n.Deposit.Address = rec.depositStepKey(), addr
		if okApp {
			n.Deposit.ApproveTx = app.Hash.Hex()
		}
		if okDep {
			n.Deposit.TxHash = dep.Hash.Hex()
		}
		return n, nil
	}
	addr, fee, stop, err := e.beforeDeposit(ctx, x, v, rec)
	if stop != nil || err != nil {
		return stop, err
	}
	via, err := v.ViaDepositWallet(ctx, rec.srcKey())
	if err != nil {
		return nil, err
	}
	src, _ := e.cfg.route(rec.Intent.Venue, r.SrcToken, r.SrcChain)
	token := common.HexToAddress(src.TokenAddress)
	sender, ok := e.d.Senders(r.SrcChain, accountOf(rec))
	if !ok {
		return nil, fmt.Errorf("no sender for chain %d", r.SrcChain)
	}
	n := rec.to(events.StateDepositSigned)
	n.Deposit.StepKey, n.Deposit.Address = rec.depositStepKey(), addr
	n.Withdraw.Fee = events.NewAmount(fee.Units)
	if !via {
		if err := x.effect("sign-deposit"); err != nil {
			return nil, err
		}
		txr, err := sender.Prepare(ctx, rec.depositStepKey(), chain.TransferCall(token, common.HexToAddress(addr), rec.Intent.AmountIn.Big()))
		if err := x.after("sign-deposit"); err != nil {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("sign deposit: %w", err)
		}
		x.log.Info().Str("tx", txr.Hash.Hex()).Uint64("chain", r.SrcChain).Str("to", addr).Msg("deposit signed and recorded (write-ahead)")
		n.Deposit.TxHash = txr.Hash.Hex()
		return n, nil
	}
	// approve sets the allowance, it does not add to it: while another intent's approve waits for
	// its deposit to be signed, a second approve would take its allowance away.
	if busy, err := e.gatewayBusy(ctx, rec); err != nil || busy != "" {
		if busy != "" {
			x.log.Info().Str("busy", busy).Msg("CoreDepositWallet approve of another intent pending: waiting")
			return rec.waiting("deposit_wallet_busy"), nil
		}
		return nil, err
	}
	if err := x.effect("sign-approve"); err != nil {
		return nil, err
	}
	txr, err := sender.Prepare(ctx, rec.approveStepKey(), chain.ApproveCall(token, common.HexToAddress(addr), rec.Intent.AmountIn.Big()))
	if err := x.after("sign-approve"); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sign approve: %w", err)
	}
	x.log.Info().Str("tx", txr.Hash.Hex()).Uint64("chain", r.SrcChain).Str("spender", addr).Msg("approve signed and recorded (write-ahead)")
	n.Deposit.ApproveTx = txr.Hash.Hex()
	return n, nil
}

// gatewayBusy names another open Hyperliquid intent of the account on the same chain and token whose
// approve is signed but whose deposit is not: signing its deposit first keeps the nonces (and so
// the on-chain order) approve₁ < deposit₁ < approve₂ < deposit₂.
func (e *Executor) gatewayBusy(ctx context.Context, rec *Record) (string, error) {
	account := accountOf(rec)
	ids, err := e.d.Redis.SMembers(ctx, openKey(account)).Result()
	if err != nil {
		return "", err
	}
	ts := &txStore{rdb: e.d.Redis, account: account}
	for _, id := range ids {
		if id == rec.Intent.ID {
			continue
		}
		b, _, err := e.w.Intent(ctx, account, id)
		if err != nil {
			continue
		}
		o, err := decodeRecord(b)
		if err != nil || o.Intent.Venue != rec.Intent.Venue || o.Intent.Route.SrcChain != rec.Intent.Route.SrcChain ||
			o.Intent.Route.SrcToken != rec.Intent.Route.SrcToken || o.State.Terminal() {
			continue
		}
		if _, ok, err := ts.LoadTx(ctx, o.approveStepKey()); err != nil {
			return "", err
		} else if !ok {
			continue
		}
		if _, ok, err := ts.LoadTx(ctx, o.depositStepKey()); err != nil {
			return "", err
		} else if !ok {
			return id, nil
		}
	}
	return "", nil
}

// hlApproved drives the approve until it is mined, then signs the CoreDepositWallet deposit
// (write-ahead, its own step key). The record stays deposit_signed, now naming the deposit.
func (e *Executor) hlApproved(ctx context.Context, x *stepEnv, v hlVenue, rec *Record) (*Record, error) {
	r := rec.Intent.Route
	ts := &txStore{rdb: e.d.Redis, account: accountOf(rec)}
	if txr, ok, err := ts.LoadTx(ctx, rec.depositStepKey()); err != nil {
		return nil, err
	} else if ok {
		n := rec.to(events.StateDepositSigned)
		n.Deposit.TxHash = txr.Hash.Hex()
		return n, nil
	}
	app, ok, err := ts.LoadTx(ctx, rec.approveStepKey())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("approve %s recorded as signed but its write-ahead record is missing", rec.Deposit.ApproveTx)
	}
	rcpt, berr, err := e.mined(ctx, x, rec, app, "approve")
	switch {
	case err != nil:
		return nil, err
	case errors.Is(berr, chain.ErrNonceConsumed):
		// No deposit was signed: nothing can leave the account.
		return rec.abandon("approve " + app.Hash.Hex() + ": " + berr.Error()), nil
	case berr != nil:
		return nil, berr
	case rcpt == nil:
		return nil, nil
	case rcpt.Status != types.ReceiptStatusSuccessful:
		return rec.abandon(fmt.Sprintf("approve tx %s reverted in block %s: nothing left the account", app.Hash.Hex(), rcpt.BlockNumber)), nil
	}
	wallet := v.CoreDepositWallet()
	if wallet == (common.Address{}) || !strings.EqualFold(wallet.Hex(), rec.Deposit.Address) {
		return nil, fmt.Errorf("CoreDepositWallet %s is not the approved spender %s", wallet.Hex(), rec.Deposit.Address)
	}
	sender, ok := e.d.Senders(r.SrcChain, accountOf(rec))
	if !ok {
		return nil, fmt.Errorf("no sender for chain %d", r.SrcChain)
	}
	if err := x.effect("sign-deposit"); err != nil {
		return nil, err
	}
	txr, err := sender.Prepare(ctx, rec.depositStepKey(), chain.Call{To: wallet, Data: hyperliquid.DepositCalldata(rec.Intent.AmountIn.Big(), hyperliquid.SpotDex)})
	if err := x.after("sign-deposit"); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sign deposit: %w", err)
	}
	x.log.Info().Str("tx", txr.Hash.Hex()).Uint64("chain", r.SrcChain).Str("to", wallet.Hex()).Msg("CoreDepositWallet deposit signed and recorded (write-ahead)")
	n := rec.to(events.StateDepositSigned)
	n.Deposit.TxHash = txr.Hash.Hex()
	return n, nil
}

// hlLanding finds the withdrawal's payout on the destination chain and records it: the landed
// amount and block on the destination credit.
func (e *Executor) hlLanding(ctx context.Context, v hlVenue, rec *Record) (*Record, error) {
	t, found, err := e.findLanding(ctx, v, rec)
	if err != nil || !found {
		return nil, err
	}
	n := rec.to(events.StateLanded)
	n.Withdraw.TxHash, n.Withdraw.Block, n.Withdraw.Landed = t.TxHash.Hex(), t.Block, events.NewAmount(t.Amount)
	l := n.leg(legDst)
	l.Amount, l.UntilBlock = events.NewAmount(t.Amount), t.Block
	return n, nil
}

// findLanding looks for the withdrawal's payout among the destination chain's Transfer logs: the
// destination token, from the venue's payout sender, to the account, of exactly the venue's net
// amount, in a block after the head read before the withdrawal was requested. Two intents may wait
// for equal payouts: each log is claimed by one intent (a Redis HSETNX, kept), and an intent takes a
// log it claimed before (a crash between the claim and the record) before any free one.
func (e *Executor) findLanding(ctx context.Context, v hlVenue, rec *Record) (chain.Transfer, bool, error) {
	r := rec.Intent.Route
	if rec.Withdraw.Net.Sign() <= 0 {
		return chain.Transfer{}, false, fmt.Errorf("withdrawal %s: the venue's net amount is not recorded", rec.Withdraw.ClientID)
	}
	from, err := v.PayoutSender(ctx, rec.dstKey())
	if err != nil {
		return chain.Transfer{}, false, fmt.Errorf("payout sender: %w", err)
	}
	dst, ok := e.cfg.route(rec.Intent.Venue, r.DstToken, r.DstChain)
	if !ok {
		return chain.Transfer{}, false, fmt.Errorf("no route for %s on chain %d", r.DstToken, r.DstChain)
	}
	c := e.d.Chains[r.DstChain]
	head, err := c.HeadNumber(ctx)
	if err != nil {
		return chain.Transfer{}, false, err
	}
	if head <= rec.Withdraw.Since {
		return chain.Transfer{}, false, nil
	}
	ts, err := c.Transfers(ctx, chain.TransferFilter{FromBlock: rec.Withdraw.Since + 1, ToBlock: head,
		Tokens: []common.Address{common.HexToAddress(dst.TokenAddress)}, From: []common.Address{common.HexToAddress(from)},
		To: []common.Address{common.HexToAddress(rec.Intent.Account)}})
	if err != nil {
		return chain.Transfer{}, false, err
	}
	var cands []chain.Transfer
	var fields []string
	for _, t := range ts {
		if t.Amount.Cmp(rec.Withdraw.Net.Big()) == 0 {
			cands = append(cands, t)
			fields = append(fields, landingField(r.DstChain, t))
		}
	}
	if len(cands) == 0 {
		return chain.Transfer{}, false, nil
	}
	key := landingsKey(accountOf(rec))
	owners, err := e.d.Redis.HMGet(ctx, key, fields...).Result()
	if err != nil {
		return chain.Transfer{}, false, err
	}
	for i, o := range owners {
		if s, _ := o.(string); s == rec.Intent.ID {
			return cands[i], true, nil
		}
	}
	for i, o := range owners {
		if o != nil {
			continue
		}
		won, err := e.d.Redis.HSetNX(ctx, key, fields[i], rec.Intent.ID).Result()
		if err != nil {
			return chain.Transfer{}, false, err
		}
		if won {
			return cands[i], true, nil
		}
		if s, err := e.d.Redis.HGet(ctx, key, fields[i]).Result(); err == nil && s == rec.Intent.ID {
			return cands[i], true, nil
		} else if err != nil && !errors.Is(err, redis.Nil) {
			return chain.Transfer{}, false, err
		}
	}
	return chain.Transfer{}, false, nil
}

func landingField(chainID uint64, t chain.Transfer) string {
	return strconv.FormatUint(chainID, 10) + ":" + strings.ToLower(t.TxHash.Hex()) + ":" + strconv.FormatUint(uint64(t.LogIndex), 10)
}

// hlObserve keeps looking for the landing of a withdrawal an intent in needs_attention may have
// made: the venue's record gives the net amount, the chain's logs the landing. It reports whether
// n changed and whether anything is still to be observed.
func (e *Executor) hlObserve(ctx context.Context, n *Record) (changed, waiting bool, err error) {
	v, ok := e.d.Venues[n.Intent.Venue].(hlVenue)
	if !ok {
		return false, false, nil
	}
	if n.Withdraw.Net.Sign() == 0 {
		w, err := v.FindWithdrawal(ctx, n.Intent.ID, stepWithdraw)
		switch {
		case errors.Is(err, venue.ErrNotFound):
			return false, true, nil
		case err != nil:
			return false, true, err
		case w.Status == venue.WithdrawalFailed || w.Amount.Units == nil || w.Amount.Sign() <= 0:
			return false, false, nil
		}
		n.Withdraw.ClientID, n.Withdraw.VenueID = w.ClientID, w.VenueID
		n.Withdraw.Net = events.NewAmount(w.Amount.Rescale(n.Intent.Route.DstDecimals, venue.Down).Units)
		n.leg(legDst).Amount = n.Withdraw.Net
		changed = true
	}
	t, found, err := e.findLanding(ctx, v, n)
	if err != nil {
		return changed, true, err
	}
	if !found {
		return changed, true, nil
	}
	n.Withdraw.TxHash, n.Withdraw.Block, n.Withdraw.Landed = t.TxHash.Hex(), t.Block, events.NewAmount(t.Amount)
	l := n.leg(legDst)
	l.Amount, l.UntilBlock = events.NewAmount(t.Amount), t.Block
	return true, false, nil
}

// hlFundsAt says where a Hyperliquid intent's funds are in a state, for needs_attention.
func (rec *Record) hlFundsAt(st events.State) (string, bool) {
	r := rec.Intent.Route
	wallet := "spot"
	if r.SrcToken == "USDC" && rec.Deposit.ApproveTx == "" {
		wallet = "perp" // USDC without an approve came through Bridge2, which credits perp
	}
	switch st {
	case events.StateDepositSigned:
		if rec.Deposit.TxHash == "" {
			return fmt.Sprintf("chain %d: %s never left the account (approve tx %s signed, no deposit signed)", r.SrcChain, r.SrcToken, rec.Deposit.ApproveTx), true
		}
	case events.StateDepositMined:
		return fmt.Sprintf("in flight to HyperCore: deposit of %s (tx %s on chain %d) not yet credited", r.SrcToken, rec.Deposit.TxHash, r.SrcChain), true
	case events.StateDepositCredited:
		return fmt.Sprintf("HyperCore %s: %s credited (deposit tx %s)", wallet, r.SrcToken, rec.Deposit.TxHash), true
	case events.StateTransferred:
		return fmt.Sprintf("HyperCore spot: %s credited (deposit tx %s)", r.SrcToken, rec.Deposit.TxHash), true
	case events.StateOrderPlaced:
		return fmt.Sprintf("HyperCore spot: order %s (%s → %s)", rec.Order.ClientID, r.SrcToken, r.DstToken), true
	case events.StateOrderFilled:
		return fmt.Sprintf("HyperCore spot/perp: %s %s to withdraw to chain %d", rec.Order.Received, r.DstToken, r.DstChain), true
	case events.StateWithdrawRequested, events.StateWithdrawSent:
		return fmt.Sprintf("in flight to chain %d: %s withdrawal %s (venue nonce %s, net %s) requested; its Transfer not yet found",
			r.DstChain, r.DstToken, rec.Withdraw.ClientID, rec.Withdraw.VenueID, rec.Withdraw.Net), true
	}
	return "", false
}

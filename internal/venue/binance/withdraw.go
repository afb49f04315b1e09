package binance

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	bn "github.com/adshao/go-binance/v2"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// Binance withdrawal statuses.
const (
	withdrawEmailSent = 0
	withdrawCancelled = 1
	withdrawAwaiting  = 2
	withdrawRejected  = 3
	withdrawProcess   = 4
	withdrawFailure   = 5
	withdrawCompleted = 6
)

// Withdraw implements venue.Withdrawer (POST /sapi/v1/capital/withdraw/apply, always with the
// network). withdrawOrderId is ClientID(intent, step). Binance does not de-duplicate it, so the
// withdrawal history is searched by it first and an existing withdrawal is returned instead of a
// second one. Before submitting, the coin's network config is read fresh: withdrawals disabled →
// WaitWithdrawSuspended; the amount is rounded down to withdrawIntegerMultiple and checked against
// withdrawMin/withdrawMax (ErrInvalidAmount). Known answers are waits, not errors: -4019 suspended,
// -4026/-2010 funds not (yet) withdrawable (a deposit not unlocked) → WaitInsufficient, 429 →
// WaitRateLimited. An ambiguous answer is followed by lookups for LookupLag, then ErrUnknownOutcome.
//
// A returned Withdrawal with an empty Status and a Wait means nothing was submitted.
func (c *Client) Withdraw(ctx context.Context, req venue.WithdrawRequest) (venue.Withdrawal, error) {
	wid, err := ClientID(req.IntentID, req.Step)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	if w, err := c.findWithdrawal(ctx, wid); err == nil || !errors.Is(err, venue.ErrNotFound) {
		return w, err
	}
	n, t, err := c.networkOf(req.Route)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	route, err := c.route(ctx, req.Route)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	pending := venue.Withdrawal{ClientID: wid, Route: req.Route, Address: req.Address}
	if !route.WithdrawEnabled {
		pending.Wait = venue.WaitWithdrawSuspended
		return pending, nil
	}
	if req.Amount.Units == nil || req.Amount.Sign() <= 0 {
		return venue.Withdrawal{}, fmt.Errorf("withdraw %s: %w", wid, venue.ErrInvalidAmount)
	}
	amt := truncTo8(req.Amount.Rat())
	if m := route.Limits.WithdrawMultiple; m.Units != nil && m.Sign() > 0 {
		amt = floorTo(amt, m.Rat())
	}
	if amt.Cmp(route.Limits.WithdrawMin.Rat()) < 0 {
		return venue.Withdrawal{}, fmt.Errorf("withdraw %s: %w: %s below withdrawMin %s", wid, venue.ErrInvalidAmount, dec(amt), route.Limits.WithdrawMin)
	}
	if mx := route.Limits.WithdrawMax; mx.Units != nil && amt.Cmp(mx.Rat()) > 0 {
		return venue.Withdrawal{}, fmt.Errorf("withdraw %s: %w: %s above withdrawMax %s", wid, venue.ErrInvalidAmount, dec(amt), mx)
	}
	var res *bn.CreateWithdrawResponse
	err = c.write(ctx, "withdraw "+wid, func(l *bn.Client) (err error) {
		res, err = l.NewCreateWithdrawService().Coin(t.Coin).Network(n.Name).Address(req.Address).
			Amount(dec(amt)).WithdrawOrderID(wid).Do(ctx, c.recvWindow())
		return err
	})
	switch {
	case err == nil:
		c.cfg.Log.Info().Str("intent", req.IntentID).Str("withdrawOrderId", wid).Str("id", res.ID).
			Str("coin", t.Coin).Str("network", n.Name).Str("amount", dec(amt)).Msg("binance withdrawal requested")
		if w, err := c.findWithdrawal(ctx, wid); err == nil {
			return w, nil
		}
		// The history can trail the answer: report what we know.
		pending.VenueID, pending.Status = res.ID, venue.WithdrawalPending
		pending.Amount = mustAmount(new(big.Rat).Sub(amt, route.Limits.WithdrawFee.Rat()), t.Decimals)
		pending.Fee = route.Limits.WithdrawFee
		return pending, nil
	case errors.Is(err, venue.ErrUnknownOutcome):
		c.cfg.Log.Warn().Err(err).Str("intent", req.IntentID).Str("withdrawOrderId", wid).Msg("binance withdrawal outcome unknown; looking it up")
		return lookupAfterAmbiguity(ctx, c, err, func() (venue.Withdrawal, error) { return c.findWithdrawal(ctx, wid) })
	case errors.Is(err, ErrRateLimited):
		pending.Wait = venue.WaitRateLimited
		var rl *RateLimitError
		if errors.As(err, &rl) {
			pending.Until = rl.Until
		}
		return pending, nil
	}
	switch apiCode(err) {
	case -4019:
		pending.Wait = venue.WaitWithdrawSuspended
		return pending, nil
	case -4026, -2010:
		pending.Wait = venue.WaitInsufficient
		return pending, nil
	case -4020, -4021, -4022:
		return venue.Withdrawal{}, fmt.Errorf("withdraw %s: %w: %w", wid, venue.ErrInvalidAmount, err)
	}
	if apiCode(err) != 0 {
		return venue.Withdrawal{}, fmt.Errorf("withdraw %s: %w: %w", wid, venue.ErrRejected, err)
	}
	return venue.Withdrawal{}, err
}

// FindWithdrawal implements venue.Withdrawer (GET /sapi/v1/capital/withdraw/history by
// withdrawOrderId; Binance searches the last 7 days for it). Heavy: poll it sparingly.
func (c *Client) FindWithdrawal(ctx context.Context, intentID, step string) (venue.Withdrawal, error) {
	wid, err := ClientID(intentID, step)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	return c.findWithdrawal(ctx, wid)
}

func (c *Client) findWithdrawal(ctx context.Context, wid string) (venue.Withdrawal, error) {
	var list []*bn.Withdraw
	if err := c.read(ctx, "withdraw history "+wid, func(l *bn.Client) (err error) {
		list, err = l.NewListWithdrawsService().WithdrawOrderId(wid).Do(ctx, c.recvWindow())
		return err
	}); err != nil {
		return venue.Withdrawal{}, err
	}
	var found []*bn.Withdraw
	for _, w := range list {
		if w.WithdrawOrderID == wid {
			found = append(found, w)
		}
	}
	if len(found) == 0 {
		return venue.Withdrawal{}, fmt.Errorf("withdrawal %s: %w", wid, venue.ErrNotFound)
	}
	if len(found) > 1 {
		// Two withdrawals under one id mean someone resubmitted without looking: say so loudly.
		c.cfg.Log.Error().Str("withdrawOrderId", wid).Int("count", len(found)).Msg("binance holds several withdrawals with one withdrawOrderId")
	}
	w := found[0]
	var net Network
	var tok Token
	for _, n := range c.cfg.Networks {
		if n.Name != w.Network {
			continue
		}
		for _, t := range n.Tokens {
			if t.Coin == w.Coin {
				net, tok = n, t
			}
		}
	}
	if net.Name == "" {
		return venue.Withdrawal{}, fmt.Errorf("withdrawal %s on %s/%s: %w", wid, w.Coin, w.Network, venue.ErrUnsupported)
	}
	amt, err := venue.ParseAmountRounded(w.Amount, tok.Decimals, venue.Down)
	if err != nil {
		return venue.Withdrawal{}, fmt.Errorf("withdrawal %s amount: %w", wid, err)
	}
	fee, err := venue.ParseAmountRounded(w.TransactionFee, tok.Decimals, venue.Up)
	if err != nil {
		return venue.Withdrawal{}, fmt.Errorf("withdrawal %s fee: %w", wid, err)
	}
	out := venue.Withdrawal{ClientID: wid, VenueID: w.ID, Route: venue.Key{Token: tok.Symbol, ChainID: net.ChainID},
		Address: w.Address, Amount: amt, Fee: fee, TxHash: normalizeTx(w.TxID), Raw: fmt.Sprint(w.Status)}
	switch w.Status {
	case withdrawCompleted:
		out.Status = venue.WithdrawalCompleted
	case withdrawCancelled, withdrawRejected, withdrawFailure:
		out.Status = venue.WithdrawalFailed
	default: // email sent, awaiting approval, processing
		out.Status = venue.WithdrawalPending
		if out.TxHash != "" {
			out.Status = venue.WithdrawalSent
		}
	}
	if w.Info != "" {
		out.Raw += ": " + w.Info
	}
	return out, nil
}

// normalizeTx drops Binance's "Internal transfer" markers and lower-cases hashes.
func normalizeTx(tx string) string {
	tx = strings.TrimSpace(tx)
	if !strings.HasPrefix(tx, "0x") {
		return ""
	}
	return strings.ToLower(tx)
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms) }

var _ = []int{withdrawEmailSent, withdrawAwaiting, withdrawProcess}

// Compile-time check: Client is a venue.Venue.
var _ venue.Venue = (*Client)(nil)

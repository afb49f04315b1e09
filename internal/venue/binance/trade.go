package binance

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"

	bn "github.com/adshao/go-binance/v2"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// Swap implements venue.Trader on the spot symbol. The order's newClientOrderId is
// ClientID(intent, step); it is looked up first (GET /api/v3/order by origClientOrderId) and an
// existing order is returned instead of placing a second one: Binance rejects a duplicate id only
// while the first order is open, so the lookup is what makes the step idempotent.
//
// With MinOut set the order is LIMIT IOC with the price bound that guarantees MinOut when fully
// filled (a sell's floor rounded up to the tick, a buy's cap rounded down); without it, MARKET.
// From = base coin sells the lot-rounded amount; From = quote coin buys as much base as In pays.
// After an ambiguous answer the id is looked up for LookupLag; still absent → ErrUnknownOutcome,
// and the next call looks up again before placing anything.
func (c *Client) Swap(ctx context.Context, req venue.SwapRequest) (venue.Order, error) {
	cid, err := ClientID(req.IntentID, req.Step)
	if err != nil {
		return venue.Order{}, err
	}
	if o, err := c.findOrder(ctx, cid); err == nil || !errors.Is(err, venue.ErrNotFound) {
		return o, err
	}
	r, err := c.symbolRules(ctx)
	if err != nil {
		return venue.Order{}, err
	}
	from, err := c.coinOf(req.From)
	if err != nil {
		return venue.Order{}, err
	}
	to, err := c.coinOf(req.To)
	if err != nil {
		return venue.Order{}, err
	}
	if !((from == r.base && to == r.quote) || (from == r.quote && to == r.base)) {
		return venue.Order{}, fmt.Errorf("swap %s→%s: %w on %s", from, to, venue.ErrUnsupported, r.symbol)
	}
	if req.In.Units == nil || req.In.Sign() <= 0 {
		return venue.Order{}, fmt.Errorf("swap: %w", venue.ErrInvalidAmount)
	}
	in := truncTo8(req.In.Rat())
	svc := func(l *bn.Client) *bn.CreateOrderService {
		return l.NewCreateOrderService().Symbol(r.symbol).NewClientOrderID(cid).NewOrderRespType(bn.NewOrderRespTypeFULL)
	}
	var place func(l *bn.Client) *bn.CreateOrderService
	keep := new(big.Rat).Sub(big.NewRat(1, 1), r.taker)
	hasMin := req.MinOut.Units != nil && req.MinOut.Sign() > 0
	// The fee is rounded up to 8 places: aim one unit above MinOut so the rounding cannot undercut it.
	minOut := new(big.Rat).Add(req.MinOut.Rat(), eightPlaces)
	if from == r.base {
		qty, ok := r.lot(in)
		if !ok {
			return venue.Order{}, fmt.Errorf("swap %s %s: %w: below minQty %s", dec(in), from, venue.ErrInvalidAmount, dec(r.minQty))
		}
		if hasMin {
			// Net of the fee the quote received must reach MinOut: price ≥ MinOut / (qty·(1−fee)).
			floor := ceilTo(new(big.Rat).Quo(minOut, new(big.Rat).Mul(qty, keep)), r.tick)
			place = func(l *bn.Client) *bn.CreateOrderService {
				return svc(l).Side(bn.SideTypeSell).Type(bn.OrderTypeLimit).TimeInForce(bn.TimeInForceTypeIOC).
					Quantity(dec(qty)).Price(dec(floor))
			}
		} else {
			place = func(l *bn.Client) *bn.CreateOrderService {
				return svc(l).Side(bn.SideTypeSell).Type(bn.OrderTypeMarket).Quantity(dec(qty))
			}
		}
	} else {
		if hasMin {
			// Buy exactly the base that nets MinOut after the fee, at a price that spends at most In.
			qty := ceilTo(new(big.Rat).Quo(minOut, keep), r.step)
			qty, ok := r.lot(maxRat(qty, r.minQty))
			if !ok || qty.Sign() == 0 {
				return venue.Order{}, fmt.Errorf("swap: %w: MinOut below minQty", venue.ErrInvalidAmount)
			}
			capPrice := floorTo(new(big.Rat).Quo(in, qty), r.tick)
			if capPrice.Sign() <= 0 {
				return venue.Order{}, fmt.Errorf("swap: %w: In cannot buy MinOut", venue.ErrInvalidAmount)
			}
			place = func(l *bn.Client) *bn.CreateOrderService {
				return svc(l).Side(bn.SideTypeBuy).Type(bn.OrderTypeLimit).TimeInForce(bn.TimeInForceTypeIOC).
					Quantity(dec(qty)).Price(dec(capPrice))
			}
		} else {
			place = func(l *bn.Client) *bn.CreateOrderService {
				return svc(l).Side(bn.SideTypeBuy).Type(bn.OrderTypeMarket).QuoteOrderQty(dec(in))
			}
		}
	}
	var res *bn.CreateOrderResponse
	err = c.write(ctx, "order "+cid, func(l *bn.Client) (err error) {
		res, err = place(l).Do(ctx, c.recvWindow())
		return err
	})
	switch {
	case err == nil:
		c.cfg.Log.Info().Str("intent", req.IntentID).Str("clientOrderId", cid).Str("status", string(res.Status)).Msg("binance order placed")
		return c.orderFrom(r, cid, strconv.FormatInt(res.OrderID, 10), string(res.Side), string(res.Status),
			res.ExecutedQuantity, res.CummulativeQuoteQuantity, fillsFee(res.Fills))
	case errors.Is(err, venue.ErrUnknownOutcome):
		c.cfg.Log.Warn().Err(err).Str("intent", req.IntentID).Str("clientOrderId", cid).Msg("binance order outcome unknown; looking it up")
		return lookupAfterAmbiguity(ctx, c, err, func() (venue.Order, error) { return c.findOrder(ctx, cid) })
	case errors.Is(err, ErrRateLimited):
		var rl *RateLimitError
		o := venue.Order{ClientID: cid, Wait: venue.WaitRateLimited}
		if errors.As(err, &rl) {
			o.Raw = rl.Until.UTC().Format(time.RFC3339)
		}
		return o, nil
	case apiCode(err) == -2010 || apiCode(err) == -1013:
		// Insufficient balance, a filter failure, or (only if the lookup above raced) a duplicate.
		if o, ferr := c.findOrder(ctx, cid); ferr == nil {
			return o, nil
		}
		return venue.Order{}, fmt.Errorf("order %s: %w: %w", cid, venue.ErrRejected, err)
	}
	return venue.Order{}, err
}

// lookupAfterAmbiguity looks an id up until it is found or LookupLag has passed.
func lookupAfterAmbiguity[T any](ctx context.Context, c *Client, cause error, find func() (T, error)) (T, error) {
	var zero T
	deadline := c.cfg.Now().Add(c.cfg.LookupLag)
	backoff := 100 * time.Millisecond
	for {
		v, err := find()
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, venue.ErrNotFound) && !errors.Is(err, venue.ErrUnknownOutcome) && !ambiguous(err) {
			return zero, err
		}
		if !c.cfg.Now().Before(deadline) {
			return zero, cause
		}
		if serr := c.cfg.Sleep(ctx, backoff); serr != nil {
			return zero, cause
		}
		backoff = min(2*backoff, time.Second)
	}
}

// FindOrder implements venue.Trader.
func (c *Client) FindOrder(ctx context.Context, intentID, step string) (venue.Order, error) {
	cid, err := ClientID(intentID, step)
	if err != nil {
		return venue.Order{}, err
	}
	return c.findOrder(ctx, cid)
}

func (c *Client) findOrder(ctx context.Context, cid string) (venue.Order, error) {
	r, err := c.symbolRules(ctx)
	if err != nil {
		return venue.Order{}, err
	}
	var o *bn.Order
	err = c.read(ctx, "order lookup "+cid, func(l *bn.Client) (err error) {
		o, err = l.NewGetOrderService().Symbol(r.symbol).OrigClientOrderID(cid).Do(ctx, c.recvWindow())
		if apiCode(err) == -2013 {
			return nil // absent: not an error to retry
		}
		return err
	})
	if err != nil {
		return venue.Order{}, err
	}
	if o == nil {
		return venue.Order{}, fmt.Errorf("order %s: %w", cid, venue.ErrNotFound)
	}
	fee := new(big.Rat)
	if ex, ok := parseRat(o.ExecutedQuantity); ok && ex.Sign() > 0 {
		var trades []*bn.TradeV3
		if err := c.read(ctx, "trades "+cid, func(l *bn.Client) (err error) {
			trades, err = l.NewListTradesService().Symbol(r.symbol).OrderId(o.OrderID).Do(ctx, c.recvWindow())
			return err
		}); err != nil {
			return venue.Order{}, err
		}
		for _, t := range trades {
			v, ok := parseRat(t.Commission)
			if !ok {
				return venue.Order{}, fmt.Errorf("trade %d commission %q: %w", t.ID, t.Commission, venue.ErrInvalidAmount)
			}
			fee.Add(fee, v)
		}
	}
	return c.orderFrom(r, cid, strconv.FormatInt(o.OrderID, 10), string(o.Side), string(o.Status),
		o.ExecutedQuantity, o.CummulativeQuoteQuantity, fee)
}

func fillsFee(fills []*bn.Fill) *big.Rat {
	fee := new(big.Rat)
	for _, f := range fills {
		if v, ok := parseRat(f.Commission); ok {
			fee.Add(fee, v)
		}
	}
	return fee
}

// orderFrom builds a venue.Order: Spent in the coin given, Received net of the fee (charged in
// the coin received), 8 decimals.
func (c *Client) orderFrom(r *rules, cid, id, side, status, executed, cumQuote string, fee *big.Rat) (venue.Order, error) {
	ex, ok1 := parseRat(executed)
	cq, ok2 := parseRat(cumQuote)
	if !ok1 || !ok2 {
		return venue.Order{}, fmt.Errorf("order %s amounts %q %q: %w", cid, executed, cumQuote, venue.ErrInvalidAmount)
	}
	o := venue.Order{ClientID: cid, VenueID: id, Side: venue.Side(side), Raw: status}
	var spent, recv *big.Rat
	if side == "SELL" {
		spent, recv, o.FeeToken = ex, new(big.Rat).Sub(cq, fee), c.tokenOf(r.quote)
	} else {
		spent, recv, o.FeeToken = cq, new(big.Rat).Sub(ex, fee), c.tokenOf(r.base)
	}
	o.Spent = mustAmount(spent, VenueDecimals)
	o.Received = mustAmount(recv, VenueDecimals)
	o.Fee = venue.FromRatUp(fee, VenueDecimals)
	switch status {
	case "NEW", "PARTIALLY_FILLED", "PENDING_NEW":
		o.Status = venue.OrderOpen
	case "FILLED":
		o.Status = venue.OrderFilled
	case "REJECTED":
		o.Status = venue.OrderRejected
	default: // CANCELED, EXPIRED, EXPIRED_IN_MATCH, PENDING_CANCEL
		o.Status = venue.OrderCanceled
		if ex.Sign() > 0 {
			o.Status = venue.OrderPartial
		}
	}
	return o, nil
}

func (c *Client) tokenOf(coin string) string {
	for _, n := range c.cfg.Networks {
		for _, t := range n.Tokens {
			if t.Coin == coin {
				return t.Symbol
			}
		}
	}
	return coin
}

package binance

import (
	"context"
	"fmt"
	"math/big"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// swapPlan is what converting an amount of one coin into the other through the book yields, with
// the symbol's lot rules and the taker fee applied (the fee is charged in the coin received).
type swapPlan struct {
	side  string   // BUY or SELL, seen from the base coin
	qty   *big.Rat // base quantity
	spent *big.Rat // from-coin spent
	gross *big.Rat // to-coin received before the fee
	fee   *big.Rat // taker fee, in the to-coin, rounded up to 8 places
	out   *big.Rat // to-coin received after the fee
	why   string   // non-empty when the swap cannot be done
}

func planSwap(r *rules, bids, asks []level, from string, in *big.Rat) swapPlan {
	var p swapPlan
	switch from {
	case r.base:
		p.side = "SELL"
		qty, ok := r.lot(in)
		if !ok {
			p.why = fmt.Sprintf("%s below LOT_SIZE minQty %s", dec(in), dec(r.minQty))
			return p
		}
		filled, quote := walk(bids, qty)
		if filled.Cmp(qty) < 0 {
			p.why = "book too thin"
			return p
		}
		p.qty, p.spent, p.gross = qty, qty, quote
		p.fee = ceilTo(new(big.Rat).Mul(quote, r.taker), eightPlaces)
	case r.quote:
		p.side = "BUY"
		qty, ok := r.lot(qtyForQuote(asks, in))
		if !ok {
			p.why = fmt.Sprintf("%s %s buys less than LOT_SIZE minQty %s", dec(in), r.quote, dec(r.minQty))
			return p
		}
		filled, cost := walk(asks, qty)
		if filled.Cmp(qty) < 0 {
			p.why = "book too thin"
			return p
		}
		p.qty, p.spent, p.gross = qty, cost, qty
		p.fee = ceilTo(new(big.Rat).Mul(qty, r.taker), eightPlaces)
	default:
		p.why = fmt.Sprintf("%s is not in %s", from, r.symbol)
		return p
	}
	notional := p.gross
	if p.side == "BUY" {
		notional = p.spent
	}
	if notional.Cmp(r.minNotional) < 0 {
		p.why = fmt.Sprintf("notional %s below minNotional %s", dec(notional), dec(r.minNotional))
		return p
	}
	p.out = new(big.Rat).Sub(p.gross, p.fee)
	return p
}

// walk fills qty against the levels, best first; it returns the filled quantity and its quote
// value.
func walk(levels []level, qty *big.Rat) (filled, quote *big.Rat) {
	left := new(big.Rat).Set(qty)
	filled, quote = new(big.Rat), new(big.Rat)
	for _, l := range levels {
		if left.Sign() <= 0 {
			break
		}
		q := l.qty
		if left.Cmp(q) < 0 {
			q = left
		}
		filled.Add(filled, q)
		quote.Add(quote, new(big.Rat).Mul(q, l.price))
		left = new(big.Rat).Sub(left, q)
	}
	return filled, quote
}

// qtyForQuote is the base quantity that quote buys through the asks.
func qtyForQuote(asks []level, quote *big.Rat) *big.Rat {
	left := new(big.Rat).Set(quote)
	qty := new(big.Rat)
	for _, l := range asks {
		if left.Sign() <= 0 {
			break
		}
		cost := new(big.Rat).Mul(l.price, l.qty)
		if cost.Cmp(left) <= 0 {
			qty.Add(qty, l.qty)
			left.Sub(left, cost)
			continue
		}
		qty.Add(qty, new(big.Rat).Quo(left, l.price))
		break
	}
	return qty
}

// Quote implements venue.Quoter from live data: coin/network config (flags, withdrawal fee and
// bounds), the symbol's filters and taker fee (cached for RulesTTL) and the order book (fresh).
// Stablecoins are priced 1:1 as the fair price, so Spread is what the book costs against 1:1,
// including any dust lot-size rounding leaves on the venue.
func (c *Client) Quote(ctx context.Context, src, dst venue.Key, amountIn venue.Amount) (venue.Quote, error) {
	if amountIn.Units == nil || amountIn.Sign() <= 0 {
		return venue.Quote{}, fmt.Errorf("quote: %w: amount must be positive", venue.ErrInvalidAmount)
	}
	routes, err := c.Routes(ctx)
	if err != nil {
		return venue.Quote{}, err
	}
	var sr, dr *venue.Route
	for i := range routes {
		if routes[i].Key() == src {
			sr = &routes[i]
		}
		if routes[i].Key() == dst {
			dr = &routes[i]
		}
	}
	if sr == nil || dr == nil {
		return venue.Quote{}, fmt.Errorf("quote %v→%v: %w", src, dst, venue.ErrUnsupported)
	}
	q := venue.Quote{Src: src, Dst: dst, AmountIn: amountIn, AsOf: c.cfg.Now(),
		TradeFee: venue.Zero(dr.Decimals), Spread: venue.Zero(sr.Decimals), WithdrawFee: dr.Limits.WithdrawFee,
		Out: venue.Zero(dr.Decimals), MinIn: venue.Zero(sr.Decimals)}
	in := amountIn.Rat()
	out := truncTo8(in)
	rate := big.NewRat(1, 1) // dst per src, at the best price after the fee
	why := ""
	if sr.Coin != dr.Coin {
		r, err := c.symbolRules(ctx)
		if err != nil {
			return venue.Quote{}, err
		}
		bids, asks, err := c.depth(ctx)
		if err != nil {
			return venue.Quote{}, err
		}
		p := planSwap(r, bids, asks, sr.Coin, out)
		keep := new(big.Rat).Sub(big.NewRat(1, 1), r.taker)
		switch {
		case p.side == "SELL" && len(bids) > 0:
			rate = new(big.Rat).Mul(bids[0].price, keep)
			q.MinIn = venue.FromRatUp(maxRat(r.minQty, new(big.Rat).Quo(r.minNotional, bids[0].price)), sr.Decimals)
		case p.side == "BUY" && len(asks) > 0:
			rate = new(big.Rat).Quo(keep, asks[0].price)
			q.MinIn = venue.FromRatUp(maxRat(r.minNotional, new(big.Rat).Mul(r.minQty, asks[0].price)), sr.Decimals)
		}
		if p.why != "" {
			why = p.why
			out = new(big.Rat)
		} else {
			q.TradeFee = venue.FromRatUp(p.fee, dr.Decimals)
			q.Spread = venue.FromRatUp(new(big.Rat).Sub(in, p.gross), sr.Decimals)
			out = p.out
		}
	}
	lim := dr.Limits
	gross := out
	if lim.WithdrawMultiple.Units != nil && lim.WithdrawMultiple.Sign() > 0 {
		gross = floorTo(out, lim.WithdrawMultiple.Rat())
	}
	gross = mustAmount(gross, dr.Decimals).Rat() // what the chain can carry
	if rate.Sign() > 0 {
		minW := new(big.Rat).Quo(lim.WithdrawMin.Rat(), rate)
		if m := venue.FromRatUp(minW, sr.Decimals); m.Cmp(q.MinIn) > 0 {
			q.MinIn = m
		}
		if lim.WithdrawMax.Units != nil {
			q.MaxIn, _ = venue.FromRat(new(big.Rat).Quo(lim.WithdrawMax.Rat(), rate), sr.Decimals, venue.Down)
		}
	}
	switch {
	case !sr.DepositEnabled:
		why = "deposits of " + sr.Coin + " on " + sr.Network + " are suspended"
	case !dr.WithdrawEnabled:
		why = "withdrawals of " + dr.Coin + " on " + dr.Network + " are suspended"
	case why != "":
	case gross.Cmp(lim.WithdrawMin.Rat()) < 0:
		why = fmt.Sprintf("withdrawal %s below withdrawMin %s", dec(gross), lim.WithdrawMin)
	case lim.WithdrawMax.Units != nil && gross.Cmp(lim.WithdrawMax.Rat()) > 0:
		why = fmt.Sprintf("withdrawal %s above withdrawMax %s", dec(gross), lim.WithdrawMax)
	}
	recv := new(big.Rat).Sub(gross, lim.WithdrawFee.Rat())
	if why == "" && recv.Sign() <= 0 {
		why = "withdrawal fee exceeds the amount"
	}
	if why == "" {
		q.Out, _ = venue.FromRat(recv, dr.Decimals, venue.Down)
		q.Feasible = true
	}
	q.Why = why
	return q, nil
}

func mustAmount(r *big.Rat, decimals uint8) venue.Amount {
	a, _ := venue.FromRat(r, decimals, venue.Down)
	return a
}

func truncTo8(r *big.Rat) *big.Rat { return floorTo(r, eightPlaces) }

func maxRat(a, b *big.Rat) *big.Rat {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

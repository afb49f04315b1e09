package binance

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	bn "github.com/adshao/go-binance/v2"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// rules are the spot symbol's filters and the account's fee on it, exact.
type rules struct {
	symbol, base, quote string
	tick, step          *big.Rat
	minQty, maxQty      *big.Rat
	minNotional         *big.Rat
	taker               *big.Rat
}

// symbolRules returns the cached rules, re-reading exchangeInfo and tradeFee after RulesTTL.
func (c *Client) symbolRules(ctx context.Context) (*rules, error) {
	c.mu.Lock()
	r, at := c.rules, c.rulesAt
	c.mu.Unlock()
	if r != nil && c.cfg.Now().Sub(at) < c.cfg.RulesTTL {
		return r, nil
	}
	var info *bn.ExchangeInfo
	if err := c.read(ctx, "exchangeInfo", func(l *bn.Client) (err error) {
		info, err = l.NewExchangeInfoService().Symbol(c.cfg.Symbol).Do(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	var fees []*bn.TradeFeeDetails
	if err := c.read(ctx, "tradeFee", func(l *bn.Client) (err error) {
		fees, err = l.NewTradeFeeService().Symbol(c.cfg.Symbol).Do(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	r, err := parseRules(c.cfg.Symbol, info, fees)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.rules, c.rulesAt = r, c.cfg.Now()
	c.mu.Unlock()
	return r, nil
}

func parseRules(symbol string, info *bn.ExchangeInfo, fees []*bn.TradeFeeDetails) (*rules, error) {
	var sym *bn.Symbol
	for i := range info.Symbols {
		if info.Symbols[i].Symbol == symbol {
			sym = &info.Symbols[i]
		}
	}
	if sym == nil {
		return nil, fmt.Errorf("%w: symbol %s not in exchangeInfo", venue.ErrUnsupported, symbol)
	}
	if sym.Status != "TRADING" {
		return nil, fmt.Errorf("%w: symbol %s is %s", venue.ErrUnsupported, symbol, sym.Status)
	}
	r := &rules{symbol: symbol, base: sym.BaseAsset, quote: sym.QuoteAsset, minNotional: new(big.Rat)}
	// Filters are read from the raw maps: the legacy MIN_NOTIONAL has no accessor, and the typed
	// accessors panic on a filter whose fields are not strings.
	str := func(f map[string]any, k string) (*big.Rat, error) {
		s, _ := f[k].(string)
		v, ok := parseRat(s)
		if !ok {
			return nil, fmt.Errorf("%w: %s filter %v field %s = %v", venue.ErrUnsupported, symbol, f["filterType"], k, f[k])
		}
		return v, nil
	}
	var err error
	for _, f := range sym.Filters {
		switch f["filterType"] {
		case "PRICE_FILTER":
			if r.tick, err = str(f, "tickSize"); err != nil {
				return nil, err
			}
		case "LOT_SIZE":
			if r.step, err = str(f, "stepSize"); err != nil {
				return nil, err
			}
			if r.minQty, err = str(f, "minQty"); err != nil {
				return nil, err
			}
			if r.maxQty, err = str(f, "maxQty"); err != nil {
				return nil, err
			}
		case "NOTIONAL", "MIN_NOTIONAL":
			v, err := str(f, "minNotional")
			if err != nil {
				return nil, err
			}
			if v.Cmp(r.minNotional) > 0 {
				r.minNotional = v
			}
		}
	}
	if r.tick == nil || r.step == nil {
		return nil, fmt.Errorf("%w: %s lacks PRICE_FILTER or LOT_SIZE", venue.ErrUnsupported, symbol)
	}
	for _, f := range fees {
		if f.Symbol == symbol {
			v, ok := parseRat(f.TakerCommission)
			if !ok {
				return nil, fmt.Errorf("%w: taker fee %q", venue.ErrUnsupported, f.TakerCommission)
			}
			r.taker = v
		}
	}
	if r.taker == nil {
		return nil, fmt.Errorf("%w: no trade fee for %s", venue.ErrUnsupported, symbol)
	}
	return r, nil
}

// lot rounds q down to a quantity LOT_SIZE accepts (minQty + k·step), or returns false.
func (r *rules) lot(q *big.Rat) (*big.Rat, bool) {
	if q.Cmp(r.minQty) < 0 {
		return nil, false
	}
	extra := floorTo(new(big.Rat).Sub(q, r.minQty), r.step)
	v := new(big.Rat).Add(r.minQty, extra)
	if r.maxQty.Sign() > 0 && v.Cmp(r.maxQty) > 0 {
		v = new(big.Rat).Add(r.minQty, floorTo(new(big.Rat).Sub(r.maxQty, r.minQty), r.step))
	}
	return v, true
}

func parseRat(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "eE/+") {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

func floorTo(r, step *big.Rat) *big.Rat {
	if step == nil || step.Sign() == 0 {
		return new(big.Rat).Set(r)
	}
	q := new(big.Rat).Quo(r, step)
	n := new(big.Int).Quo(q.Num(), q.Denom())
	if q.Sign() < 0 && !q.IsInt() {
		n.Sub(n, big.NewInt(1))
	}
	return new(big.Rat).Mul(new(big.Rat).SetInt(n), step)
}

func ceilTo(r, step *big.Rat) *big.Rat {
	f := floorTo(r, step)
	if f.Cmp(r) < 0 {
		f.Add(f, step)
	}
	return f
}

var eightPlaces = big.NewRat(1, 100_000_000)

// dec formats an exact value for the wire with at most 8 decimals; callers round first.
func dec(r *big.Rat) string {
	a, _ := venue.FromRat(r, 8, venue.Down)
	return a.String()
}

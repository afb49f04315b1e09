package hyperliquid

import (
	"fmt"
	"math/big"
)

// Plan is an order sized from the book before it is sent, and what it should yield.
type Plan struct {
	IsBuy bool
	// Size in base wei (a whole number of szDecimals units) and the limit price: the worst book level
	// the order needs.
	Size    *big.Int
	LimitPx *big.Rat
	// Spend is the most the order can take from the account (quote for a buy at the limit price,
	// base for a sell); Expected is what it yields at the book's prices net of the taker fee, rounded
	// down.
	Spend, Expected *big.Int
}

// PlanBuy sizes a buy of base with at most quoteIn (quote wei) against the asks, never above maxPx
// (nil: no bound). The size is chosen so that size × limit price ≤ quoteIn, since the venue reserves
// the order's value at its limit price.
func PlanBuy(m Meta, b Book, quoteIn *big.Int, fee *big.Rat, maxPx *big.Rat) (Plan, error) {
	unit := pow10(m.Base.WeiDecimals - m.Base.SzDecimals)
	budget := new(big.Rat).SetFrac(quoteIn, pow10(m.Quote.WeiDecimals))
	size := new(big.Int)
	var limit *big.Rat
	for _, l := range b.Asks {
		if maxPx != nil && l.Px.Cmp(maxPx) > 0 {
			break
		}
		// The whole size so far, repriced at this level, must fit the budget.
		afford := floorUnits(new(big.Rat).Quo(budget, l.Px), m.Base.WeiDecimals, unit)
		if afford.Cmp(size) <= 0 {
			break
		}
		take := new(big.Int).Sub(afford, size)
		if take.Cmp(l.Sz) > 0 {
			take.Set(l.Sz)
		}
		take.Sub(take, new(big.Int).Rem(take, unit))
		if take.Sign() == 0 {
			break
		}
		size.Add(size, take)
		limit = l.Px
	}
	if size.Sign() == 0 {
		return Plan{}, fmt.Errorf("buy with %s %s: %w", quoteIn, m.Quote.Name, ErrNoLiquidity)
	}
	got := new(big.Int).Sub(size, ceilInt(new(big.Rat).Mul(new(big.Rat).SetInt(size), fee)))
	spend := ratToInt(new(big.Rat).Mul(limit, new(big.Rat).SetFrac(size, pow10(m.Base.WeiDecimals))), m.Quote.WeiDecimals, true)
	return Plan{IsBuy: true, Size: size, LimitPx: limit, Spend: spend, Expected: got}, nil
}

// PlanSell sizes a sell of at most baseIn (base wei) against the bids, never below minPx (nil: no
// bound).
func PlanSell(m Meta, b Book, baseIn *big.Int, fee *big.Rat, minPx *big.Rat) (Plan, error) {
	unit := pow10(m.Base.WeiDecimals - m.Base.SzDecimals)
	want := new(big.Int).Sub(baseIn, new(big.Int).Rem(baseIn, unit))
	size := new(big.Int)
	proceeds := new(big.Int)
	var limit *big.Rat
	for _, l := range b.Bids {
		if size.Cmp(want) >= 0 || (minPx != nil && l.Px.Cmp(minPx) < 0) {
			break
		}
		take := new(big.Int).Sub(want, size)
		if take.Cmp(l.Sz) > 0 {
			take.Set(l.Sz)
		}
		take.Sub(take, new(big.Int).Rem(take, unit))
		if take.Sign() == 0 {
			break
		}
		size.Add(size, take)
		proceeds.Add(proceeds, ratToInt(new(big.Rat).Mul(l.Px, new(big.Rat).SetFrac(take, pow10(m.Base.WeiDecimals))), m.Quote.WeiDecimals, false))
		limit = l.Px
	}
	if size.Sign() == 0 {
		return Plan{}, fmt.Errorf("sell %s %s: %w", baseIn, m.Base.Name, ErrNoLiquidity)
	}
	got := new(big.Int).Sub(proceeds, ceilInt(new(big.Rat).Mul(new(big.Rat).SetInt(proceeds), fee)))
	return Plan{IsBuy: false, Size: size, LimitPx: limit, Spend: size, Expected: got}, nil
}

// floorUnits converts a base amount to wei, rounded down to whole units.
func floorUnits(r *big.Rat, decimals int, unit *big.Int) *big.Int {
	v := ratToInt(r, decimals, false)
	return v.Sub(v, new(big.Int).Rem(v, unit))
}

func ceilInt(r *big.Rat) *big.Int { return ratToInt(r, 0, true) }

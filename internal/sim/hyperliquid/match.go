package hlsim

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// placeOrder validates and matches one order and returns its status object for the order response.
func (s *Sim) placeOrder(user common.Address, o wire.OrderWire, nonce uint64) any {
	b := s.books[o.Asset]
	if b == nil {
		return map[string]any{"error": fmt.Sprintf("Invalid asset %d", o.Asset)}
	}
	reject := func(status, msg string) any {
		s.recordOrder(user, b, o, nil, new(big.Int), status)
		s.event(Event{Kind: EvOrderRejected, User: user, Cloid: strings.ToLower(o.Cloid), Nonce: nonce, Note: msg})
		return map[string]any{"error": msg}
	}
	if o.Cloid != "" && !validCloid(o.Cloid) {
		return map[string]any{"error": "Invalid cloid " + o.Cloid}
	}
	if o.Type.Limit == nil || o.Type.Limit.Tif != wire.TifIoc {
		// The simulator models the taker side only: every order must be IOC.
		return reject("rejected", "Only IOC limit orders are supported by the simulator")
	}
	if o.ReduceOnly {
		return reject("rejected", "Reduce only is not valid for spot")
	}
	if !wire.ValidPrice(canonicalDecimal(o.Price), b.base.SzDecimals) {
		return reject("tickRejected", fmt.Sprintf("Order has invalid price. asset=%d", o.Asset))
	}
	px, _ := wire.ParseRat(o.Price)
	szUnits, err := wire.ParseDecimal(o.Size, b.base.SzDecimals)
	if err != nil || szUnits.Sign() <= 0 {
		return reject("rejected", fmt.Sprintf("Order has invalid size. asset=%d", o.Asset))
	}
	size := new(big.Int).Mul(szUnits, pow10(b.base.WeiDecimals-b.base.SzDecimals))
	// Minimum value, in the quote token, at the limit price.
	ntl := new(big.Rat).Mul(px, ratOf(size, b.base.WeiDecimals))
	if ntl.Cmp(s.minNtl) < 0 {
		return reject("minTradeNtlRejected", fmt.Sprintf("Order must have minimum value of %s %s. asset=%d",
			s.cfg.MinNotional, b.quot.Name, o.Asset))
	}
	acct := s.accounts[user]
	if o.IsBuy {
		need := toWei(ntl, b.quot.WeiDecimals, true)
		if acct.bal(b.quot.Index).Cmp(need) < 0 {
			return reject("insufficientSpotBalanceRejected", fmt.Sprintf("Insufficient spot balance asset=%d", o.Asset))
		}
	} else if acct.bal(b.base.Index).Cmp(size) < 0 {
		return reject("insufficientSpotBalanceRejected", fmt.Sprintf("Insufficient spot balance asset=%d", o.Asset))
	}

	side := b.asks
	if !o.IsBuy {
		side = b.bids
	}
	oid := s.nextOid
	s.nextOid++
	remaining := new(big.Int).Set(size)
	totalQuote := new(big.Rat)
	var fills []fill
	for len(side) > 0 && remaining.Sign() > 0 {
		l := side[0]
		if (o.IsBuy && l.px.Cmp(px) > 0) || (!o.IsBuy && l.px.Cmp(px) < 0) {
			break
		}
		take := new(big.Int).Set(l.sz)
		if take.Cmp(remaining) > 0 {
			take.Set(remaining)
		}
		l.sz.Sub(l.sz, take)
		remaining.Sub(remaining, take)
		if l.sz.Sign() == 0 {
			side = side[1:]
		}
		quote := new(big.Rat).Mul(l.px, ratOf(take, b.base.WeiDecimals))
		totalQuote.Add(totalQuote, quote)
		f := s.settle(acct, b, o.IsBuy, take, quote)
		f.Px = wire.FormatRat(l.px, 8, false)
		f.Oid, f.Cloid = oid, strings.ToLower(o.Cloid)
		fills = append(fills, f)
	}
	if o.IsBuy {
		b.asks = side
	} else {
		b.bids = side
	}
	filled := new(big.Int).Sub(size, remaining)
	if filled.Sign() == 0 {
		s.nextOid-- // a rejected IOC gets no oid
		return reject("iocCancelRejected", fmt.Sprintf(
			"Order could not immediately match against any resting orders. asset=%d", o.Asset))
	}
	status := "filled"
	if remaining.Sign() > 0 {
		status = "canceled" // an IOC's unfilled rest is canceled
	}
	ord := s.recordOrder(user, b, o, &oid, filled, status)
	s.event(Event{Kind: EvOrder, User: user, Cloid: ord.Cloid, Oid: oid, Nonce: nonce, Token: b.base.Name, Amount: filled, Note: status})
	for _, f := range fills {
		s.fills[user] = append(s.fills[user], f)
		s.event(Event{Kind: EvFill, User: user, Cloid: ord.Cloid, Oid: oid, Token: b.base.Name, Note: f.Sz + "@" + f.Px})
	}
	avg := new(big.Rat).Quo(totalQuote, ratOf(filled, b.base.WeiDecimals))
	return map[string]any{"filled": map[string]any{
		"totalSz": wire.FormatDecimal(filled, b.base.WeiDecimals),
		"avgPx":   wire.FormatRat(avg, 8, false),
		"oid":     oid,
	}}
}

// settle moves the balances of one fill: the buyer pays quote rounded up, the seller receives it
// rounded down, and the taker fee is taken from the received token, rounded up.
func (s *Sim) settle(acct *account, b *book, isBuy bool, base *big.Int, quote *big.Rat) fill {
	f := fill{Coin: coinName(b), Sz: wire.FormatDecimal(base, b.base.WeiDecimals), Time: s.nowMs(),
		Tid: s.nextTid, Hash: crypto.Keccak256Hash(new(big.Int).SetUint64(s.nextTid).Bytes()).Hex()}
	s.nextTid++
	if isBuy {
		pay := toWei(quote, b.quot.WeiDecimals, true)
		fee := toWei(new(big.Rat).Mul(ratOf(base, 0), s.cfg.TakerFee), 0, true)
		acct.spot[b.quot.Index] = new(big.Int).Sub(acct.bal(b.quot.Index), pay)
		acct.spot[b.base.Index] = new(big.Int).Add(acct.bal(b.base.Index), new(big.Int).Sub(base, fee))
		f.Side, f.Dir, f.FeeToken = "B", "Buy", b.base.Name
		f.Fee = wire.FormatDecimal(fee, b.base.WeiDecimals)
		return f
	}
	get := toWei(quote, b.quot.WeiDecimals, false)
	fee := toWei(new(big.Rat).Mul(ratOf(get, 0), s.cfg.TakerFee), 0, true)
	acct.spot[b.base.Index] = new(big.Int).Sub(acct.bal(b.base.Index), base)
	acct.spot[b.quot.Index] = new(big.Int).Add(acct.bal(b.quot.Index), new(big.Int).Sub(get, fee))
	f.Side, f.Dir, f.FeeToken = "A", "Sell", b.quot.Name
	f.Fee = wire.FormatDecimal(fee, b.quot.WeiDecimals)
	return f
}

func (s *Sim) recordOrder(user common.Address, b *book, o wire.OrderWire, oid *uint64, filled *big.Int, status string) *order {
	size, _ := wire.ParseDecimal(o.Size, b.base.WeiDecimals)
	if size == nil {
		size = new(big.Int)
	}
	ord := &order{User: user, Cloid: strings.ToLower(o.Cloid), Asset: o.Asset, Coin: coinName(b), IsBuy: o.IsBuy,
		LimitPx: o.Price, OrigSz: size, Filled: filled, Status: status, Timestamp: s.nowMs()}
	if oid != nil {
		ord.Oid = *oid
		s.orders[ord.Oid] = ord
	}
	if ord.Cloid != "" {
		if s.cloids[user] == nil {
			s.cloids[user] = map[string]*order{}
		}
		s.cloids[user][ord.Cloid] = ord
	}
	return ord
}

func coinName(b *book) string { return fmt.Sprintf("@%d", b.pair.Index) }

func validCloid(c string) bool {
	if len(c) != 34 || !strings.HasPrefix(c, "0x") {
		return false
	}
	for _, r := range strings.ToLower(c[2:]) {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// ratOf is v / 10^decimals.
func ratOf(v *big.Int, decimals int) *big.Rat {
	return new(big.Rat).SetFrac(v, pow10(decimals))
}

// toWei is r × 10^decimals, rounded up or down.
func toWei(r *big.Rat, decimals int, up bool) *big.Int {
	num := new(big.Int).Mul(r.Num(), pow10(decimals))
	q, m := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if up && m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func pow10(n int) *big.Int {
	if n < 0 {
		n = 0
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

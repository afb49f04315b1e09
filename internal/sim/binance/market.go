package simbinance

import (
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

type level struct{ price, qty *big.Rat }

type market struct {
	Symbol
	tick, step, minQty, maxQty, minNotional, maker, taker *big.Rat
	bids, asks                                            []level
}

func parseMarket(s Symbol) market {
	m := market{Symbol: s, tick: mustDec(s.TickSize), step: mustDec(s.StepSize), minQty: mustDec(s.MinQty),
		maxQty: mustDec(s.MaxQty), minNotional: mustDec(s.MinNotional), maker: mustDec(s.MakerFee), taker: mustDec(s.TakerFee)}
	for _, l := range s.Bids {
		m.bids = append(m.bids, level{mustDec(l.Price), mustDec(l.Qty)})
	}
	for _, l := range s.Asks {
		m.asks = append(m.asks, level{mustDec(l.Price), mustDec(l.Qty)})
	}
	return m
}

type order struct {
	acct                   *account
	id                     int64
	clientID               string
	side, typ, tif, status string
	price, origQty, origQQ *big.Rat
	executed, cumQuote     *big.Rat
	lockedCoin             string
	locked                 *big.Rat
	time, updateTime       int64
	fills                  []*trade
}

type trade struct {
	id, orderID       int64
	price, qty, quote *big.Rat
	commission        *big.Rat
	commissionAsset   string
	isBuyer           bool
	time              int64
}

func (o *order) open() bool { return o.status == "NEW" || o.status == "PARTIALLY_FILLED" }

func (s *Sim) handleTime(r *request) (any, *apiError) {
	return map[string]int64{"serverTime": r.now.UnixMilli()}, nil
}

func (s *Sim) symbolJSON() map[string]any {
	m := s.sym
	return map[string]any{
		"symbol": m.Name, "status": "TRADING", "baseAsset": m.Base, "baseAssetPrecision": 8,
		"quoteAsset": m.Quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
		"baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
		"orderTypes":     []string{"LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"},
		"icebergAllowed": true, "ocoAllowed": true, "otoAllowed": true,
		"quoteOrderQtyMarketAllowed": true, "allowTrailingStop": true, "cancelReplaceAllowed": true,
		"isSpotTradingAllowed": true, "isMarginTradingAllowed": true,
		"filters": []map[string]any{
			{"filterType": "PRICE_FILTER", "minPrice": fmtDec(m.tick, 8), "maxPrice": "1000.00000000", "tickSize": fmtDec(m.tick, 8)},
			{"filterType": "LOT_SIZE", "minQty": fmtDec(m.minQty, 8), "maxQty": fmtDec(m.maxQty, 8), "stepSize": fmtDec(m.step, 8)},
			{"filterType": "ICEBERG_PARTS", "limit": 10},
			{"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": fmtDec(m.maxQty, 8), "stepSize": "0.00000000"},
			{"filterType": "TRAILING_DELTA", "minTrailingAboveDelta": 10, "maxTrailingAboveDelta": 2000, "minTrailingBelowDelta": 10, "maxTrailingBelowDelta": 2000},
			{"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "5", "bidMultiplierDown": "0.2", "askMultiplierUp": "5", "askMultiplierDown": "0.2", "avgPriceMins": 5},
			{"filterType": "NOTIONAL", "minNotional": fmtDec(m.minNotional, 8), "applyMinToMarket": true, "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5},
			{"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
			{"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
		},
		"permissions": []string{}, "permissionSets": [][]string{{"SPOT", "MARGIN"}},
		"defaultSelfTradePreventionMode": "EXPIRE_MAKER", "allowedSelfTradePreventionModes": []string{"EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"},
	}
}

func (s *Sim) handleExchangeInfo(r *request) (any, *apiError) {
	if sym := r.p.Get("symbol"); sym != "" && sym != s.sym.Name {
		return nil, newErr(http.StatusBadRequest, codeBadSymbol, "Invalid symbol.")
	}
	if syms := r.p.Get("symbols"); syms != "" && !strings.Contains(syms, `"`+s.sym.Name+`"`) {
		return nil, newErr(http.StatusBadRequest, codeBadSymbol, "Invalid symbol.")
	}
	return map[string]any{
		"timezone": "UTC", "serverTime": r.now.UnixMilli(),
		"rateLimits": []map[string]any{
			{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": s.cfg.APIWeightLimit},
			{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
			{"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
			{"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
		},
		"exchangeFilters": []any{},
		"symbols":         []any{s.symbolJSON()},
	}, nil
}

func (s *Sim) handleDepth(r *request) (any, *apiError) {
	if r.p.Get("symbol") != s.sym.Name {
		return nil, newErr(http.StatusBadRequest, codeBadSymbol, "Invalid symbol.")
	}
	limit := 100
	if v := r.p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 5000 {
			return nil, newErr(http.StatusBadRequest, codeMandatoryParam, "Illegal characters found in parameter 'limit'.")
		}
		limit = n
	}
	side := func(ls []level) [][2]string {
		out := [][2]string{}
		for i, l := range ls {
			if i == limit {
				break
			}
			out = append(out, [2]string{fmtDec(l.price, 8), fmtDec(l.qty, 8)})
		}
		return out
	}
	s.mu.Lock()
	id := s.nextID
	s.mu.Unlock()
	return map[string]any{"lastUpdateId": id, "bids": side(s.sym.bids), "asks": side(s.sym.asks)}, nil
}

func (s *Sim) handleTradeFee(r *request) (any, *apiError) {
	if sym := r.p.Get("symbol"); sym != "" && sym != s.sym.Name {
		return []any{}, nil
	}
	return []map[string]string{{"symbol": s.sym.Name, "makerCommission": fmtDec(s.sym.maker, 8), "takerCommission": fmtDec(s.sym.taker, 8)}}, nil
}

func (s *Sim) handleAccount(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := r.acct
	coins := map[string]bool{}
	for c := range a.wallets[walletSpot] {
		coins[c] = true
	}
	for c := range a.orderLocked {
		coins[c] = true
	}
	bals := []map[string]string{}
	for c := range coins {
		bals = append(bals, map[string]string{"asset": c, "free": fmtDec(bal(a.wallets[walletSpot], c), 8), "locked": fmtDec(bal(a.orderLocked, c), 8)})
	}
	sortBalances(bals)
	bps := func(r *big.Rat) int64 {
		x := new(big.Rat).Mul(r, big.NewRat(10000, 1))
		return new(big.Int).Quo(x.Num(), x.Denom()).Int64()
	}
	return map[string]any{
		"makerCommission": bps(s.sym.maker), "takerCommission": bps(s.sym.taker), "buyerCommission": 0, "sellerCommission": 0,
		"commissionRates": map[string]string{"maker": fmtDec(s.sym.maker, 8), "taker": fmtDec(s.sym.taker, 8), "buyer": "0.00000000", "seller": "0.00000000"},
		"canTrade":        true, "canWithdraw": a.canWithdraw, "canDeposit": true, "brokered": false, "requireSelfTradePrevention": false,
		"preventSor": false, "updateTime": r.now.UnixMilli(), "accountType": "SPOT", "balances": bals,
		"permissions": []string{"SPOT"}, "uid": a.uid,
	}, nil
}

var clientIDPattern = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,36}$`)

func (s *Sim) handleNewOrder(r *request) (any, *apiError) {
	m := s.sym
	if r.p.Get("symbol") != m.Name {
		return nil, newErr(http.StatusBadRequest, codeBadSymbol, "Invalid symbol.")
	}
	side, typ := r.p.Get("side"), r.p.Get("type")
	if side != "BUY" && side != "SELL" {
		return nil, newErr(http.StatusBadRequest, codeInvalidSide, "Invalid side.")
	}
	if typ != "MARKET" && typ != "LIMIT" {
		return nil, newErr(http.StatusBadRequest, codeInvalidOrderType, "Invalid orderType.")
	}
	cid := r.p.Get("newClientOrderId")
	if cid == "" {
		cid = "sim" + strconv.FormatInt(r.now.UnixNano(), 36)
	}
	if !clientIDPattern.MatchString(cid) {
		return nil, newErr(http.StatusBadRequest, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'.")
	}
	o := &order{acct: r.acct, clientID: cid, side: side, typ: typ, executed: new(big.Rat), cumQuote: new(big.Rat),
		origQty: new(big.Rat), origQQ: new(big.Rat), price: new(big.Rat), time: r.now.UnixMilli(), updateTime: r.now.UnixMilli()}
	var qty, qq *big.Rat
	var e *apiError
	if r.p.Get("quantity") != "" {
		if qty, e = decParam(r, "quantity"); e != nil {
			return nil, e
		}
	}
	if r.p.Get("quoteOrderQty") != "" {
		if qq, e = decParam(r, "quoteOrderQty"); e != nil {
			return nil, e
		}
	}
	switch typ {
	case "MARKET":
		if (qty == nil) == (qq == nil) {
			return nil, newErr(http.StatusBadRequest, codeMandatoryParam, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty!")
		}
		if r.p.Get("timeInForce") != "" {
			return nil, newErr(http.StatusBadRequest, -1106, "Parameter 'timeInForce' sent when not required.")
		}
	case "LIMIT":
		o.tif = r.p.Get("timeInForce")
		if o.tif != "GTC" && o.tif != "IOC" && o.tif != "FOK" {
			return nil, newErr(http.StatusBadRequest, codeInvalidTIF, "Invalid timeInForce.")
		}
		if qty == nil {
			return nil, errMandatory("quantity")
		}
		if o.price, e = decParam(r, "price"); e != nil {
			return nil, e
		}
		if o.price.Sign() <= 0 || !isMultiple(o.price, m.tick) {
			return nil, errFilter("PRICE_FILTER")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.orders {
		if x.acct == r.acct && x.clientID == cid && x.open() {
			return nil, newErr(http.StatusBadRequest, codeNewOrderRejected, "Duplicate order sent.")
		}
	}
	book := m.asks
	if side == "SELL" {
		book = m.bids
	}
	if qq != nil {
		o.origQQ = qq
		qty = qtyForQuote(book, qq, m.step)
	}
	if qty.Sign() <= 0 || qty.Cmp(m.minQty) < 0 || qty.Cmp(m.maxQty) > 0 || !isMultiple(new(big.Rat).Sub(qty, m.minQty), m.step) {
		return nil, errFilter("LOT_SIZE")
	}
	o.origQty = qty
	limit := o.price
	if typ == "MARKET" {
		limit = nil
	}
	fills, filled, quote := walk(book, side, qty, limit)
	notional := quote
	if typ == "LIMIT" {
		notional = new(big.Rat).Mul(o.price, qty)
	}
	if notional.Cmp(m.minNotional) < 0 {
		return nil, errFilter("NOTIONAL")
	}
	if o.tif == "FOK" && filled.Cmp(qty) < 0 {
		fills, filled, quote = nil, new(big.Rat), new(big.Rat)
	}
	rest := new(big.Rat).Sub(qty, filled)
	resting := typ == "LIMIT" && o.tif == "GTC" && rest.Sign() > 0
	// Check funds: what the fills spend plus what a resting remainder locks.
	spot := r.acct.wallets[walletSpot]
	if side == "BUY" {
		need := new(big.Rat).Set(quote)
		if resting {
			need.Add(need, new(big.Rat).Mul(rest, o.price))
		}
		if bal(spot, m.Quote).Cmp(need) < 0 {
			return nil, errInsufficient()
		}
	} else {
		need := new(big.Rat).Set(filled)
		if resting {
			need.Add(need, rest)
		}
		if bal(spot, m.Base).Cmp(need) < 0 {
			return nil, errInsufficient()
		}
	}

	o.id = s.id()
	s.recordLocked(Action{Kind: ActionOrder, APIKey: r.acct.key, ID: strconv.FormatInt(o.id, 10), ClientID: cid, Coin: m.Base, Amount: fmtDec(qty, 8)})
	for _, f := range fills {
		t := &trade{id: s.id(), orderID: o.id, price: f.price, qty: f.qty, quote: new(big.Rat).Mul(f.price, f.qty), isBuyer: side == "BUY", time: r.now.UnixMilli()}
		if side == "BUY" {
			t.commissionAsset = m.Base
			t.commission = ceilDec(new(big.Rat).Mul(f.qty, m.taker), 8)
			add(spot, m.Quote, new(big.Rat).Neg(t.quote))
			add(spot, m.Base, new(big.Rat).Sub(f.qty, t.commission))
		} else {
			t.commissionAsset = m.Quote
			t.commission = ceilDec(new(big.Rat).Mul(t.quote, m.taker), 8)
			add(spot, m.Base, new(big.Rat).Neg(f.qty))
			add(spot, m.Quote, new(big.Rat).Sub(t.quote, t.commission))
		}
		o.fills = append(o.fills, t)
		s.trades = append(s.trades, t)
		s.recordLocked(Action{Kind: ActionTrade, APIKey: r.acct.key, ID: strconv.FormatInt(t.id, 10), ClientID: cid, Coin: m.Base, Amount: fmtDec(f.qty, 8)})
	}
	o.executed, o.cumQuote = filled, quote
	switch {
	case filled.Cmp(qty) == 0:
		o.status = "FILLED"
	case resting && filled.Sign() > 0:
		o.status = "PARTIALLY_FILLED"
	case resting:
		o.status = "NEW"
	default:
		o.status = "EXPIRED"
	}
	if resting {
		if side == "BUY" {
			o.lockedCoin, o.locked = m.Quote, new(big.Rat).Mul(rest, o.price)
		} else {
			o.lockedCoin, o.locked = m.Base, rest
		}
		add(spot, o.lockedCoin, new(big.Rat).Neg(o.locked))
		add(r.acct.orderLocked, o.lockedCoin, o.locked)
	}
	s.orders = append(s.orders, o)
	return s.orderJSON(o, true), nil
}

// qtyForQuote is the base quantity (a multiple of step) whose fill through book costs (or, for
// sells, yields) at most quote.
func qtyForQuote(book []level, quote, step *big.Rat) *big.Rat {
	left := new(big.Rat).Set(quote)
	qty := new(big.Rat)
	for _, l := range book {
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
	return floorTo(qty, step)
}

// walk fills qty against book up to the limit price (nil: any price), returning the fills, the
// filled quantity and the quote amount.
func walk(book []level, side string, qty, limit *big.Rat) ([]level, *big.Rat, *big.Rat) {
	left := new(big.Rat).Set(qty)
	filled, quote := new(big.Rat), new(big.Rat)
	var fills []level
	for _, l := range book {
		if left.Sign() <= 0 {
			break
		}
		if limit != nil && ((side == "BUY" && l.price.Cmp(limit) > 0) || (side == "SELL" && l.price.Cmp(limit) < 0)) {
			break
		}
		q := ratMin(left, l.qty)
		q = new(big.Rat).Set(q)
		fills = append(fills, level{price: l.price, qty: q})
		filled.Add(filled, q)
		quote.Add(quote, new(big.Rat).Mul(q, l.price))
		left.Sub(left, q)
	}
	return fills, filled, quote
}

func (s *Sim) orderJSON(o *order, withFills bool) map[string]any {
	tif := o.tif
	if tif == "" {
		tif = "GTC"
	}
	out := map[string]any{
		"symbol": s.sym.Name, "orderId": o.id, "orderListId": -1, "clientOrderId": o.clientID,
		"price": fmtDec(o.price, 8), "origQty": fmtDec(o.origQty, 8), "executedQty": fmtDec(o.executed, 8),
		"cummulativeQuoteQty": fmtDec(o.cumQuote, 8), "origQuoteOrderQty": fmtDec(o.origQQ, 8),
		"status": o.status, "timeInForce": tif, "type": o.typ, "side": o.side,
		"workingTime": o.time, "selfTradePreventionMode": "EXPIRE_MAKER",
	}
	if withFills {
		out["transactTime"] = o.updateTime
		fills := []map[string]any{}
		for _, t := range o.fills {
			fills = append(fills, map[string]any{"price": fmtDec(t.price, 8), "qty": fmtDec(t.qty, 8),
				"commission": fmtDec(t.commission, 8), "commissionAsset": t.commissionAsset, "tradeId": t.id})
		}
		out["fills"] = fills
	} else {
		out["stopPrice"] = "0.00000000"
		out["icebergQty"] = "0.00000000"
		out["time"] = o.time
		out["updateTime"] = o.updateTime
		out["isWorking"] = true
	}
	return out
}

func (s *Sim) findOrder(r *request) (*order, *apiError) {
	if r.p.Get("symbol") != s.sym.Name {
		return nil, newErr(http.StatusBadRequest, codeBadSymbol, "Invalid symbol.")
	}
	oid, cid := r.p.Get("orderId"), r.p.Get("origClientOrderId")
	if oid == "" && cid == "" {
		return nil, newErr(http.StatusBadRequest, codeMandatoryParam, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
	}
	// The latest order with that client id wins, as on Binance when an id was reused.
	for i := len(s.orders) - 1; i >= 0; i-- {
		o := s.orders[i]
		if o.acct != r.acct {
			continue
		}
		if (oid != "" && strconv.FormatInt(o.id, 10) == oid) || (oid == "" && o.clientID == cid) {
			return o, nil
		}
	}
	return nil, newErr(http.StatusBadRequest, codeNoSuchOrder, "Order does not exist.")
}

func (s *Sim) handleGetOrder(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.findOrder(r)
	if e != nil {
		return nil, e
	}
	return s.orderJSON(o, false), nil
}

func (s *Sim) handleCancelOrder(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, e := s.findOrder(r)
	if e != nil {
		return nil, e
	}
	if !o.open() {
		return nil, newErr(http.StatusBadRequest, -2011, "Unknown order sent.")
	}
	add(o.acct.orderLocked, o.lockedCoin, new(big.Rat).Neg(o.locked))
	add(o.acct.wallets[walletSpot], o.lockedCoin, o.locked)
	o.locked = new(big.Rat)
	o.status = "CANCELED"
	o.updateTime = r.now.UnixMilli()
	out := s.orderJSON(o, false)
	out["origClientOrderId"] = o.clientID
	return out, nil
}

func (s *Sim) handleMyTrades(r *request) (any, *apiError) {
	if r.p.Get("symbol") != s.sym.Name {
		return nil, newErr(http.StatusBadRequest, codeBadSymbol, "Invalid symbol.")
	}
	oid := r.p.Get("orderId")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, o := range s.orders {
		if o.acct != r.acct || (oid != "" && strconv.FormatInt(o.id, 10) != oid) {
			continue
		}
		for _, t := range o.fills {
			out = append(out, map[string]any{"symbol": s.sym.Name, "id": t.id, "orderId": t.orderID, "orderListId": -1,
				"price": fmtDec(t.price, 8), "qty": fmtDec(t.qty, 8), "quoteQty": fmtDec(t.quote, 8),
				"commission": fmtDec(t.commission, 8), "commissionAsset": t.commissionAsset, "time": t.time,
				"isBuyer": t.isBuyer, "isMaker": false, "isBestMatch": true})
		}
	}
	return out, nil
}

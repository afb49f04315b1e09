package hyperliquid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// Cloid derives an order's client order id from its intent id and attempt number, so that after a
// crash the executor finds the order it may already have placed: 0x + 16 bytes of
// keccak256("rebalancer/hyperliquid/cloid/<intent id>/<attempt>").
func Cloid(intentID string, attempt int) string {
	h := crypto.Keccak256([]byte("rebalancer/hyperliquid/cloid/" + intentID + "/" + strconv.Itoa(attempt)))
	return hexutil.Encode(h[:16])
}

// OrderRequest is an IOC limit order on the pair.
type OrderRequest struct {
	IntentID string
	Attempt  int
	IsBuy    bool
	// Size is in base wei and must be a whole number of the base token's szDecimals units.
	Size *big.Int
	// LimitPx bounds the price (quote per base). It is rounded to the tick rules inside the bound:
	// down for a buy, up for a sell.
	LimitPx *big.Rat
}

// Order statuses of an OrderResult.
const (
	OrderFilled   = "filled"   // fully filled
	OrderPartial  = "partial"  // partly filled, the rest canceled (IOC)
	OrderRejected = "rejected" // nothing filled
)

// OrderResult is what an order did. Amounts are gross in wei of their token; the fee is charged in
// FeeToken (the token received).
type OrderResult struct {
	Cloid  string
	Oid    uint64
	Status string
	// Reason is the venue's status for a rejected order ("iocCancelRejected", …).
	Reason string
	// Base is the base filled; Quote the quote paid (buy) or received (sell).
	Base, Quote *big.Int
	Fee         *big.Int
	FeeToken    string
	side        string
}

// Received is the amount of the received token net of the fee.
func (r OrderResult) Received() *big.Int {
	if r.Base == nil {
		return new(big.Int)
	}
	if r.FeeToken == "" {
		return new(big.Int)
	}
	got := r.Quote
	if r.isBuy() {
		got = r.Base
	}
	return new(big.Int).Sub(got, r.Fee)
}

func (r OrderResult) isBuy() bool { return r.side == "B" }

// Prepared is a signed action: persist it before the first send, resend exactly these bytes after a
// crash or an ambiguous answer, and sign anew only once Find* shows it did not land.
type Prepared struct {
	Kind  string          `json:"kind"` // order | spotSend | withdraw3 | usdClassTransfer
	Cloid string          `json:"cloid,omitempty"`
	Nonce uint64          `json:"nonce"`
	Body  json.RawMessage `json:"body"`
	// Amount is the amount moved (transfers), in the token's wei.
	Amount *big.Int `json:"amount,omitempty"`
	Token  string   `json:"token,omitempty"`
	weight int
}

// PrepareOrder signs an IOC order with a fresh nonce.
func (c *Client) PrepareOrder(ctx context.Context, r OrderRequest) (Prepared, error) {
	m := c.Meta()
	unit := pow10(m.Base.WeiDecimals - m.Base.SzDecimals)
	if r.Size == nil || r.Size.Sign() <= 0 || new(big.Int).Rem(r.Size, unit).Sign() != 0 {
		return Prepared{}, fmt.Errorf("order %s: size %v is not a positive multiple of %s", r.IntentID, r.Size, unit)
	}
	if r.LimitPx == nil || r.LimitPx.Sign() <= 0 {
		return Prepared{}, fmt.Errorf("order %s: limit price required", r.IntentID)
	}
	px := wire.FormatPrice(r.LimitPx, m.Base.SzDecimals, !r.IsBuy)
	pxRat, _ := wire.ParseRat(px)
	minNtl, err := wire.ParseRat(c.cfg.MinNotional)
	if err != nil {
		return Prepared{}, fmt.Errorf("%w: min notional: %w", ErrConfig, err)
	}
	if new(big.Rat).Mul(pxRat, new(big.Rat).SetFrac(r.Size, pow10(m.Base.WeiDecimals))).Cmp(minNtl) < 0 {
		return Prepared{}, fmt.Errorf("order %s: value below %s %s: %w", r.IntentID, c.cfg.MinNotional, m.Quote.Name, ErrBelowMinimum)
	}
	cloid := Cloid(r.IntentID, r.Attempt)
	action := wire.NewOrderAction(wire.OrderWire{
		Asset: m.Asset, IsBuy: r.IsBuy, Price: px,
		Size: wire.FormatDecimal(new(big.Int).Quo(r.Size, unit), m.Base.SzDecimals),
		Type: wire.OrderType{Limit: &wire.Limit{Tif: wire.TifIoc}}, Cloid: cloid,
	})
	nonce, err := c.cfg.Nonces.Next(ctx)
	if err != nil {
		return Prepared{}, fmt.Errorf("order %s: %w", r.IntentID, err)
	}
	req, err := wire.SignL1(c.cfg.Key.k, c.cfg.Network, action, nonce)
	if err != nil {
		return Prepared{}, fmt.Errorf("order %s: %w", r.IntentID, err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Prepared{}, err
	}
	return Prepared{Kind: "order", Cloid: cloid, Nonce: nonce, Body: body, weight: 1}, nil
}

// PlaceIOC places an IOC order once per (intent, attempt): it first looks the cloid up and returns
// the existing order's result if there is one; otherwise it signs and submits.
func (c *Client) PlaceIOC(ctx context.Context, r OrderRequest) (OrderResult, error) {
	cloid := Cloid(r.IntentID, r.Attempt)
	res, found, err := c.FindOrder(ctx, cloid)
	if err != nil {
		return OrderResult{}, fmt.Errorf("order %s lookup: %w", cloid, err)
	}
	if found {
		return res, nil
	}
	p, err := c.PrepareOrder(ctx, r)
	if err != nil {
		return OrderResult{}, err
	}
	return c.SubmitOrder(ctx, p)
}

// SubmitOrder sends a prepared order. After an ambiguous answer (timeout, 5xx, 429, dropped
// connection) it looks the cloid up for up to LookupLag and only resends the same bytes if the order
// is still absent; a "duplicate nonce" answer means those bytes landed, so it looks up again.
func (c *Client) SubmitOrder(ctx context.Context, p Prepared) (OrderResult, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, p.Body, max(p.weight, 1))
		if err == nil {
			return c.orderAnswer(ctx, p, resp)
		}
		var ve *VenueError
		dup := errors.As(err, &ve) && ve.duplicateNonce()
		if !dup && !ambiguous(err) {
			return OrderResult{}, fmt.Errorf("order %s: %w", p.Cloid, err)
		}
		c.cfg.Log.Warn().Err(err).Str("cloid", p.Cloid).Int("attempt", attempt).Msg("hyperliquid order outcome unknown, looking it up")
		res, found, lerr := c.awaitOrder(ctx, p.Cloid)
		if lerr != nil && ctx.Err() != nil {
			return OrderResult{}, fmt.Errorf("order %s: %w", p.Cloid, lerr)
		}
		if found {
			return res, nil
		}
		if dup || attempt >= c.cfg.Resends {
			return OrderResult{}, fmt.Errorf("order %s: %w (last error: %s)", p.Cloid, ErrUnknownOutcome, err.Error())
		}
	}
}

// orderAnswer reads the order response's status and fetches the exact fill amounts.
func (c *Client) orderAnswer(ctx context.Context, p Prepared, resp json.RawMessage) (OrderResult, error) {
	var ans struct {
		Data struct {
			Statuses []json.RawMessage `json:"statuses"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp, &ans); err != nil || len(ans.Data.Statuses) != 1 {
		return OrderResult{}, fmt.Errorf("order %s: %w: unexpected answer %s", p.Cloid, ErrBadRequest, truncate(resp))
	}
	var st struct {
		Error  string `json:"error"`
		Filled *struct {
			Oid uint64 `json:"oid"`
		} `json:"filled"`
		Resting *struct {
			Oid uint64 `json:"oid"`
		} `json:"resting"`
	}
	if err := json.Unmarshal(ans.Data.Statuses[0], &st); err != nil {
		return OrderResult{}, fmt.Errorf("order %s: %w: status %s", p.Cloid, ErrBadRequest, truncate(ans.Data.Statuses[0]))
	}
	if st.Error != "" {
		// A rejected order is an outcome, not a failure: nothing traded. The caller decides whether to
		// try again under a new attempt number (a new cloid).
		return OrderResult{Cloid: p.Cloid, Status: OrderRejected, Reason: st.Error, Base: new(big.Int),
			Quote: new(big.Int), Fee: new(big.Int)}, nil
	}
	res, found, err := c.awaitOrder(ctx, p.Cloid)
	if err != nil {
		return OrderResult{}, err
	}
	if !found {
		return OrderResult{}, fmt.Errorf("order %s accepted but not found by cloid: %w", p.Cloid, ErrUnknownOutcome)
	}
	return res, nil
}

// awaitOrder looks the cloid up until it is found or LookupLag has passed.
func (c *Client) awaitOrder(ctx context.Context, cloid string) (OrderResult, bool, error) {
	deadline := c.cfg.Now().Add(c.cfg.LookupLag)
	for {
		res, found, err := c.FindOrder(ctx, cloid)
		if found || (err != nil && !ambiguous(err)) {
			return res, found, err
		}
		if !c.cfg.Now().Before(deadline) {
			return res, false, err
		}
		if serr := c.cfg.Sleep(ctx, c.cfg.LookupLag/10); serr != nil {
			return res, false, serr
		}
	}
}

// FindOrder looks an order up by cloid (orderStatus) and, when it traded, sums its fills (userFills)
// into exact amounts. found is false when the venue does not know the cloid.
func (c *Client) FindOrder(ctx context.Context, cloid string) (OrderResult, bool, error) {
	ans, found, err := c.lookupOrder(ctx, cloid)
	if err != nil || !found {
		return OrderResult{}, false, err
	}
	m := c.Meta()
	o := ans.Order.Order
	res := OrderResult{Cloid: cloid, Oid: o.Oid, side: o.Side, Base: new(big.Int), Quote: new(big.Int), Fee: new(big.Int)}
	orig, err := wire.ParseDecimal(o.OrigSz, m.Base.WeiDecimals)
	if err != nil {
		return OrderResult{}, false, fmt.Errorf("order %s origSz: %w", cloid, err)
	}
	rest, err := wire.ParseDecimal(o.Sz, m.Base.WeiDecimals)
	if err != nil {
		return OrderResult{}, false, fmt.Errorf("order %s sz: %w", cloid, err)
	}
	filled := new(big.Int).Sub(orig, rest)
	switch ans.Order.Status {
	case "filled":
		res.Status = OrderFilled
	case "canceled":
		res.Status = OrderPartial
	case "open":
		return OrderResult{}, false, fmt.Errorf("order %s is resting: IOC orders never rest", cloid)
	default:
		res.Status, res.Reason = OrderRejected, ans.Order.Status
	}
	if filled.Sign() == 0 || o.Oid == 0 {
		res.Status = OrderRejected
		if res.Reason == "" {
			res.Reason = ans.Order.Status
		}
		return res, true, nil
	}
	// Fills can trail the order's status: wait until they add up to the filled size.
	deadline := c.cfg.Now().Add(c.cfg.LookupLag)
	for {
		fs, err := c.fills(ctx, o.Oid)
		if err != nil {
			return OrderResult{}, false, err
		}
		if err := res.sum(m, fs); err != nil {
			return OrderResult{}, false, fmt.Errorf("order %s fills: %w", cloid, err)
		}
		if res.Base.Cmp(filled) == 0 {
			return res, true, nil
		}
		if !c.cfg.Now().Before(deadline) {
			return OrderResult{}, false, fmt.Errorf("order %s: fills %s of %s filled: %w", cloid, res.Base, filled, ErrUnknownOutcome)
		}
		if err := c.cfg.Sleep(ctx, c.cfg.LookupLag/10); err != nil {
			return OrderResult{}, false, err
		}
	}
}

// sum adds fills exactly: the quote of each fill is px × sz, rounded against the account (paid up,
// received down), and fees are summed in their token.
func (r *OrderResult) sum(m Meta, fs []fillAnswer) error {
	r.Base, r.Quote, r.Fee = new(big.Int), new(big.Int), new(big.Int)
	for _, f := range fs {
		sz, err := wire.ParseDecimal(f.Sz, m.Base.WeiDecimals)
		if err != nil {
			return err
		}
		px, err := wire.ParseRat(f.Px)
		if err != nil {
			return err
		}
		feeDec := m.Quote.WeiDecimals
		if f.FeeToken == m.Base.Name {
			feeDec = m.Base.WeiDecimals
		}
		fee, err := wire.ParseDecimal(f.Fee, feeDec)
		if err != nil {
			return err
		}
		q := new(big.Rat).Mul(px, new(big.Rat).SetFrac(sz, pow10(m.Base.WeiDecimals)))
		r.Base.Add(r.Base, sz)
		r.Quote.Add(r.Quote, ratToInt(q, m.Quote.WeiDecimals, f.Side == "B"))
		r.Fee.Add(r.Fee, fee)
		r.FeeToken = f.FeeToken
	}
	return nil
}

func ratToInt(r *big.Rat, decimals int, up bool) *big.Int {
	num := new(big.Int).Mul(r.Num(), pow10(decimals))
	q, rem := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if up && rem.Sign() != 0 {
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

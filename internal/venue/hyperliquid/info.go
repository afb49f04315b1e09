package hyperliquid

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// Balance is one spot balance in the token's wei decimals.
type Balance struct {
	Token     string
	Total     *big.Int
	Hold      *big.Int
	Available *big.Int // Total − Hold
	Decimals  int
}

// Balances reads the account's spot balances (spotClearinghouseState).
func (c *Client) Balances(ctx context.Context) ([]Balance, error) {
	var ans struct {
		Balances []struct {
			Coin  string `json:"coin"`
			Token uint32 `json:"token"`
			Hold  string `json:"hold"`
			Total string `json:"total"`
		} `json:"balances"`
	}
	if err := c.info(ctx, map[string]any{"type": "spotClearinghouseState", "user": c.Address()}, &ans); err != nil {
		return nil, err
	}
	m := c.Meta()
	var out []Balance
	for _, b := range ans.Balances {
		var dec int
		switch b.Token {
		case m.Base.Index:
			dec = m.Base.WeiDecimals
		case m.Quote.Index:
			dec = m.Quote.WeiDecimals
		default:
			continue // a token the adapter does not trade
		}
		total, err := wire.ParseDecimal(b.Total, dec)
		if err != nil {
			return nil, fmt.Errorf("balance %s total: %w", b.Coin, err)
		}
		hold, err := wire.ParseDecimal(b.Hold, dec)
		if err != nil {
			return nil, fmt.Errorf("balance %s hold: %w", b.Coin, err)
		}
		out = append(out, Balance{Token: b.Coin, Total: total, Hold: hold, Available: new(big.Int).Sub(total, hold), Decimals: dec})
	}
	return out, nil
}

// Balance returns the spot balance of one pair token (zero when the venue lists none).
func (c *Client) Balance(ctx context.Context, token string) (Balance, error) {
	t, err := c.Token(token)
	if err != nil {
		return Balance{}, err
	}
	bs, err := c.Balances(ctx)
	if err != nil {
		return Balance{}, err
	}
	for _, b := range bs {
		if b.Token == t.Name {
			return b, nil
		}
	}
	return Balance{Token: t.Name, Total: new(big.Int), Hold: new(big.Int), Available: new(big.Int), Decimals: t.WeiDecimals}, nil
}

// PerpWithdrawable is the perp USDC balance withdraw3 and usdClassTransfer draw on, in USDC wei.
func (c *Client) PerpWithdrawable(ctx context.Context) (*big.Int, error) {
	var ans struct {
		Withdrawable string `json:"withdrawable"`
	}
	if err := c.info(ctx, map[string]any{"type": "clearinghouseState", "user": c.Address()}, &ans); err != nil {
		return nil, err
	}
	v, err := wire.ParseDecimal(ans.Withdrawable, c.Meta().Quote.WeiDecimals)
	if err != nil {
		return nil, fmt.Errorf("withdrawable: %w", err)
	}
	return v, nil
}

// Level is one book level: price (quote per base) and size in base wei.
type Level struct {
	Px *big.Rat
	Sz *big.Int
}

// Book is the pair's order book, best levels first.
type Book struct{ Bids, Asks []Level }

// Book reads the pair's order book (l2Book).
func (c *Client) Book(ctx context.Context) (Book, error) {
	m := c.Meta()
	var ans struct {
		Levels [2][]struct {
			Px string `json:"px"`
			Sz string `json:"sz"`
		} `json:"levels"`
	}
	if err := c.info(ctx, map[string]any{"type": "l2Book", "coin": m.Coin}, &ans); err != nil {
		return Book{}, err
	}
	var b Book
	for side, levels := range ans.Levels {
		for _, l := range levels {
			px, err := wire.ParseRat(l.Px)
			if err != nil {
				return Book{}, fmt.Errorf("book px: %w", err)
			}
			sz, err := wire.ParseDecimal(l.Sz, m.Base.WeiDecimals)
			if err != nil {
				return Book{}, fmt.Errorf("book sz: %w", err)
			}
			if side == 0 {
				b.Bids = append(b.Bids, Level{px, sz})
			} else {
				b.Asks = append(b.Asks, Level{px, sz})
			}
		}
	}
	return b, nil
}

// Fees are the account's spot fee rates.
type Fees struct{ Taker, Maker *big.Rat }

// Fees returns the account's spot fee rates (userFees), read again once older than MetaTTL.
func (c *Client) Fees(ctx context.Context) (Fees, error) {
	c.cacheMu.Lock()
	if c.fees != nil && c.cfg.Now().Sub(c.feesAt) < c.cfg.MetaTTL {
		f := *c.fees
		c.cacheMu.Unlock()
		return f, nil
	}
	c.cacheMu.Unlock()
	f, err := c.readFees(ctx)
	if err != nil {
		return Fees{}, err
	}
	c.cacheMu.Lock()
	c.fees, c.feesAt = &f, c.cfg.Now()
	c.cacheMu.Unlock()
	return f, nil
}

func (c *Client) readFees(ctx context.Context) (Fees, error) {
	var ans struct {
		Taker string `json:"userSpotCrossRate"`
		Maker string `json:"userSpotAddRate"`
	}
	if err := c.info(ctx, map[string]any{"type": "userFees", "user": c.Address()}, &ans); err != nil {
		return Fees{}, err
	}
	t, err := wire.ParseRat(ans.Taker)
	if err != nil {
		return Fees{}, fmt.Errorf("taker fee: %w", err)
	}
	m, err := wire.ParseRat(ans.Maker)
	if err != nil {
		return Fees{}, fmt.Errorf("maker fee: %w", err)
	}
	return Fees{Taker: t, Maker: m}, nil
}

// orderStatusAnswer is orderStatus's answer.
type orderStatusAnswer struct {
	Status string `json:"status"`
	Order  *struct {
		Order struct {
			Oid    uint64 `json:"oid"`
			Sz     string `json:"sz"`
			OrigSz string `json:"origSz"`
			Cloid  string `json:"cloid"`
			Side   string `json:"side"`
		} `json:"order"`
		Status string `json:"status"`
	} `json:"order"`
}

// lookupOrder asks orderStatus by cloid; found is false for "unknownOid".
func (c *Client) lookupOrder(ctx context.Context, cloid string) (orderStatusAnswer, bool, error) {
	var ans orderStatusAnswer
	if err := c.info(ctx, map[string]any{"type": "orderStatus", "user": c.Address(), "oid": cloid}, &ans); err != nil {
		return ans, false, err
	}
	if ans.Status != "order" || ans.Order == nil {
		return ans, false, nil
	}
	return ans, true, nil
}

type fillAnswer struct {
	Coin     string `json:"coin"`
	Px       string `json:"px"`
	Sz       string `json:"sz"`
	Side     string `json:"side"`
	Oid      uint64 `json:"oid"`
	Fee      string `json:"fee"`
	FeeToken string `json:"feeToken"`
	Tid      uint64 `json:"tid"`
}

// fills returns the account's fills of one order (userFills).
func (c *Client) fills(ctx context.Context, oid uint64) ([]fillAnswer, error) {
	var all []fillAnswer
	if err := c.info(ctx, map[string]any{"type": "userFills", "user": c.Address()}, &all); err != nil {
		return nil, err
	}
	var out []fillAnswer
	for _, f := range all {
		if f.Oid == oid {
			out = append(out, f)
		}
	}
	return out, nil
}

// LedgerUpdate is one non-funding ledger update: deposits, withdrawals, transfers.
type LedgerUpdate struct {
	Time  int64           `json:"time"`
	Hash  string          `json:"hash"`
	Delta json.RawMessage `json:"delta"`
}

type ledgerDelta struct {
	Type        string  `json:"type"`
	Usdc        string  `json:"usdc"`
	Token       string  `json:"token"`
	Amount      string  `json:"amount"`
	Fee         string  `json:"fee"`
	Destination string  `json:"destination"`
	User        string  `json:"user"`
	Nonce       *uint64 `json:"nonce"`
	ToPerp      *bool   `json:"toPerp"`
}

// LedgerUpdates reads the account's non-funding ledger updates since startMs.
func (c *Client) LedgerUpdates(ctx context.Context, startMs int64) ([]LedgerUpdate, error) {
	var out []LedgerUpdate
	err := c.info(ctx, map[string]any{"type": "userNonFundingLedgerUpdates", "user": c.Address(), "startTime": startMs}, &out)
	return out, err
}

func lower(s string) string { return strings.ToLower(s) }

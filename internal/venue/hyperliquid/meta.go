package hyperliquid

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Token is a spot token as spotMeta describes it.
type Token struct {
	Name        string
	Index       uint32
	TokenID     string
	SzDecimals  int
	WeiDecimals int
	// EVMContract is the HyperEVM ERC20 (zero if not linked); EVMDecimals its decimals there.
	EVMContract common.Address
	EVMDecimals int
}

// SystemAddress is the token's HyperEVM system address (0x20, zeros, index big-endian): a spotSend
// to it moves the token to HyperEVM; an ERC20 transfer to it on HyperEVM moves it to HyperCore
// (except USDC, which must use CoreDepositWallet).
func (t Token) SystemAddress() common.Address {
	var a common.Address
	a[0] = 0x20
	idx := new(big.Int).SetUint64(uint64(t.Index)).Bytes()
	copy(a[20-len(idx):], idx)
	return a
}

// Wire is the token's spotSend name, "NAME:0x<tokenId>".
func (t Token) Wire() string { return t.Name + ":" + t.TokenID }

// Meta is the pair the adapter trades, resolved from spotMeta at start-up and on Refresh.
type Meta struct {
	Base, Quote Token
	// Asset is 10000 + the pair's universe index; Coin is its book name ("@166").
	Asset uint32
	Coin  string
}

// Meta returns the resolved pair.
func (c *Client) Meta() Meta { return *c.meta.Load() }

type spotMetaAnswer struct {
	Tokens []struct {
		Name        string `json:"name"`
		SzDecimals  int    `json:"szDecimals"`
		WeiDecimals int    `json:"weiDecimals"`
		Index       uint32 `json:"index"`
		TokenID     string `json:"tokenId"`
		EVMContract *struct {
			Address          common.Address `json:"address"`
			EVMExtraDecimals int            `json:"evm_extra_wei_decimals"`
		} `json:"evmContract"`
	} `json:"tokens"`
	Universe []struct {
		Tokens []uint32 `json:"tokens"`
		Name   string   `json:"name"`
		Index  uint32   `json:"index"`
	} `json:"universe"`
}

// Refresh re-reads spotMeta and resolves the pair and its tokens; nothing about them is hard-coded.
func (c *Client) Refresh(ctx context.Context) error {
	var m spotMetaAnswer
	if err := c.info(ctx, map[string]any{"type": "spotMeta"}, &m); err != nil {
		return err
	}
	tokens := map[uint32]Token{}
	byName := map[string]Token{}
	for _, t := range m.Tokens {
		tok := Token{Name: t.Name, Index: t.Index, TokenID: t.TokenID, SzDecimals: t.SzDecimals, WeiDecimals: t.WeiDecimals}
		if t.EVMContract != nil {
			tok.EVMContract = t.EVMContract.Address
			tok.EVMDecimals = t.WeiDecimals + t.EVMContract.EVMExtraDecimals
		}
		tokens[t.Index] = tok
		if _, dup := byName[t.Name]; !dup { // names can repeat for non-canonical tokens; keep the first
			byName[t.Name] = tok
		}
	}
	base, okB := byName[c.cfg.Base]
	quote, okQ := byName[c.cfg.Quote]
	if !okB || !okQ {
		return fmt.Errorf("%w: tokens %s/%s in spotMeta", ErrNotFound, c.cfg.Base, c.cfg.Quote)
	}
	for _, u := range m.Universe {
		if len(u.Tokens) == 2 && u.Tokens[0] == base.Index && u.Tokens[1] == quote.Index {
			c.meta.Store(&Meta{Base: base, Quote: quote, Asset: 10000 + u.Index, Coin: u.Name})
			c.cacheMu.Lock()
			c.metaAt = c.cfg.Now()
			c.cacheMu.Unlock()
			return nil
		}
	}
	return fmt.Errorf("%w: pair %s/%s in spotMeta universe", ErrNotFound, c.cfg.Base, c.cfg.Quote)
}

// RefreshIfStale re-reads spotMeta when the last read is older than MetaTTL.
func (c *Client) RefreshIfStale(ctx context.Context) error {
	c.cacheMu.Lock()
	fresh := c.cfg.Now().Sub(c.metaAt) < c.cfg.MetaTTL
	c.cacheMu.Unlock()
	if fresh {
		return nil
	}
	return c.Refresh(ctx)
}

// Token returns the pair token named name.
func (c *Client) Token(name string) (Token, error) {
	m := c.Meta()
	switch name {
	case m.Base.Name:
		return m.Base, nil
	case m.Quote.Name:
		return m.Quote, nil
	}
	return Token{}, fmt.Errorf("%w: token %s", ErrNotFound, name)
}

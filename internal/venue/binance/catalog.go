package binance

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	bn "github.com/adshao/go-binance/v2"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// Routes implements venue.Catalog from GET /sapi/v1/capital/config/getall: every configured
// (network, token) that Binance lists, with its live flags, fee, bounds and confirmations in the
// chain's decimals (fee and minimum rounded up, maximum down).
func (c *Client) Routes(ctx context.Context) ([]venue.Route, error) {
	var coins []*bn.CoinInfo
	if err := c.read(ctx, "coins", func(l *bn.Client) (err error) {
		coins, err = l.NewGetAllCoinsInfoService().Do(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	byCoin := map[string]*bn.CoinInfo{}
	for _, ci := range coins {
		byCoin[ci.Coin] = ci
	}
	var out []venue.Route
	for _, n := range c.cfg.Networks {
		for _, t := range n.Tokens {
			ci := byCoin[t.Coin]
			if ci == nil {
				c.cfg.Log.Warn().Str("coin", t.Coin).Msg("binance does not list the coin")
				continue
			}
			var bnet *bn.Network
			for i := range ci.NetworkList {
				if ci.NetworkList[i].Network == n.Name {
					bnet = &ci.NetworkList[i]
				}
			}
			if bnet == nil {
				c.cfg.Log.Warn().Str("coin", t.Coin).Str("network", n.Name).Msg("binance does not offer the coin on the network")
				continue
			}
			r, err := routeOf(n, t, bnet)
			if err != nil {
				c.cfg.Log.Error().Err(err).Str("coin", t.Coin).Str("network", n.Name).Msg("binance route skipped")
				continue
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func routeOf(n Network, t Token, bnet *bn.Network) (venue.Route, error) {
	if t.Address != "" && bnet.ContractAddress != "" && !strings.EqualFold(t.Address, bnet.ContractAddress) {
		return venue.Route{}, fmt.Errorf("%w: contract %s, configured %s", venue.ErrUnsupported, bnet.ContractAddress, t.Address)
	}
	addr := t.Address
	if addr == "" {
		addr = bnet.ContractAddress
	}
	r := venue.Route{
		Venue: Name, Token: t.Symbol, Coin: t.Coin, Network: n.Name, ChainID: n.ChainID, TokenAddress: addr,
		Decimals: t.Decimals, DepositEnabled: bnet.DepositEnable, WithdrawEnabled: bnet.WithdrawEnable,
		Confirmations: venue.Confirmations{Credit: uint64(max(bnet.MinConfirm, 0)), Unlock: uint64(max(bnet.UnLockConfirm, 0))},
	}
	var err error
	parse := func(s string, mode venue.Rounding) venue.Amount {
		if err != nil {
			return venue.Amount{}
		}
		if s == "" {
			return venue.Amount{}
		}
		var a venue.Amount
		a, err = venue.ParseAmountRounded(s, t.Decimals, mode)
		return a
	}
	r.Limits = venue.Limits{
		WithdrawFee:      parse(bnet.WithdrawFee, venue.Up),
		WithdrawMin:      parse(bnet.WithdrawMin, venue.Up),
		WithdrawMax:      parse(bnet.WithdrawMax, venue.Down),
		WithdrawMultiple: parse(bnet.WithdrawIntegerMultiple, venue.Up),
	}
	if err != nil {
		return venue.Route{}, err
	}
	if r.Limits.WithdrawMax.Sign() == 0 {
		r.Limits.WithdrawMax = venue.Amount{}
	}
	return r, nil
}

func (c *Client) route(ctx context.Context, k venue.Key) (venue.Route, error) {
	routes, err := c.Routes(ctx)
	if err != nil {
		return venue.Route{}, err
	}
	for _, r := range routes {
		if r.Key() == k {
			return r, nil
		}
	}
	return venue.Route{}, fmt.Errorf("%w: %s on chain %d", venue.ErrUnsupported, k.Token, k.ChainID)
}

// networkOf maps a route key to the configured network and token without a request.
func (c *Client) networkOf(k venue.Key) (Network, Token, error) {
	for _, n := range c.cfg.Networks {
		if n.ChainID != k.ChainID {
			continue
		}
		for _, t := range n.Tokens {
			if t.Symbol == k.Token {
				return n, t, nil
			}
		}
	}
	return Network{}, Token{}, fmt.Errorf("%w: %s on chain %d is not configured", venue.ErrUnsupported, k.Token, k.ChainID)
}

// coinOf maps a token symbol to Binance's coin.
func (c *Client) coinOf(token string) (string, error) {
	for _, n := range c.cfg.Networks {
		for _, t := range n.Tokens {
			if t.Symbol == token {
				return t.Coin, nil
			}
		}
	}
	return "", fmt.Errorf("%w: token %s is not configured", venue.ErrUnsupported, token)
}

type level struct{ price, qty *big.Rat }

func (c *Client) depth(ctx context.Context) (bids, asks []level, err error) {
	var d *bn.DepthResponse
	if err := c.read(ctx, "depth", func(l *bn.Client) (err error) {
		d, err = l.NewDepthService().Symbol(c.cfg.Symbol).Limit(100).Do(ctx)
		return err
	}); err != nil {
		return nil, nil, err
	}
	conv := func(p, q string) (level, error) {
		pr, ok1 := parseRat(p)
		qt, ok2 := parseRat(q)
		if !ok1 || !ok2 {
			return level{}, fmt.Errorf("%w: depth level %q %q", venue.ErrUnsupported, p, q)
		}
		return level{pr, qt}, nil
	}
	for _, b := range d.Bids {
		l, err := conv(b.Price, b.Quantity)
		if err != nil {
			return nil, nil, err
		}
		bids = append(bids, l)
	}
	for _, a := range d.Asks {
		l, err := conv(a.Price, a.Quantity)
		if err != nil {
			return nil, nil, err
		}
		asks = append(asks, l)
	}
	return bids, asks, nil
}

package binance

import (
	"context"
	"fmt"
	"sort"

	bn "github.com/adshao/go-binance/v2"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// VenueDecimals is the precision Binance reports balances in.
const VenueDecimals = 8

// Balances implements venue.Balancer: the spot wallet (GET /api/v3/account) for the configured
// coins, in 8 decimals. The funding wallet has no go-binance service and is not included.
func (c *Client) Balances(ctx context.Context) (venue.Snapshot, error) {
	var acct *bn.Account
	if err := c.read(ctx, "account", func(l *bn.Client) (err error) {
		acct, err = l.NewGetAccountService().Do(ctx, c.recvWindow())
		return err
	}); err != nil {
		return venue.Snapshot{}, err
	}
	tokenOf := map[string]string{}
	for _, n := range c.cfg.Networks {
		for _, t := range n.Tokens {
			if _, ok := tokenOf[t.Coin]; !ok {
				tokenOf[t.Coin] = t.Symbol
			}
		}
	}
	snap := venue.Snapshot{Venue: Name, Account: c.cfg.Credentials.String(), Seq: c.seq.Add(1), AsOf: c.cfg.Now()}
	if acct.UpdateTime > 0 {
		snap.AsOf = msTime(int64(acct.UpdateTime))
	}
	for _, b := range acct.Balances {
		tok, ok := tokenOf[b.Asset]
		if !ok {
			continue
		}
		free, err := venue.ParseAmountRounded(b.Free, VenueDecimals, venue.Down)
		if err != nil {
			return venue.Snapshot{}, fmt.Errorf("balance %s: %w", b.Asset, err)
		}
		locked, err := venue.ParseAmountRounded(b.Locked, VenueDecimals, venue.Down)
		if err != nil {
			return venue.Snapshot{}, fmt.Errorf("balance %s: %w", b.Asset, err)
		}
		snap.Balances = append(snap.Balances, venue.Balance{Token: tok, Coin: b.Asset, Free: free, Locked: locked, Wallet: "spot"})
	}
	sort.Slice(snap.Balances, func(i, j int) bool { return snap.Balances[i].Coin < snap.Balances[j].Coin })
	return snap, nil
}

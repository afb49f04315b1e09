package balancewatcher

import (
	"context"
	"fmt"
	"math/big"
	"sort"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// VenueAccounts adapts venue adapters (one client per account, as the venues require) to
// VenueReader for one venue.
type VenueAccounts struct {
	Name     string
	Accounts map[common.Address]venue.Balancer
}

// Venue implements VenueReader.
func (v VenueAccounts) Venue() string { return v.Name }

// Balances implements VenueReader: the account's free and locked balances summed per token over
// the venue's wallets, with the snapshot's sequence.
func (v VenueAccounts) Balances(ctx context.Context, account common.Address) (uint64, []events.TokenBalance, error) {
	b, ok := v.Accounts[account]
	if !ok {
		return 0, nil, fmt.Errorf("venue %s has no client for account %s", v.Name, account.Hex())
	}
	snap, err := b.Balances(ctx)
	if err != nil {
		return 0, nil, err
	}
	type sum struct {
		units    *big.Int
		decimals uint8
	}
	sums := map[string]*sum{}
	for _, bal := range snap.Balances {
		for _, a := range []venue.Amount{bal.Free, bal.Locked} {
			if a.Units == nil {
				continue
			}
			s := sums[bal.Token]
			if s == nil {
				s = &sum{units: new(big.Int), decimals: a.Decimals}
				sums[bal.Token] = s
			}
			if a.Decimals != s.decimals {
				return 0, nil, fmt.Errorf("venue %s reports %s with %d and %d decimals", v.Name, bal.Token, s.decimals, a.Decimals)
			}
			s.units.Add(s.units, a.Units)
		}
	}
	tokens := make([]string, 0, len(sums))
	for t := range sums {
		tokens = append(tokens, t)
	}
	sort.Strings(tokens)
	out := make([]events.TokenBalance, len(tokens))
	for i, t := range tokens {
		out[i] = events.TokenBalance{Token: t, Amount: events.NewAmount(sums[t].units), Decimals: sums[t].decimals}
	}
	seq := snap.Seq
	if !snap.AsOf.IsZero() {
		seq = uint64(snap.AsOf.UnixMilli())
	}
	return seq, out, nil
}

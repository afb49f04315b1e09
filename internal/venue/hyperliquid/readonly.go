package hyperliquid

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// ErrReadOnly is returned by every action of a client built with Config.User and no Key.
var ErrReadOnly = errors.New("hyperliquid: read-only client (no key)")

// NewReadOnly returns the venue view of account user for reading only: balances (spot and perp),
// routes, quotes and lookups work; every action (order, transfer, withdrawal) fails with
// ErrReadOnly before anything is signed. It needs no key: Hyperliquid's info endpoints take the
// account's address. cfg.Key and cfg.Nonces are ignored.
func NewReadOnly(ctx context.Context, cfg Config, user common.Address, vc VenueConfig) (*Venue, error) {
	if user == (common.Address{}) {
		return nil, fmt.Errorf("%w: read-only client needs the account's address", ErrConfig)
	}
	cfg.Key, cfg.Nonces, cfg.User = Key{}, readOnly{}, user
	c, err := New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	vc.Store = readOnly{}
	return NewVenue(c, vc)
}

// readOnly is the Nonces and PreparedStore of a read-only client: every action asks for a nonce
// (or a prepared action) before it signs, so none gets as far as signing.
type readOnly struct{}

func (readOnly) Next(context.Context) (uint64, error) { return 0, ErrReadOnly }

func (readOnly) Load(context.Context, string) (Prepared, bool, error) {
	return Prepared{}, false, ErrReadOnly
}

func (readOnly) Save(context.Context, string, Prepared) error { return ErrReadOnly }

func (readOnly) Delete(context.Context, string) error { return ErrReadOnly }

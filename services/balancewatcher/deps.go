package balancewatcher

import (
	"context"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// BlockRef is a block number and its hash.
type BlockRef struct {
	Number uint64
	Hash   common.Hash
}

// ChainReader is what the watcher needs from one chain.
type ChainReader interface {
	// ConfirmedHead is the newest block the chain's confirmation policy treats as settled.
	ConfirmedHead(ctx context.Context) (BlockRef, error)
	// BlockHash is the hash of the block at number n on the reader's current view of the chain.
	BlockHash(ctx context.Context, n uint64) (common.Hash, error)
	// BalancesAt returns balances[token][account] at block n, for the tokens and accounts given,
	// and the hash of the block they were read at (read consistently with them).
	BalancesAt(ctx context.Context, n uint64, tokens, accounts []common.Address) (common.Hash, [][]*big.Int, error)
}

// VenueReader is what the watcher needs from a venue adapter.
type VenueReader interface {
	// Venue is the venue's name (events.VenueBinance, ...).
	Venue() string
	// Balances returns the account's balances at the venue and a sequence number that increases
	// with each read (the venue's clock in milliseconds where it has one).
	Balances(ctx context.Context, account common.Address) (seq uint64, balances []events.TokenBalance, err error)
}

// Stream is what the watcher needs from the bus.
type Stream interface {
	// Publish publishes ev with its message id; duplicate reports that the stream already had it.
	Publish(ctx context.Context, ev events.Event) (duplicate bool, err error)
	// LastSnapshot returns the newest snapshot on the location's and account's subject, or nil when
	// there is none.
	LastSnapshot(ctx context.Context, loc events.Location, account string) (*events.BalanceSnapshot, error)
}

// Deps are the watcher's collaborators.
type Deps struct {
	Chains  map[uint64]ChainReader
	Venues  []VenueReader
	Stream  Stream
	Log     zerolog.Logger
	Metrics prometheus.Registerer
	// Now is the clock for producedAt and staleness (default time.Now).
	Now func() time.Time
}

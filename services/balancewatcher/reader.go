package balancewatcher

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
)

// ChainClient adapts an internal/chain client to ChainReader: the confirmed head is the client's
// settled block (its finality or confirmations policy), and balances come from one batched read
// whose block hash is read with them.
type ChainClient struct{ C *chain.Client }

// ConfirmedHead implements ChainReader.
func (c ChainClient) ConfirmedHead(ctx context.Context) (BlockRef, error) {
	b, err := c.C.Settled(ctx)
	if err != nil {
		return BlockRef{}, err
	}
	return BlockRef{Number: b.Number, Hash: b.Hash}, nil
}

// BlockHash implements ChainReader.
func (c ChainClient) BlockHash(ctx context.Context, n uint64) (common.Hash, error) {
	return c.C.BlockHash(ctx, n)
}

// BalancesAt implements ChainReader.
func (c ChainClient) BalancesAt(ctx context.Context, n uint64, tokens, accounts []common.Address) (common.Hash, [][]*big.Int, error) {
	snap, err := c.C.SnapshotAt(ctx, n, tokens, accounts)
	if err != nil {
		return common.Hash{}, nil, err
	}
	out := make([][]*big.Int, len(tokens))
	for i, t := range tokens {
		out[i] = make([]*big.Int, len(accounts))
		for j, a := range accounts {
			v, ok := snap.Get(t, a)
			if !ok {
				return common.Hash{}, nil, fmt.Errorf("balance of %s in token %s missing from the snapshot at %d", a.Hex(), t.Hex(), n)
			}
			out[i][j] = v
		}
	}
	return snap.Block.Hash, out, nil
}

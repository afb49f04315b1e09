package chain

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// Block identifies a block: its number, hash and parent hash (to check that
// consecutive reads link up) and its timestamp.
type Block struct {
	Number     uint64
	Hash       common.Hash
	ParentHash common.Hash
	Time       uint64
}

func blockOf(h *types.Header) Block {
	return Block{Number: h.Number.Uint64(), Hash: h.Hash(), ParentHash: h.ParentHash, Time: h.Time}
}

// HeadNumber is the latest block number (eth_blockNumber).
func (c *Client) HeadNumber(ctx context.Context) (uint64, error) {
	var n uint64
	err := c.do(ctx, "eth_blockNumber", func(ctx context.Context, ep *endpoint) error {
		var err error
		n, err = ep.eth.BlockNumber(ctx)
		return err
	})
	return n, err
}

// Head is the latest block.
func (c *Client) Head(ctx context.Context) (Block, error) {
	return c.header(ctx, "head", big.NewInt(int64(rpc.LatestBlockNumber)))
}

// Safe is the block the node tags "safe".
func (c *Client) Safe(ctx context.Context) (Block, error) {
	return c.header(ctx, "safe", big.NewInt(int64(rpc.SafeBlockNumber)))
}

// Finalized is the block the node tags "finalized".
func (c *Client) Finalized(ctx context.Context) (Block, error) {
	return c.header(ctx, "finalized", big.NewInt(int64(rpc.FinalizedBlockNumber)))
}

// BlockAt is the canonical block at height n.
func (c *Client) BlockAt(ctx context.Context, n uint64) (Block, error) {
	return c.header(ctx, fmt.Sprintf("block %d", n), blockArg(n))
}

// BlockHash is the canonical hash at height n.
func (c *Client) BlockHash(ctx context.Context, n uint64) (common.Hash, error) {
	b, err := c.BlockAt(ctx, n)
	return b.Hash, err
}

// Settled is the block balances should be read at, per the configured
// Finality: the head, the safe or finalized tag, or the head minus
// Confirmations (never below genesis).
func (c *Client) Settled(ctx context.Context) (Block, error) {
	switch c.cfg.Finality {
	case FinalityLatest:
		return c.Head(ctx)
	case FinalitySafe:
		return c.Safe(ctx)
	case FinalityFinalized:
		return c.Finalized(ctx)
	default:
		if c.cfg.Confirmations == 0 {
			return c.Head(ctx)
		}
		head, err := c.HeadNumber(ctx)
		if err != nil {
			return Block{}, err
		}
		n := uint64(0)
		if head > c.cfg.Confirmations {
			n = head - c.cfg.Confirmations
		}
		return c.BlockAt(ctx, n)
	}
}

func (c *Client) header(ctx context.Context, what string, n *big.Int) (Block, error) {
	var h *types.Header
	err := c.do(ctx, "eth_getBlockByNumber "+what, func(ctx context.Context, ep *endpoint) error {
		var err error
		h, err = ep.eth.HeaderByNumber(ctx, n)
		return err
	})
	if err != nil {
		return Block{}, err
	}
	return blockOf(h), nil
}

package chain

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
)

// Transfer is one ERC20 Transfer event.
type Transfer struct {
	Token     common.Address
	From      common.Address
	To        common.Address
	Amount    *big.Int
	Block     uint64
	BlockHash common.Hash
	TxHash    common.Hash
	TxIndex   uint
	LogIndex  uint
}

// TransferFilter selects Transfer events in [FromBlock, ToBlock]. Empty
// lists match anything; a non-empty list matches any of its entries.
type TransferFilter struct {
	FromBlock, ToBlock uint64
	Tokens             []common.Address
	From               []common.Address
	To                 []common.Address
}

// Transfers returns the matching Transfer events in block order, splitting
// the range into MaxLogRange chunks (providers cap eth_getLogs ranges). Logs
// marked removed are left out: a reader checks the block hashes it holds
// against the chain to notice reorgs.
func (c *Client) Transfers(ctx context.Context, f TransferFilter) ([]Transfer, error) {
	if f.ToBlock < f.FromBlock {
		return nil, fmt.Errorf("%w: transfers: range [%d, %d]", ErrInvalidConfig, f.FromBlock, f.ToBlock)
	}
	topics := [][]common.Hash{{contracts.TransferTopic}, addressTopics(f.From), addressTopics(f.To)}
	for len(topics) > 1 && topics[len(topics)-1] == nil {
		topics = topics[:len(topics)-1]
	}
	var out []Transfer
	for lo := f.FromBlock; lo <= f.ToBlock; {
		hi := min(f.ToBlock, lo+c.cfg.MaxLogRange-1)
		q := ethereum.FilterQuery{FromBlock: blockArg(lo), ToBlock: blockArg(hi), Addresses: f.Tokens, Topics: topics}
		var logs []types.Log
		err := c.do(ctx, fmt.Sprintf("eth_getLogs [%d, %d]", lo, hi), func(ctx context.Context, ep *endpoint) error {
			var err error
			logs, err = ep.eth.FilterLogs(ctx, q)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, l := range logs {
			if l.Removed {
				continue
			}
			if t, ok := decodeTransfer(l); ok {
				out = append(out, t)
			}
		}
		if hi == f.ToBlock {
			break
		}
		lo = hi + 1
	}
	return out, nil
}

func addressTopics(addrs []common.Address) []common.Hash {
	if len(addrs) == 0 {
		return nil
	}
	hs := make([]common.Hash, len(addrs))
	for i, a := range addrs {
		hs[i] = common.BytesToHash(a.Bytes())
	}
	return hs
}

// decodeTransfer decodes an ERC20 Transfer: indexed from and to (3 topics)
// and a 32-byte amount. Other shapes sharing the topic (ERC721's indexed
// tokenId) are not ERC20 transfers and are skipped.
func decodeTransfer(l types.Log) (Transfer, bool) {
	if len(l.Topics) != 3 || len(l.Data) != 32 {
		return Transfer{}, false
	}
	return Transfer{
		Token:     l.Address,
		From:      common.BytesToAddress(l.Topics[1].Bytes()),
		To:        common.BytesToAddress(l.Topics[2].Bytes()),
		Amount:    new(big.Int).SetBytes(l.Data),
		Block:     l.BlockNumber,
		BlockHash: l.BlockHash,
		TxHash:    l.TxHash,
		TxIndex:   l.TxIndex,
		LogIndex:  l.Index,
	}, true
}

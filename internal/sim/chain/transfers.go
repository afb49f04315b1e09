package simchain

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
)

// Transfer is one Transfer event of a configured token.
type Transfer struct {
	Symbol    string
	Token     common.Address
	From, To  common.Address
	Amount    *big.Int
	Block     uint64
	BlockHash common.Hash
	TxHash    common.Hash
	LogIndex  uint
}

// Transfers lists the Transfer events of the configured tokens in blocks
// [from, to] (canonical chain), optionally only those paid to one of
// recipients. Simulated venues use it to notice deposits.
func (c *Chain) Transfers(ctx context.Context, from, to uint64, recipients ...common.Address) ([]Transfer, error) {
	bySymbol := map[common.Address]string{}
	addrs := make([]common.Address, 0, len(c.tokens))
	for sym, t := range c.tokens {
		bySymbol[t.Address] = sym
		addrs = append(addrs, t.Address)
	}
	if len(addrs) == 0 {
		return nil, nil
	}
	topics := [][]common.Hash{{contracts.TransferTopic}}
	if len(recipients) > 0 {
		rt := make([]common.Hash, len(recipients))
		for i, r := range recipients {
			rt[i] = common.BytesToHash(r.Bytes())
		}
		topics = append(topics, nil, rt)
	}
	logs, err := c.client.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to), Addresses: addrs, Topics: topics,
	})
	if err != nil {
		return nil, fmt.Errorf("transfers [%d, %d]: %w", from, to, err)
	}
	out := make([]Transfer, 0, len(logs))
	for _, l := range logs {
		if l.Removed || len(l.Topics) != 3 || len(l.Data) != 32 {
			continue
		}
		out = append(out, Transfer{
			Symbol: bySymbol[l.Address], Token: l.Address,
			From: common.BytesToAddress(l.Topics[1].Bytes()), To: common.BytesToAddress(l.Topics[2].Bytes()),
			Amount: new(big.Int).SetBytes(l.Data), Block: l.BlockNumber, BlockHash: l.BlockHash, TxHash: l.TxHash, LogIndex: l.Index,
		})
	}
	return out, nil
}

// FundETH sends wei of the native coin to `to` for gas and returns once
// mined, for accounts that were not funded in genesis.
func (c *Chain) FundETH(ctx context.Context, to common.Address, wei *big.Int) error {
	if _, err := c.SendAndMine(ctx, DevKey(minterLabel), to, wei, nil); err != nil {
		return fmt.Errorf("fund %s with %s wei: %w", to, wei, err)
	}
	return nil
}

// NativeBalance is `who`'s native coin balance at the latest block.
func (c *Chain) NativeBalance(ctx context.Context, who common.Address) (*big.Int, error) {
	return c.client.BalanceAt(ctx, who, nil)
}

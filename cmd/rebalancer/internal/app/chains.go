package app

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
	"github.com/rebalancer-dev/rebalancer/internal/config"
)

// ChainConfig turns one configured chain into the chain client's configuration. Every chain the
// rebalancer serves has Multicall3 at its canonical address, so balances are read in one call.
func ChainConfig(c config.Chain) chain.Config {
	cc := chain.Config{
		ChainID:       c.ID,
		Name:          c.Name,
		RPCURLs:       c.RPC,
		Confirmations: c.Confirmations,
		Finality:      chain.FinalityConfirmations,
		Multicall:     contracts.MulticallAddress,
	}
	switch c.Tag {
	case "safe":
		cc.Finality = chain.FinalitySafe
	case "finalized":
		cc.Finality = chain.FinalityFinalized
	}
	return cc
}

// DialChains connects to every configured chain. A chain that does not answer at start-up is not
// fatal for the watcher (it shows as stale), but one that serves another chain id is.
func DialChains(ctx context.Context, cfg *config.Config, log zerolog.Logger) (map[uint64]*chain.Client, error) {
	out := map[uint64]*chain.Client{}
	for _, c := range cfg.Chains {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		cl, err := chain.Dial(dctx, ChainConfig(c), chain.WithLogger(log))
		cancel()
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("chain %d (%s): %w", c.ID, c.Name, err)
		}
		out[c.ID] = cl
	}
	return out, nil
}

// Accounts parses the configured accounts.
func Accounts(cfg *config.Config) []common.Address {
	out := make([]common.Address, len(cfg.Accounts))
	for i, a := range cfg.Accounts {
		out[i] = common.HexToAddress(a)
	}
	return out
}

func commonAddress(s string) common.Address { return common.HexToAddress(s) }

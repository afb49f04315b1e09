package simbinance

import (
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
)

// NetworkNames maps EVM chain ids to Binance's network names.
var NetworkNames = map[uint64]string{
	simchain.Ethereum: "ETH",
	simchain.Optimism: "OPTIMISM",
	simchain.BSC:      "BSC",
	simchain.Polygon:  "MATIC",
	simchain.Base:     "BASE",
	simchain.Arbitrum: "ARBITRUM",
	43114:             "AVAXC",
}

// DevnetNetwork describes a simulated chain as a Binance network with representative rules:
// every token is deposit- and withdraw-enabled, withdrawals cost 1 (Ethereum 1.5) with a minimum
// of 10 and a maximum of 1,000,000, deposits credit after 2 blocks and unlock after 4. Arbitrum's
// USDT0 is Binance's coin USDT, as on the real venue. It reports false for a chain Binance has no
// network for (HyperEVM).
func DevnetNetwork(c *simchain.Chain) (Network, bool) {
	name, ok := NetworkNames[c.ChainID()]
	if !ok {
		return Network{}, false
	}
	fee := "1"
	if c.ChainID() == simchain.Ethereum {
		fee = "1.5"
	}
	n := Network{Name: name, ChainID: c.ChainID(), RPCURL: c.RPCURL(), MinConfirm: 2, UnlockConfirm: 4}
	for _, t := range c.Tokens() {
		coin := t.Symbol
		if coin == "USDT0" {
			coin = "USDT"
		}
		n.Coins = append(n.Coins, CoinNetwork{Coin: coin, Token: t.Address, Decimals: t.Decimals, WithdrawFee: fee,
			WithdrawMin: "10", WithdrawMax: "1000000", Multiple: "0.000001", DepositEnable: true, WithdrawEnable: true})
	}
	return n, true
}

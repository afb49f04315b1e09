package simchain

import (
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Chain ids of the chains DefaultChains simulates.
const (
	Ethereum uint64 = 1
	Optimism uint64 = 10
	BSC      uint64 = 56
	Polygon  uint64 = 137
	Base     uint64 = 8453
	Arbitrum uint64 = 42161
	HyperEVM uint64 = 999
)

// Mainnet token addresses the simulated tokens are placed at, so that a
// config written for mainnet reads the same addresses in devnet. [verify per
// chain before relying on them for real funds; the HyperEVM ones come from
// third-party sources, the authority is Hyperliquid's spotMeta.]
var (
	USDCEthereum  = common.HexToAddress("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48")
	USDTEthereum  = common.HexToAddress("0xdAC17F958D2ee523a2206206994597C13D831ec7")
	USDCOptimism  = common.HexToAddress("0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85")
	USDTOptimism  = common.HexToAddress("0x94b008aA00579c1307B0EF2c499aD98a8ce58e58")
	USDCBSC       = common.HexToAddress("0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d")
	USDTBSC       = common.HexToAddress("0x55d398326f99059fF775485246999027B3197955")
	USDCPolygon   = common.HexToAddress("0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359")
	USDTPolygon   = common.HexToAddress("0xc2132D05D31c914a87C6611C10748AEb04B58e8F")
	USDCBase      = common.HexToAddress("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913")
	USDTBase      = common.HexToAddress("0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2")
	USDCArbitrum  = common.HexToAddress("0xaf88d065e77c8cC2239327C5EDb3A432268e5831")
	USDT0Arbitrum = common.HexToAddress("0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9")
	USDCHyperEVM  = common.HexToAddress("0xb88339CB7199b77E23DB6E890353E22632Ba630f")
	USDT0HyperEVM = common.HexToAddress("0xB8CE59FC3717ada4C02eaDF9682A9e934F625ebb")
)

func stable(symbol string, decimals uint8, addr common.Address) TokenSpec {
	return TokenSpec{Symbol: symbol, Decimals: decimals, Address: addr}
}

// DefaultChains returns configs for the chains the project serves, with
// their real chain ids and stablecoins at their mainnet addresses (USDC and
// USDT have 6 decimals everywhere except BSC, 18). Callers set
// BlockInterval, AutoMine, Funded and balances to taste.
func DefaultChains() []Config {
	return []Config{
		{ChainID: Ethereum, Name: "ethereum", Tokens: []TokenSpec{stable("USDC", 6, USDCEthereum), stable("USDT", 6, USDTEthereum)}},
		{ChainID: Optimism, Name: "optimism", Tokens: []TokenSpec{stable("USDC", 6, USDCOptimism), stable("USDT", 6, USDTOptimism)}},
		{ChainID: BSC, Name: "bsc", Tokens: []TokenSpec{stable("USDC", 18, USDCBSC), stable("USDT", 18, USDTBSC)}},
		{ChainID: Polygon, Name: "polygon", Tokens: []TokenSpec{stable("USDC", 6, USDCPolygon), stable("USDT", 6, USDTPolygon)}},
		{ChainID: Base, Name: "base", Tokens: []TokenSpec{stable("USDC", 6, USDCBase), stable("USDT", 6, USDTBase)}},
		{ChainID: Arbitrum, Name: "arbitrum", Tokens: []TokenSpec{stable("USDC", 6, USDCArbitrum), stable("USDT0", 6, USDT0Arbitrum)}},
		{ChainID: HyperEVM, Name: "hyperevm", Tokens: []TokenSpec{stable("USDC", 6, USDCHyperEVM), stable("USDT0", 6, USDT0HyperEVM)}},
	}
}

// DefaultChain returns DefaultChains' config for chainID, or false.
func DefaultChain(chainID uint64) (Config, bool) {
	for _, c := range DefaultChains() {
		if c.ChainID == chainID {
			return c, true
		}
	}
	return Config{}, false
}

// WithDevnetDefaults returns cfg with a block interval and automine set as a
// devnet wants them: blocks every interval and transactions mined at once.
func WithDevnetDefaults(cfg Config, interval time.Duration) Config {
	cfg.BlockInterval = interval
	cfg.AutoMine = true
	return cfg
}

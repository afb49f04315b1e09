package simbinance

import (
	"crypto/ecdsa"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// Config describes a simulated Binance.
type Config struct {
	// Accounts are the API keys the simulator accepts, each its own account.
	Accounts []Account
	// Networks map Binance network names to simulated chains reached over JSON-RPC.
	Networks []Network
	// Symbol is the one spot symbol traded (USDCUSDT by default).
	Symbol Symbol
	// HotWallet pays withdrawals: it must hold gas and tokens on every network's chain.
	HotWallet *ecdsa.PrivateKey
	// DepositWallet is where deposits are credited: "spot" (default) or "funding".
	DepositWallet string
	// PollInterval is how often Start scans chains and advances withdrawals (500ms).
	PollInterval time.Duration
	// Weight limits per minute: /api per IP (6000), /sapi per IP (12000) and per UID (180000).
	APIWeightLimit, SAPIIPWeightLimit, SAPIUIDWeightLimit int
	// BanAfter is how many requests sent during a Retry-After back-off turn a 429 into an IP ban
	// (HTTP 418) lasting BanFor (3 requests, 2 minutes).
	BanAfter int
	BanFor   time.Duration
	// Now is the server's clock (time.Now).
	Now func() time.Time
}

// Account is one API key pair and its starting balances (coin → decimal string) per wallet.
type Account struct {
	APIKey  string
	Secret  string
	Spot    map[string]string
	Funding map[string]string
	// CanWithdraw false makes every withdrawal fail with -1002 (a key without withdrawal permission).
	CanWithdraw *bool
}

// Network is a Binance network (ETH, BSC, ARBITRUM, ...) backed by a chain.
type Network struct {
	Name    string // Binance's network name
	ChainID uint64
	RPCURL  string
	// MinConfirm credits a deposit; UnlockConfirm makes it withdrawable (status 6 in between).
	MinConfirm    uint64
	UnlockConfirm uint64
	Coins         []CoinNetwork
}

// CoinNetwork is one coin on one network: its contract and withdrawal rules (decimal strings).
type CoinNetwork struct {
	Coin           string
	Token          common.Address
	Decimals       uint8
	WithdrawFee    string
	WithdrawMin    string
	WithdrawMax    string
	Multiple       string // withdrawIntegerMultiple; "" means 0.00000001
	DepositEnable  bool
	WithdrawEnable bool
}

// Symbol is the spot market: its filters, taker/maker fees and the standing book.
type Symbol struct {
	Name, Base, Quote string
	TickSize          string
	StepSize          string
	MinQty, MaxQty    string
	MinNotional       string
	MakerFee          string
	TakerFee          string
	// Bids and Asks are the standing levels, best first. A market order walks them; the book is
	// refilled after each order (a market maker that always quotes the same depth).
	Bids, Asks []Level
}

// Level is one price level.
type Level struct{ Price, Qty string }

// DefaultSymbol is a USDCUSDT market shaped like Binance's: tick 0.0001, step 1 (whole USDC),
// min notional 5 USDT, taker fee 0.1%, a few levels each side around 1.0000.
func DefaultSymbol() Symbol {
	return Symbol{
		Name: "USDCUSDT", Base: "USDC", Quote: "USDT",
		TickSize: "0.0001", StepSize: "1", MinQty: "1", MaxQty: "9000000", MinNotional: "5",
		MakerFee: "0.001", TakerFee: "0.001",
		Bids: []Level{{"0.9999", "50000"}, {"0.9998", "200000"}, {"0.9995", "1000000"}},
		Asks: []Level{{"1.0001", "50000"}, {"1.0002", "200000"}, {"1.0005", "1000000"}},
	}
}

func (c *Config) setDefaults() error {
	if len(c.Accounts) == 0 {
		return fmt.Errorf("%w: at least one account", ErrConfig)
	}
	for _, a := range c.Accounts {
		if a.APIKey == "" || a.Secret == "" {
			return fmt.Errorf("%w: account without key or secret", ErrConfig)
		}
	}
	if c.Symbol.Name == "" {
		c.Symbol = DefaultSymbol()
	}
	if c.DepositWallet == "" {
		c.DepositWallet = walletSpot
	}
	if c.DepositWallet != walletSpot && c.DepositWallet != walletFunding {
		return fmt.Errorf("%w: deposit wallet %q", ErrConfig, c.DepositWallet)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.APIWeightLimit <= 0 {
		c.APIWeightLimit = 6000
	}
	if c.SAPIIPWeightLimit <= 0 {
		c.SAPIIPWeightLimit = 12000
	}
	if c.SAPIUIDWeightLimit <= 0 {
		c.SAPIUIDWeightLimit = 180000
	}
	if c.BanAfter <= 0 {
		c.BanAfter = 3
	}
	if c.BanFor <= 0 {
		c.BanFor = 2 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	for _, n := range c.Networks {
		if n.Name == "" || n.ChainID == 0 {
			return fmt.Errorf("%w: network needs a name and chain id", ErrConfig)
		}
		if len(n.Coins) > 0 && n.RPCURL != "" && c.HotWallet == nil {
			return fmt.Errorf("%w: network %s has a chain but no hot wallet pays withdrawals", ErrConfig, n.Name)
		}
	}
	return nil
}

package hlsim

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// Token is a HyperCore spot token as spotMeta lists it.
type Token struct {
	Name        string
	Index       uint32
	TokenID     string // 0x + 32 hex
	SzDecimals  int
	WeiDecimals int
	// EVMContract is the token's ERC20 on HyperEVM (zero: not linked) and EVMDecimals its decimals there.
	EVMContract common.Address
	EVMDecimals int
	// ViaDepositWallet marks a token (USDC) that enters HyperCore from HyperEVM only through
	// CoreDepositWallet; a transfer to its system address is stuck.
	ViaDepositWallet bool
}

// SystemAddress is the token's HyperEVM system address: 0x20, zeros, the index big-endian.
func (t Token) SystemAddress() common.Address {
	var a common.Address
	a[0] = 0x20
	idx := new(big.Int).SetUint64(uint64(t.Index)).Bytes()
	copy(a[20-len(idx):], idx)
	return a
}

// Level is one price level of the book: px quote per base, sz in base units (decimal strings).
type Level struct{ Px, Sz string }

// Pair is a spot pair: base and quote token indices, its universe index (asset = 10000 + Index) and
// its book.
type Pair struct {
	Base, Quote uint32
	Index       uint32
	Bids, Asks  []Level // best first
}

// Arbitrum configures Bridge2 on the simulated Arbitrum.
type Arbitrum struct {
	RPCURL string
	USDC   common.Address
	// BridgeKey is Bridge2's key: its address is the Bridge2 address deposits go to, and it signs
	// withdrawals' USDC transfers out of the deposited funds.
	BridgeKey *ecdsa.PrivateKey
	// MinDeposit is the smallest credited deposit in the ERC20's units (5 USDC); smaller ones are lost.
	MinDeposit *big.Int
	// Decimals of USDC on Arbitrum (6).
	Decimals int
}

// HyperEVM configures the simulated HyperEVM.
type HyperEVM struct {
	RPCURL string
	// PayerKey signs the ERC20 transfers that deliver spotSends to system addresses (on the real chain
	// the system address itself is the sender) and deploys CoreDepositWallet when none is given.
	PayerKey *ecdsa.PrivateKey
	// CoreDepositWallet is an existing wallet; zero deploys one for the token marked ViaDepositWallet.
	CoreDepositWallet common.Address
}

// Config is the simulator's configuration. Zero values take the venue's documented defaults.
type Config struct {
	Network wire.Network
	Tokens  []Token
	Pairs   []Pair
	// USDC is the index of the collateral token (0).
	USDC uint32
	// TakerFee and MakerFee are the spot fee rates (e.g. 7/10000).
	TakerFee, MakerFee *big.Rat
	// MinNotional is the minimum order value in the quote token, decimal (10).
	MinNotional string
	// WithdrawFee is withdraw3's fee in USDC, decimal (1).
	WithdrawFee string
	// WeightPerMinute is the request weight allowed per client IP per minute (1200).
	WeightPerMinute int
	// Arbitrum and HyperEVM are optional: without them the chain bridges are off.
	Arbitrum *Arbitrum
	HyperEVM *HyperEVM
	// CreditDelayBlocks is how many blocks a deposit waits before HyperCore credits it (0): with it,
	// a mined deposit is visibly not yet credited, as with the real bridges and CoreWriter.
	CreditDelayBlocks uint64
	// PollInterval is how often Start scans the chains (200ms).
	PollInterval time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

func (c *Config) defaults() error {
	if !c.Network.Valid() {
		return fmt.Errorf("%w: %w", ErrConfig, wire.ErrBadNetwork)
	}
	if c.TakerFee == nil {
		c.TakerFee = big.NewRat(7, 10000)
	}
	if c.MakerFee == nil {
		c.MakerFee = big.NewRat(4, 10000)
	}
	if c.MinNotional == "" {
		c.MinNotional = "10"
	}
	if c.WithdrawFee == "" {
		c.WithdrawFee = "1"
	}
	if c.WeightPerMinute == 0 {
		c.WeightPerMinute = 1200
	}
	if c.PollInterval == 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if a := c.Arbitrum; a != nil {
		if a.Decimals == 0 {
			a.Decimals = 6
		}
		if a.MinDeposit == nil {
			a.MinDeposit = new(big.Int).Mul(big.NewInt(5), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(a.Decimals)), nil))
		}
		if a.BridgeKey == nil || a.RPCURL == "" {
			return fmt.Errorf("%w: arbitrum needs RPCURL and BridgeKey", ErrConfig)
		}
	}
	if h := c.HyperEVM; h != nil && (h.PayerKey == nil || h.RPCURL == "") {
		return fmt.Errorf("%w: hyperevm needs RPCURL and PayerKey", ErrConfig)
	}
	return nil
}

// MainnetLikeTokens returns USDC (index 0) and USDT0 (index 268) with the venue's published
// decimals, linked to the given HyperEVM ERC20s, and the USDT0/USDC pair (universe index 166) with the
// given book. Names, indices and decimals are configuration of the simulator, discovered by clients
// through spotMeta.
func MainnetLikeTokens(usdcEVM, usdt0EVM common.Address, bids, asks []Level) ([]Token, []Pair) {
	tokens := []Token{
		{Name: "USDC", Index: 0, TokenID: usdcTokenID, SzDecimals: 8, WeiDecimals: 8,
			EVMContract: usdcEVM, EVMDecimals: 6, ViaDepositWallet: true},
		{Name: "USDT0", Index: 268, TokenID: usdt0TokenID, SzDecimals: 2, WeiDecimals: 8,
			EVMContract: usdt0EVM, EVMDecimals: 6},
	}
	return tokens, []Pair{{Base: 268, Quote: 0, Index: 166, Bids: bids, Asks: asks}}
}

// Token ids as spotMeta publishes them: public identifiers, not credentials.
const (
	usdcTokenID  = "0x6d1e7cde53ba9467b783cb7c530ce054" //nolint:gosec // G101: a public token id
	usdt0TokenID = "0x25faedc3f054130dbb4e4203aca63567" //nolint:gosec // G101: a public token id
)

package venue

// Route is one way a token enters or leaves a venue: a coin on a network that maps to a token
// contract on an EVM chain. Routes come from the venue's live metadata; a route whose deposits or
// withdrawals are disabled is still listed, with the flag off, so a planner can say why it skipped it.
type Route struct {
	// Venue is the venue's name (events.VenueBinance, events.VenueHyperliquid).
	Venue string
	// Token is the rebalancer's token symbol (USDC, USDT); Coin is the venue's name for it (USDT0 on
	// Hyperliquid).
	Token string
	Coin  string
	// Network is the venue's network name (ETH, BSC, ARBITRUM, ...); ChainID the EVM chain it is.
	Network string
	ChainID uint64
	// TokenAddress is the token contract on that chain (0x-hex), as the venue reports it or as
	// configured when the venue does not say.
	TokenAddress string
	// Decimals are the token's decimals on that chain (18 for BSC stablecoins).
	Decimals uint8

	DepositEnabled  bool
	WithdrawEnabled bool
	// Limits are the venue's withdrawal fee and bounds on this network, in chain decimals.
	Limits Limits
	// Confirmations are the blocks after which a deposit is credited (Credit) and withdrawable (Unlock).
	Confirmations Confirmations
}

// Limits are a network's withdrawal fee and bounds. A nil Max means no upper bound; a nil Multiple
// means any amount in base units.
type Limits struct {
	WithdrawFee      Amount
	WithdrawMin      Amount
	WithdrawMax      Amount
	WithdrawMultiple Amount
}

// Confirmations are the block counts a venue waits for before crediting a deposit and before
// letting its funds be withdrawn.
type Confirmations struct {
	Credit uint64
	Unlock uint64
}

// Key identifies a route within a venue.
type Key struct {
	Token   string
	ChainID uint64
}

// Key returns the route's key.
func (r Route) Key() Key { return Key{Token: r.Token, ChainID: r.ChainID} }

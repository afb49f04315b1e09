package venue

import "time"

// Quote is the cost of moving AmountIn of the source route's token into the destination route's
// token through the venue, from live data. Each cost is in the token and decimals it is paid in.
// Out is what should arrive on the destination chain: AmountIn, minus the trading fee, minus the
// spread against the fair price (a trade through the book's depth, not the mid), minus the
// withdrawal fee, rounded down.
type Quote struct {
	Src, Dst Key
	AmountIn Amount
	Out      Amount

	// TradeFee is the taker fee, in the token paid with (zero for same-token routes).
	TradeFee Amount
	// Spread is what the fill costs against the fair price (1:1 for stablecoin pairs), in the source
	// token; negative when the book is better than fair.
	Spread Amount
	// WithdrawFee is the destination network's withdrawal fee, in the destination token.
	WithdrawFee Amount

	// MinIn and MaxIn bound AmountIn for this route: the venue's minimum order (size and notional),
	// the withdrawal minimum and maximum (converted back to source units). MaxIn is nil when unbounded.
	MinIn Amount
	MaxIn Amount

	// Feasible is false when the route cannot carry AmountIn now; Why says why (deposits or
	// withdrawals disabled, outside limits, book too thin).
	Feasible bool
	Why      string

	// AsOf is when the venue data behind the quote was read.
	AsOf time.Time
}

// Cost returns the total cost expressed in source-token units (trading fee, spread and withdrawal
// fee; stablecoins priced 1:1), rounded up: AmountIn minus Out, rescaled.
func (q Quote) Cost() Amount {
	in := q.AmountIn.Rat()
	out := q.Out.Rat()
	return FromRatUp(in.Sub(in, out), q.AmountIn.Decimals)
}

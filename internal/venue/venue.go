package venue

import "context"

// Catalog lists the routes a venue supports, from its live metadata.
type Catalog interface {
	Routes(ctx context.Context) ([]Route, error)
}

// Quoter prices moving amountIn from src to dst through the venue.
type Quoter interface {
	Quote(ctx context.Context, src, dst Key, amountIn Amount) (Quote, error)
}

// Balancer reads the account's balances on the venue.
type Balancer interface {
	Balances(ctx context.Context) (Snapshot, error)
}

// Depositor says where to deposit and whether a deposit has been credited. MakeTradable moves
// credited funds into the wallet that trades (Binance funding → spot, Hyperliquid perp → spot) when
// they are not there yet; it is a no-op when they are, so it is safe to repeat. When the funds are
// nowhere yet it returns WaitInsufficient, not an error.
type Depositor interface {
	DepositAddress(ctx context.Context, route Key) (string, error)
	// FindDeposit returns ErrNotFound until the venue has seen the transaction.
	FindDeposit(ctx context.Context, route Key, txHash string) (Deposit, error)
	MakeTradable(ctx context.Context, token string, amount Amount) (Wait, error)
}

// Trader swaps on the spot book. Swap looks the derived client id up first and returns the existing
// order when there is one; FindOrder returns ErrNotFound when the venue has no such order.
type Trader interface {
	Swap(ctx context.Context, req SwapRequest) (Order, error)
	FindOrder(ctx context.Context, intentID, step string) (Order, error)
}

// Withdrawer sends funds out. Withdraw looks the derived withdrawal id up first and returns the
// existing withdrawal when there is one; FindWithdrawal returns ErrNotFound when there is none.
type Withdrawer interface {
	Withdraw(ctx context.Context, req WithdrawRequest) (Withdrawal, error)
	FindWithdrawal(ctx context.Context, intentID, step string) (Withdrawal, error)
}

// Venue is everything above; adapters implement it, consumers should ask for the parts they use.
type Venue interface {
	Name() string
	Catalog
	Quoter
	Balancer
	Depositor
	Trader
	Withdrawer
}

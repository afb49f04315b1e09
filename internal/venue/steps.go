package venue

import "time"

// Wait is a known condition that delays a step without failing it. The executor records it (state
// "waiting") and retries later; it is never an error.
type Wait string

// Known waits.
const (
	WaitNone Wait = ""
	// WaitDepositLocked: the deposit is credited but cannot be withdrawn until more confirmations.
	WaitDepositLocked Wait = "deposit_locked"
	// WaitDepositConfirm: the venue wants a user action (e.g. Binance status 8) before crediting.
	WaitDepositConfirm Wait = "deposit_needs_confirmation"
	// WaitWithdrawSuspended: withdrawals of this coin on this network are disabled for now.
	WaitWithdrawSuspended Wait = "withdraw_suspended"
	// WaitDepositSuspended: deposits of this coin on this network are disabled for now.
	WaitDepositSuspended Wait = "deposit_suspended"
	// WaitRateLimited: the venue asked us to slow down; Until says when to come back.
	WaitRateLimited Wait = "rate_limited"
	// WaitInsufficient: the funds are not (yet) in the trading wallet.
	WaitInsufficient Wait = "insufficient_balance"
)

// DepositStatus is where a deposit stands on the venue.
type DepositStatus string

// Deposit statuses.
const (
	DepositPending  DepositStatus = "pending"  // seen, not yet credited
	DepositCredited DepositStatus = "credited" // credited; Wait says whether it is still locked
	DepositRejected DepositStatus = "rejected" // terminal: the venue will not credit it
)

// Deposit is a deposit the venue has seen, found by its transaction hash.
type Deposit struct {
	Route  Key
	TxHash string
	Amount Amount
	Status DepositStatus
	Wait   Wait
	// Wallet is where it was credited when the venue has several wallets ("spot", "funding").
	Wallet string
	// Confirmations the venue has counted so far, when it says.
	Confirmations uint64
	// Raw is the venue's own status code or text, for operators.
	Raw string
}

// Side of a swap on the spot book, seen from the base asset.
type Side string

// Sides.
const (
	Buy  Side = "BUY"
	Sell Side = "SELL"
)

// SwapRequest converts In of token From into token To on the venue's spot book, receiving at least
// MinOut (a price bound: the order is IOC or market with a protective limit). IntentID and Step
// derive the venue's client order id.
type SwapRequest struct {
	IntentID string
	Step     string
	From     string
	To       string
	In       Amount
	MinOut   Amount
}

// OrderStatus is where an order stands.
type OrderStatus string

// Order statuses.
const (
	OrderOpen     OrderStatus = "open"     // accepted, not terminal
	OrderFilled   OrderStatus = "filled"   // terminal, fully filled
	OrderPartial  OrderStatus = "partial"  // terminal (IOC/expired) with a partial fill
	OrderCanceled OrderStatus = "canceled" // terminal with no fill
	OrderRejected OrderStatus = "rejected" // terminal, refused
)

// Terminal reports whether the order will not change any more.
func (s OrderStatus) Terminal() bool { return s != OrderOpen }

// Order is a spot order as the venue reports it. Spent and Received are what actually moved, in
// From and To tokens; Fee is in FeeToken.
type Order struct {
	ClientID string
	VenueID  string
	Status   OrderStatus
	Side     Side
	Spent    Amount
	Received Amount
	Fee      Amount
	FeeToken string
	Wait     Wait
	Raw      string
}

// WithdrawRequest sends Amount (gross: the venue deducts its fee, so the recipient gets Amount −
// fee) of Token over the route's network to Address. IntentID and Step derive the venue's
// withdrawal id.
type WithdrawRequest struct {
	IntentID string
	Step     string
	Route    Key
	Address  string
	Amount   Amount
}

// WithdrawalStatus is where a withdrawal stands.
type WithdrawalStatus string

// Withdrawal statuses.
const (
	WithdrawalPending   WithdrawalStatus = "pending"   // accepted, not yet sent on chain
	WithdrawalSent      WithdrawalStatus = "sent"      // broadcast; TxHash is set
	WithdrawalCompleted WithdrawalStatus = "completed" // final on the venue; TxHash is set
	WithdrawalFailed    WithdrawalStatus = "failed"    // terminal: cancelled, rejected or failed; funds back at the venue
)

// Withdrawal is a withdrawal as the venue reports it. Amount is what the recipient receives; Fee
// was deducted on top.
type Withdrawal struct {
	ClientID string
	VenueID  string
	Route    Key
	Address  string
	Amount   Amount
	Fee      Amount
	Status   WithdrawalStatus
	TxHash   string
	Wait     Wait
	// Until is when a rate-limited request may be retried (zero when unknown).
	Until time.Time
	Raw   string
}

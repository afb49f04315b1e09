package events

import (
	"fmt"
	"strconv"
)

// State is an intent's execution state (DESIGN §7).
type State string

// States, in the order the Binance route passes them. Hyperliquid routes use the same names for the
// same meaning (deposit into HyperCore, credit there, trade, send out). Same-asset routes skip the
// order states.
const (
	StateAccepted          State = "accepted"
	StateRejected          State = "rejected"
	StateDepositSigned     State = "deposit_signed"
	StateDepositMined      State = "deposit_mined"
	StateDepositCredited   State = "deposit_credited"
	StateTransferred       State = "transferred" // moved between wallets of the venue (funding→spot, perp→spot)
	StateOrderPlaced       State = "order_placed"
	StateOrderFilled       State = "order_filled"
	StateWithdrawRequested State = "withdraw_requested"
	StateWithdrawSent      State = "withdraw_sent"
	StateLanded            State = "landed"
	StateCompleted         State = "completed"
	StateWaiting           State = "waiting" // a known venue wait condition; Error says which
	StateNeedsAttention    State = "needs_attention"
)

var allStates = []State{
	StateAccepted, StateRejected, StateDepositSigned, StateDepositMined, StateDepositCredited,
	StateTransferred, StateOrderPlaced, StateOrderFilled, StateWithdrawRequested, StateWithdrawSent,
	StateLanded, StateCompleted, StateWaiting, StateNeedsAttention,
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, k := range allStates {
		if s == k {
			return true
		}
	}
	return false
}

// Terminal reports whether no further step will run by itself.
func (s State) Terminal() bool {
	return s == StateCompleted || s == StateRejected || s == StateNeedsAttention
}

// Leg is one signed (chain, token, amount) adjustment an intent makes to balances while in flight.
// A reader whose balance of ChainID was read at block b counts the leg when UntilBlock == 0 or
// b < UntilBlock (DESIGN §8).
type Leg struct {
	// Name is the leg's name within the intent: "src", "dst", or "hop-<chain id>-in|out".
	Name       string `json:"name"`
	ChainID    uint64 `json:"chainId"`
	Token      string `json:"token"`
	Amount     Amount `json:"amount"`
	Decimals   uint8  `json:"decimals"`
	UntilBlock uint64 `json:"untilBlock"`
}

// Fee is one fee an intent paid.
type Fee struct {
	Kind     string `json:"kind"` // "trade", "withdraw", "gas", "bridge"
	Token    string `json:"token"`
	Amount   Amount `json:"amount"`
	Decimals uint8  `json:"decimals"`
}

// Realized holds the amounts an execution actually moved.
type Realized struct {
	AmountIn  Amount `json:"amountIn"`
	AmountOut Amount `json:"amountOut"`
	Fees      []Fee  `json:"fees,omitempty"`
}

// ExecutionUpdate reports an intent's state after a step.
type ExecutionUpdate struct {
	Meta
	IntentID string `json:"intentId"`
	Account  string `json:"account"`
	Venue    string `json:"venue"`
	// IntentVersion increases by one with every recorded step of the intent (the compare-and-set
	// version of the executor's record). Meta.Version is the message format's version.
	IntentVersion uint64 `json:"intentVersion"`
	State         State  `json:"state"`
	// Legs are the intent's ledger legs as of this state.
	Legs []Leg `json:"legs"`
	// Refs are venue and chain references: depositTx, clientOrderId, orderId, withdrawOrderId,
	// withdrawId, withdrawTx, ...
	Refs     map[string]string `json:"refs,omitempty"`
	Realized *Realized         `json:"realized,omitempty"`
	// FundsAt says where the funds are, always set for needs_attention ("binance spot", "chain 42161").
	FundsAt string `json:"fundsAt,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Validate implements Event.
func (u *ExecutionUpdate) Validate() error {
	if err := u.Meta.validate(TypeExecutionUpdate); err != nil {
		return err
	}
	if !isHex64(u.IntentID) {
		return fieldErr("intentId", "%q is not a 64-digit lower-case hex hash", u.IntentID)
	}
	if err := validateAddress("account", u.Account); err != nil {
		return err
	}
	if err := validateVenue("venue", u.Venue); err != nil {
		return err
	}
	if u.IntentVersion == 0 {
		return fieldErr("intentVersion", "must be at least 1")
	}
	if !u.State.Valid() {
		return fieldErr("state", "unknown state %q", u.State)
	}
	if u.State == StateNeedsAttention && u.FundsAt == "" {
		return fieldErr("fundsAt", "required for %s", u.State)
	}
	names := map[string]bool{}
	for i, l := range u.Legs {
		f := fmt.Sprintf("legs[%d]", i)
		if err := validateID(f+".name", l.Name); err != nil {
			return err
		}
		if names[l.Name] {
			return fieldErr(f+".name", "%q listed twice", l.Name)
		}
		names[l.Name] = true
		if err := validateChainID(f+".chainId", l.ChainID); err != nil {
			return err
		}
		if err := validateToken(f+".token", l.Token); err != nil {
			return err
		}
		if err := validateDecimals(f+".decimals", l.Decimals); err != nil {
			return err
		}
	}
	if r := u.Realized; r != nil {
		if err := validateNonNegative("realized.amountIn", r.AmountIn); err != nil {
			return err
		}
		if err := validateNonNegative("realized.amountOut", r.AmountOut); err != nil {
			return err
		}
		for i, fee := range r.Fees {
			f := fmt.Sprintf("realized.fees[%d]", i)
			if fee.Kind == "" {
				return fieldErr(f+".kind", "missing")
			}
			if err := validateToken(f+".token", fee.Token); err != nil {
				return err
			}
			if err := validateNonNegative(f+".amount", fee.Amount); err != nil {
				return err
			}
		}
	}
	return nil
}

// Subject implements Event: rebal.v1.executions.<venue>.<intent id>.
func (u *ExecutionUpdate) Subject() string {
	return SubjectExecutions + "." + u.Venue + "." + u.IntentID
}

// MsgID implements Event: <intent id>:<intent version>, so that republishing a recorded step (the outbox)
// is a no-op.
func (u *ExecutionUpdate) MsgID() string {
	return u.IntentID + ":" + strconv.FormatUint(u.IntentVersion, 10)
}

package pending

import (
	"fmt"
	"math/big"
	"time"
)

// Leg states. The state is for people and tools; the counting rule never looks at it.
const (
	// StateExpected: the amount is an estimate (a destination credit before the withdrawal is sent).
	StateExpected = "expected"
	// StateRealized: the amount is final (a debit, or a credit once the venue reported what it sent)
	// and the chain does not show it yet.
	StateRealized = "realized"
	// StateSettled: UntilBlock is set; the chain shows the leg from that block on.
	StateSettled = "settled"
)

// Leg is one signed adjustment an in-flight intent makes to an account's balance of one token on
// one chain. It is stored as the ledger field <IntentID>:<Name>.
type Leg struct {
	// IntentID is the intent the leg belongs to.
	IntentID string
	// Name tells the intent's legs apart, e.g. "src", "dst", "hop". It is not in the JSON value;
	// it is the part of the field after the intent id.
	Name string
	// ChainID is the EVM chain id the leg adjusts.
	ChainID uint64
	// Token is the configured symbol (USDC, USDT).
	Token string
	// Amount is signed, in base units: negative debits, positive credits.
	Amount *big.Int
	// Decimals of Token on ChainID (18 for BSC stablecoins).
	Decimals uint8
	// UntilBlock is 0 while the chain does not show the leg, then the first block whose balance
	// does. A reader at block b counts the leg when UntilBlock == 0 or b < UntilBlock.
	UntilBlock uint64
	// State is one of the State constants (informational).
	State string
	// UpdatedAt is when the writer last wrote the leg, to the millisecond. The Writer sets it.
	UpdatedAt time.Time
}

// Field returns the leg's ledger field, <IntentID>:<Name>.
func (l Leg) Field() string { return LegField(l.IntentID, l.Name) }

// Validate reports whether the leg can be stored.
func (l Leg) Validate() error {
	if err := checkName("leg name", l.Name); err != nil {
		return err
	}
	return l.validateValue()
}

// validateValue checks everything but the name: what the leg's JSON value holds.
func (l Leg) validateValue() error {
	if err := checkName("intent id", l.IntentID); err != nil {
		return err
	}
	if err := checkName("token", l.Token); err != nil {
		return err
	}
	if err := checkName("state", l.State); err != nil {
		return err
	}
	if l.ChainID == 0 || l.ChainID > MaxSafeInteger {
		return fmt.Errorf("%w: leg %s: chain id %d out of range", ErrInvalid, l.Field(), l.ChainID)
	}
	if l.UntilBlock > MaxSafeInteger {
		return fmt.Errorf("%w: leg %s: untilBlock %d past 2^53-1", ErrInvalid, l.Field(), l.UntilBlock)
	}
	if l.Amount == nil {
		return fmt.Errorf("%w: leg %s: nil amount", ErrInvalid, l.Field())
	}
	if ms := l.UpdatedAt.UnixMilli(); ms < 0 || ms > MaxSafeInteger {
		return fmt.Errorf("%w: leg %s: updatedAt %s out of range", ErrInvalid, l.Field(), l.UpdatedAt)
	}
	return nil
}

package events

import "strconv"

// LedgerWatermark says the executor has recorded every mining and landing of the account's legs on
// the chain up to and including block AsOf (DESIGN §8).
type LedgerWatermark struct {
	Meta
	Account string `json:"account"`
	ChainID uint64 `json:"chainId"`
	AsOf    uint64 `json:"asOf"`
}

// Validate implements Event.
func (w *LedgerWatermark) Validate() error {
	if err := w.Meta.validate(TypeLedgerWatermark); err != nil {
		return err
	}
	if err := validateAddress("account", w.Account); err != nil {
		return err
	}
	return validateChainID("chainId", w.ChainID)
}

// Subject implements Event: rebal.v1.ledger.<account>.
func (w *LedgerWatermark) Subject() string { return SubjectLedger + "." + w.Account }

// MsgID implements Event: wm:<account>:<chain>:<block>.
func (w *LedgerWatermark) MsgID() string {
	return "wm:" + w.Account + ":" + strconv.FormatUint(w.ChainID, 10) + ":" + strconv.FormatUint(w.AsOf, 10)
}

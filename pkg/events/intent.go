package events

import (
	"time"
)

// Basis is what an intent was decided from: the stream sequence of the input that triggered the
// decision and the hash of the planner configuration in force. With the stream, it is enough to
// reproduce the decision.
type Basis struct {
	Seq        uint64 `json:"seq"`
	ConfigHash string `json:"configHash"`
}

// Route says which token leaves which chain and which token arrives where.
type Route struct {
	SrcChain    uint64 `json:"srcChain"`
	SrcToken    string `json:"srcToken"`
	SrcDecimals uint8  `json:"srcDecimals"`
	DstChain    uint64 `json:"dstChain"`
	DstToken    string `json:"dstToken"`
	DstDecimals uint8  `json:"dstDecimals"`
}

// Justification holds the figures behind a decision, so an operator can read why it was made.
type Justification struct {
	// Excess at the source, in source base units.
	Excess Amount `json:"excess"`
	// Deficit at the destination, in destination base units.
	Deficit Amount `json:"deficit"`
	// CostEstimate is the expected total cost in source base units.
	CostEstimate Amount `json:"costEstimate"`
	// Reason is a one-line human explanation.
	Reason string `json:"reason,omitempty"`
}

// RebalanceIntent is a planner decision: move AmountIn of SrcToken on SrcChain into DstToken on
// DstChain through Venue, receiving at least MinAmountOut, paying at most MaxFee.
type RebalanceIntent struct {
	Meta
	Basis   Basis  `json:"basis"`
	Account string `json:"account"`
	Venue   string `json:"venue"`
	Route   Route  `json:"route"`
	// AmountIn is in source base units.
	AmountIn Amount `json:"amountIn"`
	// MinAmountOut is in destination base units.
	MinAmountOut Amount `json:"minAmountOut"`
	// MaxFee is in source base units.
	MaxFee Amount `json:"maxFee"`
	// Deadline after which the executor must not start the irreversible deposit.
	Deadline time.Time     `json:"deadline"`
	Why      Justification `json:"why"`
}

// Validate implements Event.
func (in *RebalanceIntent) Validate() error {
	if err := in.Meta.validate(TypeRebalanceIntent); err != nil {
		return err
	}
	if !isHex64(in.ID) {
		return fieldErr("id", "%q is not a 64-digit lower-case hex hash", in.ID)
	}
	if in.Basis.ConfigHash == "" {
		return fieldErr("basis.configHash", "missing")
	}
	if err := validateAddress("account", in.Account); err != nil {
		return err
	}
	if err := validateVenue("venue", in.Venue); err != nil {
		return err
	}
	r := in.Route
	if err := validateChainID("route.srcChain", r.SrcChain); err != nil {
		return err
	}
	if err := validateChainID("route.dstChain", r.DstChain); err != nil {
		return err
	}
	if err := validateToken("route.srcToken", r.SrcToken); err != nil {
		return err
	}
	if err := validateToken("route.dstToken", r.DstToken); err != nil {
		return err
	}
	if err := validateDecimals("route.srcDecimals", r.SrcDecimals); err != nil {
		return err
	}
	if err := validateDecimals("route.dstDecimals", r.DstDecimals); err != nil {
		return err
	}
	if r.SrcChain == r.DstChain && r.SrcToken == r.DstToken {
		return fieldErr("route", "source and destination are the same (%d %s)", r.SrcChain, r.SrcToken)
	}
	if err := validatePositive("amountIn", in.AmountIn); err != nil {
		return err
	}
	if err := validateNonNegative("minAmountOut", in.MinAmountOut); err != nil {
		return err
	}
	if err := validateNonNegative("maxFee", in.MaxFee); err != nil {
		return err
	}
	if in.MaxFee.Cmp(in.AmountIn) > 0 {
		return fieldErr("maxFee", "%s exceeds amountIn %s", in.MaxFee, in.AmountIn)
	}
	if in.Deadline.IsZero() {
		return fieldErr("deadline", "missing")
	}
	if err := validateNonNegative("why.excess", in.Why.Excess); err != nil {
		return err
	}
	if err := validateNonNegative("why.deficit", in.Why.Deficit); err != nil {
		return err
	}
	return validateNonNegative("why.costEstimate", in.Why.CostEstimate)
}

// Subject implements Event: rebal.v1.intents.<venue>.
func (in *RebalanceIntent) Subject() string { return SubjectIntents + "." + in.Venue }

// MsgID implements Event: the intent id, which is deterministic (DESIGN §6), so two planners that
// decide the same thing publish one message.
func (in *RebalanceIntent) MsgID() string { return in.ID }

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

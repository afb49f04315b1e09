package executor

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// Leg names (DESIGN §8).
const (
	legSrc = "src"
	legDst = "dst"
)

// Record is an intent's state machine record, stored as the pending ledger's opaque record bytes
// (JSON). Its version in Redis is the compare-and-set version and the ExecutionUpdate's
// IntentVersion.
type Record struct {
	Intent events.RebalanceIntent `json:"intent"`
	State  events.State           `json:"state"`
	// Resume is the state a waiting intent returns to; Wait says what it waits for.
	Resume events.State `json:"resume,omitempty"`
	Wait   string       `json:"wait,omitempty"`
	// Fence is the lease fencing token of the replica that wrote this version; a replica holding
	// an older token stops when it sees a newer one.
	Fence uint64 `json:"fence"`
	// EnteredAt is when the current state was entered; Deadline when it escalates.
	EnteredAt time.Time `json:"enteredAt"`
	Deadline  time.Time `json:"deadline"`
	// Attempt is the venue call made (or about to be made) in the current state, recorded before
	// the call so that a restart looks it up before any resubmission.
	Attempt *Attempt `json:"attempt,omitempty"`

	Deposit  DepositStep  `json:"deposit"`
	Order    OrderStep    `json:"order"`
	Withdraw WithdrawStep `json:"withdraw"`

	Legs    []events.Leg `json:"legs"`
	FundsAt string       `json:"fundsAt,omitempty"`
	Error   string       `json:"error,omitempty"`
}

// Attempt is a venue side effect in flight.
type Attempt struct {
	Step string    `json:"step"`
	At   time.Time `json:"at"`
}

// DepositStep is the deposit's data: the write-ahead step key and tx, the block it was mined in,
// what the venue credited.
type DepositStep struct {
	StepKey string `json:"stepKey,omitempty"`
	Address string `json:"address,omitempty"`
	// ApproveTx is the approve signed before a deposit that the venue pulls with transferFrom
	// (Hyperliquid's CoreDepositWallet); TxHash is always the call that moves the tokens.
	ApproveTx string        `json:"approveTx,omitempty"`
	TxHash    string        `json:"txHash,omitempty"`
	Block     uint64        `json:"block,omitempty"`
	Credited  events.Amount `json:"credited"`
}

// OrderStep is the trade's data.
type OrderStep struct {
	ClientID string        `json:"clientId,omitempty"`
	VenueID  string        `json:"venueId,omitempty"`
	Spent    events.Amount `json:"spent"`
	Received events.Amount `json:"received"`
	// ReceivedDecimals are the decimals Received is expressed in (the destination chain's).
	Fee      events.Amount `json:"fee"`
	FeeToken string        `json:"feeToken,omitempty"`
	FeeDec   uint8         `json:"feeDecimals,omitempty"`
}

// WithdrawStep is the withdrawal's data. Amount is gross (what left the venue account), Net what
// the recipient gets, Landed what the chain shows arrived.
type WithdrawStep struct {
	ClientID string        `json:"clientId,omitempty"`
	VenueID  string        `json:"venueId,omitempty"`
	Amount   events.Amount `json:"amount"`
	Fee      events.Amount `json:"fee"`
	Net      events.Amount `json:"net"`
	TxHash   string        `json:"txHash,omitempty"`
	Block    uint64        `json:"block,omitempty"`
	Landed   events.Amount `json:"landed"`
	// Since is the destination chain's head read before the withdrawal was first requested, for
	// venues that report no chain transaction (Hyperliquid): its landing is a later block.
	Since uint64 `json:"since,omitempty"`
}

func (r *Record) encode() ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record %s: %w", r.Intent.ID, err)
	}
	return b, nil
}

func decodeRecord(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	return &r, nil
}

// clone deep-copies the record through JSON, so a step works on its own copy.
func (r *Record) clone() *Record {
	b, err := json.Marshal(r)
	if err != nil {
		panic("executor: record does not marshal: " + err.Error())
	}
	c, err := decodeRecord(b)
	if err != nil {
		panic("executor: record does not unmarshal: " + err.Error())
	}
	return c
}

// leg returns the named leg, or nil.
func (r *Record) leg(name string) *events.Leg {
	for i := range r.Legs {
		if r.Legs[i].Name == name {
			return &r.Legs[i]
		}
	}
	return nil
}

// initialLegs are an accepted intent's legs: the source debit (−amountIn) and the destination
// credit (+minAmountOut, expected), both in effect until their blocks are known.
func initialLegs(in *events.RebalanceIntent) []events.Leg {
	return []events.Leg{
		{Name: legSrc, ChainID: in.Route.SrcChain, Token: in.Route.SrcToken, Decimals: in.Route.SrcDecimals,
			Amount: events.NewAmount(new(big.Int).Neg(in.AmountIn.Big()))},
		{Name: legDst, ChainID: in.Route.DstChain, Token: in.Route.DstToken, Decimals: in.Route.DstDecimals,
			Amount: in.MinAmountOut},
	}
}

// pendingLeg converts a record leg to the ledger's form, with the informational state.
func pendingLeg(intentID string, l events.Leg) pending.Leg {
	state := pending.StateRealized
	switch {
	case l.UntilBlock != 0:
		state = pending.StateSettled
	case l.Amount.Sign() > 0 && l.Name == legDst:
		state = pending.StateExpected
	}
	return pending.Leg{IntentID: intentID, Name: l.Name, ChainID: l.ChainID, Token: l.Token,
		Amount: l.Amount.Big(), Decimals: l.Decimals, UntilBlock: l.UntilBlock, State: state}
}

// legChanges lists the ledger writes that take the legs of old to those of next.
func legChanges(intentID string, old, next []events.Leg) []pending.LegUpdate {
	var out []pending.LegUpdate
	prev := map[string]events.Leg{}
	for _, l := range old {
		prev[l.Name] = l
	}
	seen := map[string]bool{}
	for _, l := range next {
		seen[l.Name] = true
		if p, ok := prev[l.Name]; ok && p.Amount.Cmp(l.Amount) == 0 && p.UntilBlock == l.UntilBlock &&
			p.ChainID == l.ChainID && p.Token == l.Token && p.Decimals == l.Decimals {
			continue
		}
		out = append(out, pending.SetLeg(pendingLeg(intentID, l)))
	}
	for _, l := range old {
		if !seen[l.Name] {
			out = append(out, pending.DropLeg(l.Name))
		}
	}
	return out
}

// refs are the venue and chain references an update carries.
func (r *Record) refs() map[string]string {
	m := map[string]string{}
	put := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put("approveTx", r.Deposit.ApproveTx)
	put("depositTx", r.Deposit.TxHash)
	if r.Deposit.Block != 0 {
		m["depositBlock"] = strconv.FormatUint(r.Deposit.Block, 10)
	}
	put("clientOrderId", r.Order.ClientID)
	put("orderId", r.Order.VenueID)
	put("withdrawOrderId", r.Withdraw.ClientID)
	put("withdrawId", r.Withdraw.VenueID)
	put("withdrawTx", r.Withdraw.TxHash)
	if r.Withdraw.Block != 0 {
		m["landedBlock"] = strconv.FormatUint(r.Withdraw.Block, 10)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// realized reports what moved so far, once anything has.
func (r *Record) realized() *events.Realized {
	if r.Deposit.Credited.Sign() == 0 && r.Withdraw.Landed.Sign() == 0 {
		return nil
	}
	out := &events.Realized{AmountIn: r.Deposit.Credited, AmountOut: r.Withdraw.Landed}
	if r.Order.Fee.Sign() > 0 {
		out.Fees = append(out.Fees, events.Fee{Kind: "trade", Token: r.Order.FeeToken, Amount: r.Order.Fee, Decimals: r.Order.FeeDec})
	}
	if r.Withdraw.Fee.Sign() > 0 {
		out.Fees = append(out.Fees, events.Fee{Kind: "withdraw", Token: r.Intent.Route.DstToken, Amount: r.Withdraw.Fee, Decimals: r.Intent.Route.DstDecimals})
	}
	return out
}

// update is the ExecutionUpdate for the record at version v. It depends only on the record, so
// republishing a version (the outbox) sends the same fact under the same message id.
func (r *Record) update(v uint64, producedAt time.Time) *events.ExecutionUpdate {
	in := &r.Intent
	u := &events.ExecutionUpdate{
		Meta:          events.NewMeta(events.TypeExecutionUpdate, in.ID+":"+strconv.FormatUint(v, 10), in.ID, producer, producedAt),
		IntentID:      in.ID,
		Account:       in.Account,
		Venue:         in.Venue,
		IntentVersion: v,
		State:         r.State,
		Legs:          append([]events.Leg(nil), r.Legs...),
		Refs:          r.refs(),
		Realized:      r.realized(),
		FundsAt:       r.FundsAt,
		Error:         r.Error,
	}
	if r.State == events.StateWaiting && u.Error == "" {
		u.Error = "waiting: " + r.Wait
	}
	if u.Legs == nil {
		u.Legs = []events.Leg{}
	}
	return u
}

const producer = "executor"

package events

import (
	"fmt"
	"strconv"
	"strings"
)

// BlockRange is the span of blocks a chain snapshot accounts for: every block after From up to and
// including To was seen. From equals the previous snapshot's To; From == To is a heartbeat with no
// new blocks.
type BlockRange struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// Reorg marks a snapshot published after the watcher found that the hash of an already published
// height changed: everything the consumer derived above Height is suspect and the range from
// Height was read again.
type Reorg struct {
	Height  uint64 `json:"height"`
	OldHash string `json:"oldHash"`
	NewHash string `json:"newHash"`
}

// TokenBalance is one token's balance in a snapshot.
type TokenBalance struct {
	Token string `json:"token"`
	// Address is the token contract on chains; empty at venues.
	Address  string `json:"address,omitempty"`
	Amount   Amount `json:"amount"`
	Decimals uint8  `json:"decimals"`
}

// BalanceSnapshot is one account's balances at one location at one point: on a chain as of block
// Range.To (having seen every block since Range.From), at a venue as of VenueSeq.
type BalanceSnapshot struct {
	Meta
	Location Location `json:"location"`
	Account  string   `json:"account"`
	// Range and BlockHash are set for chains.
	Range     *BlockRange `json:"range,omitempty"`
	BlockHash string      `json:"blockHash,omitempty"`
	// VenueSeq is set for venues: a number that increases with each read of the venue account
	// (milliseconds of the venue's clock where it has one).
	VenueSeq uint64 `json:"venueSeq,omitempty"`
	// Reorg is set on the first snapshot after a reorg was found.
	Reorg    *Reorg         `json:"reorg,omitempty"`
	Balances []TokenBalance `json:"balances"`
}

// Validate implements Event.
func (s *BalanceSnapshot) Validate() error {
	if err := s.Meta.validate(TypeBalanceSnapshot); err != nil {
		return err
	}
	if err := s.Location.Validate(); err != nil {
		return err
	}
	if err := validateAddress("account", s.Account); err != nil {
		return err
	}
	_, isChain := s.Location.ChainID()
	if isChain {
		if s.Range == nil {
			return fieldErr("range", "missing for chain location %s", s.Location)
		}
		if s.Range.From > s.Range.To {
			return fieldErr("range", "from %d > to %d", s.Range.From, s.Range.To)
		}
		if err := validateHash("blockHash", s.BlockHash); err != nil {
			return err
		}
		if s.VenueSeq != 0 {
			return fieldErr("venueSeq", "set on chain location %s", s.Location)
		}
	} else {
		if s.Range != nil || s.BlockHash != "" {
			return fieldErr("range", "set on venue location %s", s.Location)
		}
		if s.VenueSeq == 0 {
			return fieldErr("venueSeq", "missing for venue location %s", s.Location)
		}
		if s.Reorg != nil {
			return fieldErr("reorg", "set on venue location %s", s.Location)
		}
	}
	if s.Reorg != nil {
		if err := validateHash("reorg.oldHash", s.Reorg.OldHash); err != nil {
			return err
		}
		if err := validateHash("reorg.newHash", s.Reorg.NewHash); err != nil {
			return err
		}
		if s.Reorg.Height > s.Range.To {
			return fieldErr("reorg.height", "%d above range.to %d", s.Reorg.Height, s.Range.To)
		}
	}
	seen := map[string]bool{}
	for i, b := range s.Balances {
		f := fmt.Sprintf("balances[%d]", i)
		if err := validateToken(f+".token", b.Token); err != nil {
			return err
		}
		if seen[b.Token] {
			return fieldErr(f+".token", "%s listed twice", b.Token)
		}
		seen[b.Token] = true
		if isChain {
			if err := validateAddress(f+".address", b.Address); err != nil {
				return err
			}
		}
		if err := validateNonNegative(f+".amount", b.Amount); err != nil {
			return err
		}
		if err := validateDecimals(f+".decimals", b.Decimals); err != nil {
			return err
		}
	}
	return nil
}

// Point is the snapshot's position: the block To on chains, the venue sequence at venues.
func (s *BalanceSnapshot) Point() uint64 {
	if s.Range != nil {
		return s.Range.To
	}
	return s.VenueSeq
}

// Subject implements Event: rebal.v1.balances.<location>.<account>.
func (s *BalanceSnapshot) Subject() string {
	return SubjectBalances + "." + string(s.Location) + "." + s.Account
}

// MsgID implements Event: bal:<location>:<account>:<to>, so that publishing the same range again is
// de-duplicated. Two kinds of snapshot are new facts at a height already published, and add a
// suffix: one after a reorg adds the new block hash, and a heartbeat (a chain snapshot whose range
// is empty, from == to: "still at this block") adds ":hb" and its time in milliseconds.
func (s *BalanceSnapshot) MsgID() string {
	id := "bal:" + string(s.Location) + ":" + s.Account + ":" + strconv.FormatUint(s.Point(), 10)
	switch {
	case s.Reorg != nil:
		id += ":" + strings.TrimPrefix(s.BlockHash, "0x")
	case s.IsHeartbeat():
		id += ":hb" + strconv.FormatInt(s.ProducedAt.UnixMilli(), 10)
	}
	return id
}

// IsHeartbeat reports whether the snapshot covers no new block (a chain snapshot with from == to).
func (s *BalanceSnapshot) IsHeartbeat() bool { return s.Range != nil && s.Range.From == s.Range.To }

func validateHash(field, h string) error {
	if len(h) != 66 || h[:2] != "0x" {
		return fieldErr(field, "%q is not a 0x-prefixed 32-byte hex hash", h)
	}
	for _, c := range h[2:] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fieldErr(field, "%q is not lower-case hex", h)
		}
	}
	return nil
}

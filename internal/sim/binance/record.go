package simbinance

import (
	"math/big"
	"time"
)

// ActionKind names something the simulator did that moved funds.
type ActionKind string

// Action kinds.
const (
	ActionOrder          ActionKind = "order"           // an order was accepted
	ActionTrade          ActionKind = "trade"           // an order filled (partly or fully)
	ActionWithdraw       ActionKind = "withdraw"        // a withdrawal was accepted
	ActionWithdrawSent   ActionKind = "withdraw_sent"   // its ERC20 transfer was broadcast
	ActionDepositSeen    ActionKind = "deposit_seen"    // a deposit transfer was found on chain
	ActionDepositCredit  ActionKind = "deposit_credit"  // a deposit was credited
	ActionDepositUnlock  ActionKind = "deposit_unlock"  // a deposit became withdrawable
	ActionTransfer       ActionKind = "transfer"        // a universal transfer between wallets
	ActionWithdrawFailed ActionKind = "withdraw_failed" // its transfer failed; funds returned
)

// Action is one entry of the simulator's record.
type Action struct {
	Kind     ActionKind
	Time     time.Time
	APIKey   string
	ID       string // order id, withdrawal id, transfer id
	ClientID string // newClientOrderId or withdrawOrderId
	Coin     string
	Network  string
	Amount   string
	TxHash   string
}

func (s *Sim) recordLocked(a Action) {
	a.Time = s.cfg.Now()
	s.actions = append(s.actions, a)
}

// Actions returns a copy of everything the simulator did, in order.
func (s *Sim) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Action(nil), s.actions...)
}

// Count returns how many actions of kind carry clientID ("" counts all of that kind).
func (s *Sim) Count(kind ActionKind, clientID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.actions {
		if a.Kind == kind && (clientID == "" || a.ClientID == clientID) {
			n++
		}
	}
	return n
}

// Balance returns an account's free balance of coin in a wallet ("spot" or "funding") as a
// decimal string with 8 places.
func (s *Sim) Balance(apiKey, wallet, coin string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[apiKey]
	if a == nil {
		return ""
	}
	return fmtDec(bal(a.wallets[wallet], coin), 8)
}

// Credit adds amount (a decimal string) of coin to an account's wallet, as if deposited earlier.
func (s *Sim) Credit(apiKey, wallet, coin, amount string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[apiKey]
	if a == nil {
		return
	}
	add(a.wallets[wallet], coin, mustDec(amount))
}

func bal(m map[string]*big.Rat, coin string) *big.Rat {
	if v, ok := m[coin]; ok {
		return new(big.Rat).Set(v)
	}
	return new(big.Rat)
}

func add(m map[string]*big.Rat, coin string, d *big.Rat) {
	v, ok := m[coin]
	if !ok {
		v = new(big.Rat)
		m[coin] = v
	}
	v.Add(v, d)
}

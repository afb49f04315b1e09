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

// AccountView is an account's holdings and its deposits, orders and withdrawals, read at one
// instant (one lock), so a test can attribute every unit the account holds.
type AccountView struct {
	// Holdings per coin: spot and funding, free and locked (credited deposits not yet unlocked are
	// part of the wallets; what open orders hold is added).
	Holdings map[string]*big.Rat
	// Base and Quote are the traded symbol's coins.
	Base, Quote string
	Deposits    []DepositView
	Orders      []OrderView
	Withdrawals []WithdrawalView
}

// DepositView is a deposit the simulator saw; Credited once it reached a wallet.
type DepositView struct {
	TxHash, Coin string
	Amount       *big.Rat
	Credited     bool
}

// OrderView is an accepted order: Executed is base quantity, CumQuote its quote value, Commission
// the fees charged in CommissionAsset.
type OrderView struct {
	ClientID, Side, Status string
	Executed, CumQuote     *big.Rat
	Commission             *big.Rat
	CommissionAsset        string
}

// WithdrawalView is an accepted withdrawal: Amount reaches the recipient, Fee is kept; a Failed
// one was refunded (Amount+Fee).
type WithdrawalView struct {
	ClientID, Coin string
	Amount, Fee    *big.Rat
	Failed         bool
}

// View returns an account's AccountView (false for an unknown API key).
func (s *Sim) View(apiKey string) (AccountView, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[apiKey]
	if a == nil {
		return AccountView{}, false
	}
	v := AccountView{Holdings: map[string]*big.Rat{}, Base: s.sym.Base, Quote: s.sym.Quote}
	for _, w := range a.wallets {
		for c, x := range w {
			add(v.Holdings, c, x)
		}
	}
	for c, x := range a.orderLocked {
		add(v.Holdings, c, x)
	}
	for _, d := range s.deposits {
		if d.acct == a {
			v.Deposits = append(v.Deposits, DepositView{TxHash: d.txHash, Coin: d.coin, Amount: new(big.Rat).Set(d.amount),
				Credited: d.status == 1 || d.status == 6})
		}
	}
	for _, o := range s.orders {
		if o.acct != a {
			continue
		}
		ov := OrderView{ClientID: o.clientID, Side: o.side, Status: o.status, Executed: new(big.Rat).Set(o.executed),
			CumQuote: new(big.Rat).Set(o.cumQuote), Commission: new(big.Rat)}
		for _, t := range o.fills {
			ov.Commission.Add(ov.Commission, t.commission)
			ov.CommissionAsset = t.commissionAsset
		}
		v.Orders = append(v.Orders, ov)
	}
	for _, w := range s.withdrawals {
		if w.acct == a {
			v.Withdrawals = append(v.Withdrawals, WithdrawalView{ClientID: w.clientID, Coin: w.coin,
				Amount: new(big.Rat).Set(w.amount), Fee: new(big.Rat).Set(w.fee), Failed: w.status == 5})
		}
	}
	return v, true
}

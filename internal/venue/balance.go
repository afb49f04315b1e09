package venue

import "time"

// Balance is one token's balance in a venue account. Free can be traded or withdrawn; Locked is held
// by open orders, pending withdrawals or deposits not yet unlocked.
type Balance struct {
	Token  string
	Coin   string
	Free   Amount
	Locked Amount
	// Wallet names the venue wallet when the venue has several (Binance "spot", "funding").
	Wallet string
}

// Snapshot is a venue account's balances at one point. Seq increases with every snapshot one client
// takes, so a consumer can order them; AsOf is the venue's time when it reports one, else the
// client's.
type Snapshot struct {
	Venue    string
	Account  string
	Seq      uint64
	AsOf     time.Time
	Balances []Balance
}

package hlsim

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// Sim is the simulated venue. Its methods are safe for concurrent use.
type Sim struct {
	cfg Config
	log zerolog.Logger

	mu       sync.Mutex
	tokens   map[uint32]*Token
	byName   map[string]*Token
	books    map[uint32]*book // by asset id
	accounts map[common.Address]*account
	orders   map[uint64]*order
	cloids   map[common.Address]map[string]*order
	fills    map[common.Address][]fill
	ledger   map[common.Address][]ledgerUpdate
	record   []Event
	faults   []*faultRule
	// faultRate of requests fail at random (SetFaultRate), drawn from faultRng.
	faultRate float64
	faultRng  *rand.Rand
	weights   map[string][]spent
	nextOid   uint64
	nextTid   uint64
	minNtl    *big.Rat
	wdFee     *big.Int // USDC wei
	chains    *chains
}

type account struct {
	spot   map[uint32]*big.Int
	perp   *big.Int // perp USDC, wei
	nonces nonceSet
}

type book struct {
	pair       Pair
	base, quot *Token
	bids, asks []*level
}

type level struct {
	px *big.Rat
	sz *big.Int // base wei
}

type order struct {
	Oid       uint64
	User      common.Address
	Cloid     string
	Asset     uint32
	Coin      string
	IsBuy     bool
	LimitPx   string
	OrigSz    *big.Int // base wei
	Filled    *big.Int
	Status    string
	Timestamp int64
}

type fill struct {
	Coin, Px, Sz, Side, Dir, Hash, Fee, FeeToken, Cloid string
	Time                                                int64
	Oid, Tid                                            uint64
}

type ledgerUpdate struct {
	Time  int64          `json:"time"`
	Hash  string         `json:"hash"`
	Delta map[string]any `json:"delta"`
}

// Event is one thing the simulator did, for tests and operators.
type Event struct {
	Seq    int
	Time   time.Time
	Kind   string
	User   common.Address
	Cloid  string
	Oid    uint64
	Nonce  uint64
	Token  string
	Amount *big.Int // HyperCore wei of Token (chain amounts are converted)
	TxHash common.Hash
	Note   string
}

// Event kinds.
const (
	EvOrder         = "order"          // an order accepted and matched (Note: status)
	EvOrderRejected = "order_rejected" // an order rejected before or at matching (Note: reason)
	EvFill          = "fill"
	EvCancel        = "cancel"
	EvSpotSend      = "spot_send"
	EvWithdraw      = "withdraw"
	EvClassTransfer = "class_transfer"
	EvDeposit       = "deposit"      // credited from a chain (Note: bridge2 | system | wallet)
	EvDepositLost   = "deposit_lost" // below Bridge2's minimum, or USDC to a system address
	EvPayout        = "payout"       // a chain transfer paying a spotSend or withdraw3
	EvRejected      = "request_rejected"
	EvFault         = "fault"
)

// New builds a simulator. Chains, if configured, are dialled by Start.
func New(cfg Config, log zerolog.Logger) (*Sim, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	s := &Sim{
		cfg: cfg, log: log,
		tokens: map[uint32]*Token{}, byName: map[string]*Token{}, books: map[uint32]*book{},
		accounts: map[common.Address]*account{}, orders: map[uint64]*order{},
		cloids: map[common.Address]map[string]*order{}, fills: map[common.Address][]fill{},
		ledger: map[common.Address][]ledgerUpdate{}, weights: map[string][]spent{}, nextOid: 1000, nextTid: 1,
	}
	for i := range cfg.Tokens {
		t := cfg.Tokens[i]
		s.tokens[t.Index] = &t
		s.byName[t.Name] = &t
	}
	if _, ok := s.tokens[cfg.USDC]; !ok {
		return nil, fmt.Errorf("%w: USDC index %d not listed", ErrConfig, cfg.USDC)
	}
	var err error
	if s.minNtl, err = wire.ParseRat(cfg.MinNotional); err != nil {
		return nil, fmt.Errorf("%w: min notional: %w", ErrConfig, err)
	}
	if s.wdFee, err = wire.ParseDecimal(cfg.WithdrawFee, s.tokens[cfg.USDC].WeiDecimals); err != nil {
		return nil, fmt.Errorf("%w: withdraw fee: %w", ErrConfig, err)
	}
	for _, p := range cfg.Pairs {
		if err := s.setBookLocked(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetBook replaces a pair's book (the pair's universe index selects it).
func (s *Sim) SetBook(p Pair) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setBookLocked(p)
}

func (s *Sim) setBookLocked(p Pair) error {
	base, quote := s.tokens[p.Base], s.tokens[p.Quote]
	if base == nil || quote == nil {
		return fmt.Errorf("%w: pair %d tokens %d/%d", ErrUnknownToken, p.Index, p.Base, p.Quote)
	}
	b := &book{pair: p, base: base, quot: quote}
	parse := func(ls []Level) ([]*level, error) {
		var out []*level
		for _, l := range ls {
			px, err := wire.ParseRat(l.Px)
			if err != nil {
				return nil, fmt.Errorf("%w: level px: %w", ErrConfig, err)
			}
			sz, err := wire.ParseDecimal(l.Sz, base.WeiDecimals)
			if err != nil {
				return nil, fmt.Errorf("%w: level sz: %w", ErrConfig, err)
			}
			out = append(out, &level{px: px, sz: sz})
		}
		return out, nil
	}
	var err error
	if b.bids, err = parse(p.Bids); err != nil {
		return err
	}
	if b.asks, err = parse(p.Asks); err != nil {
		return err
	}
	sort.SliceStable(b.bids, func(i, j int) bool { return b.bids[i].px.Cmp(b.bids[j].px) > 0 })
	sort.SliceStable(b.asks, func(i, j int) bool { return b.asks[i].px.Cmp(b.asks[j].px) < 0 })
	s.books[10000+p.Index] = b
	return nil
}

// Credit adds amount (wei) of a spot token to user, creating the user: the devnet and tests' way to
// fund an account without a bridge.
func (s *Sim) Credit(user common.Address, token string, amount *big.Int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byName[token]
	if t == nil {
		return fmt.Errorf("%w: %s", ErrUnknownToken, token)
	}
	a := s.acct(user)
	a.spot[t.Index] = new(big.Int).Add(a.bal(t.Index), amount)
	s.event(Event{Kind: EvDeposit, User: user, Token: t.Name, Amount: new(big.Int).Set(amount), Note: "credit"})
	return nil
}

// SpotBalance is user's spot balance of token in wei.
func (s *Sim) SpotBalance(user common.Address, token string) *big.Int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byName[token]
	a := s.accounts[user]
	if t == nil || a == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(a.bal(t.Index))
}

// PerpBalance is user's perp USDC balance in wei.
func (s *Sim) PerpBalance(user common.Address) *big.Int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.accounts[user]; a != nil {
		return new(big.Int).Set(a.perp)
	}
	return new(big.Int)
}

// Record returns a copy of everything the simulator did, in order.
func (s *Sim) Record() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.record...)
}

// Count returns how many recorded events match kind and, if set, user and cloid.
func (s *Sim) Count(kind string, user common.Address, cloid string) int {
	n := 0
	for _, e := range s.Record() {
		if e.Kind == kind && (user == common.Address{} || e.User == user) && (cloid == "" || e.Cloid == cloid) {
			n++
		}
	}
	return n
}

// CountNonce returns how many recorded events match kind, user and the action's nonce: with EvWithdraw
// or EvSpotSend it says how often one signed transfer took effect.
func (s *Sim) CountNonce(kind string, user common.Address, nonce uint64) int {
	n := 0
	for _, e := range s.Record() {
		if e.Kind == kind && e.User == user && e.Nonce == nonce {
			n++
		}
	}
	return n
}

func (s *Sim) acct(u common.Address) *account {
	a := s.accounts[u]
	if a == nil {
		a = &account{spot: map[uint32]*big.Int{}, perp: new(big.Int)}
		s.accounts[u] = a
	}
	return a
}

func (a *account) bal(idx uint32) *big.Int {
	if b := a.spot[idx]; b != nil {
		return b
	}
	return new(big.Int)
}

func (s *Sim) event(e Event) {
	e.Seq = len(s.record) + 1
	e.Time = s.cfg.Now()
	s.record = append(s.record, e)
	s.log.Debug().Str("kind", e.Kind).Str("user", e.User.Hex()).Str("cloid", e.Cloid).Uint64("oid", e.Oid).
		Str("token", e.Token).Str("note", e.Note).Msg("hlsim")
}

func (s *Sim) nowMs() int64 { return s.cfg.Now().UnixMilli() }

// nonceSet keeps a signer's highest 100 nonces, as the venue does.
type nonceSet struct{ kept []uint64 } // ascending

const (
	keptNonces   = 100
	nonceBehind  = 2 * 24 * time.Hour
	nonceAheadBy = 24 * time.Hour
)

// accept records nonce and returns "", or returns the venue's refusal message.
func (n *nonceSet) accept(nonce uint64, now time.Time) string {
	lo := uint64(now.Add(-nonceBehind).UnixMilli())
	hi := uint64(now.Add(nonceAheadBy).UnixMilli())
	if nonce <= lo || nonce >= hi {
		return fmt.Sprintf("Invalid nonce: nonce %d is outside the allowed time window", nonce)
	}
	i := sort.Search(len(n.kept), func(i int) bool { return n.kept[i] >= nonce })
	if i < len(n.kept) && n.kept[i] == nonce {
		return fmt.Sprintf("Invalid nonce: duplicate nonce %d", nonce)
	}
	if len(n.kept) >= keptNonces && nonce < n.kept[0] {
		return fmt.Sprintf("Invalid nonce: nonce %d is lower than the smallest of the last %d", nonce, keptNonces)
	}
	n.kept = append(n.kept, 0)
	copy(n.kept[i+1:], n.kept[i:])
	n.kept[i] = nonce
	if len(n.kept) > keptNonces {
		n.kept = n.kept[1:]
	}
	return ""
}

func wireFormat(v *big.Int, decimals int) string { return wire.FormatDecimal(v, decimals) }

// FillView is one fill of a user's order, in wei: a buy spends QuoteWei of Quote and receives
// BaseWei−FeeWei of Base; a sell spends BaseWei of Base and receives QuoteWei−FeeWei of Quote (the
// quote rounded as settle rounds it: up when paid, down when received).
type FillView struct {
	Cloid, Base, Quote        string
	IsBuy                     bool
	BaseWei, QuoteWei, FeeWei *big.Int
}

// AccountView is a user's balances (spot per token name, perp USDC, in wei), fills and the
// simulator's record, read at one instant (one lock).
type AccountView struct {
	Spot   map[string]*big.Int
	Perp   *big.Int
	Fills  []FillView
	Record []Event
}

// View returns user's AccountView.
func (s *Sim) View(user common.Address) AccountView {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := AccountView{Spot: map[string]*big.Int{}, Perp: new(big.Int), Record: append([]Event(nil), s.record...)}
	if a := s.accounts[user]; a != nil {
		v.Perp.Set(a.perp)
		for idx, b := range a.spot {
			if t := s.tokens[idx]; t != nil {
				v.Spot[t.Name] = new(big.Int).Set(b)
			}
		}
	}
	for _, f := range s.fills[user] {
		var b *book
		for _, x := range s.books {
			if coinName(x) == f.Coin {
				b = x
			}
		}
		if b == nil {
			continue
		}
		base, _ := wire.ParseDecimal(f.Sz, b.base.WeiDecimals)
		px, _ := wire.ParseRat(f.Px)
		isBuy := f.Side == "B"
		fee, _ := wire.ParseDecimal(f.Fee, b.base.WeiDecimals)
		if !isBuy {
			fee, _ = wire.ParseDecimal(f.Fee, b.quot.WeiDecimals)
		}
		if base == nil || px == nil || fee == nil {
			continue
		}
		quote := toWei(new(big.Rat).Mul(px, ratOf(base, b.base.WeiDecimals)), b.quot.WeiDecimals, isBuy)
		v.Fills = append(v.Fills, FillView{Cloid: f.Cloid, Base: b.base.Name, Quote: b.quot.Name, IsBuy: isBuy,
			BaseWei: base, QuoteWei: quote, FeeWei: fee})
	}
	return v
}

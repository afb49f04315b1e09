package executor

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// testVenue is a venue for the executor's tests that moves real tokens on simulated chains:
// deposits are found as Transfer logs to its deposit address, withdrawals are paid by ERC20
// transfers from its hot wallet. It keeps its own book of what it created, so a test can prove
// that no order or withdrawal was made twice, and it injects faults: errors before acting and
// dropped responses after acting (ErrUnknownOutcome), on a fraction of calls. It stands in for
// the Binance adapter at the venue-view level until the wire-level simulator is wired here.
type testVenue struct {
	name     string
	chains   map[uint64]*simchain.Chain
	clients  map[uint64]*chain.Client
	routes   []venue.Route
	deposit  common.Address
	hot      *ecdsa.PrivateKey
	tradeBps int64               // taker fee in basis points
	wFee     map[uint64]*big.Int // withdrawal fee per destination chain, in its decimals

	mu          sync.Mutex
	rng         *rand.Rand
	faultRate   float64
	faults      int
	credited    map[string]venue.Amount // deposit tx → amount
	balance     map[string]*big.Rat     // token → whole tokens at the venue (spot)
	orders      map[string]venue.Order
	withdrawals map[string]venue.Withdrawal
	created     map[string]int // "order:<intent>" / "withdraw:<intent>" → how many were created
	createdAt   map[string]time.Time
	suspended   map[uint64]bool
	// lookupLag hides a new order or withdrawal from lookups for a while, as a venue's read path
	// lags its write path: "absent" right after an ambiguous answer must not be trusted.
	lookupLag time.Duration
	// holdDeposits keeps deposits uncredited, as a venue stuck on its confirmations.
	holdDeposits atomic.Bool
	// holdPayouts accepts withdrawals without paying them until releasePayouts.
	holdPayouts atomic.Bool
}

func newTestVenue(chains map[uint64]*simchain.Chain, clients map[uint64]*chain.Client, routes []venue.Route, seed uint64) *testVenue {
	return &testVenue{name: "binance", chains: chains, clients: clients, routes: routes,
		deposit: simchain.DevAddress("binance-deposit"), hot: simchain.DevKey("binance-hot"), tradeBps: 10,
		wFee: map[uint64]*big.Int{}, rng: rand.New(rand.NewPCG(seed, seed+1)),
		credited: map[string]venue.Amount{}, balance: map[string]*big.Rat{}, orders: map[string]venue.Order{},
		withdrawals: map[string]venue.Withdrawal{}, created: map[string]int{}, createdAt: map[string]time.Time{},
		suspended: map[uint64]bool{}, lookupLag: 50 * time.Millisecond}
}

func (v *testVenue) setFaultRate(r float64) { v.mu.Lock(); v.faultRate = r; v.mu.Unlock() }

// fault decides whether this call fails: 0 no, 1 fail before acting, 2 act then drop the answer.
func (v *testVenue) fault() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.faultRate == 0 || v.rng.Float64() >= v.faultRate {
		return 0
	}
	v.faults++
	return 1 + v.rng.IntN(2)
}

var errVenue5xx = fmt.Errorf("%w: http 503 from test venue", venue.ErrUnknownOutcome)

func (v *testVenue) readFault() error {
	if v.fault() != 0 {
		return errors.New("test venue: http 429 too many requests")
	}
	return nil
}

func (v *testVenue) Routes(ctx context.Context) ([]venue.Route, error) {
	if err := v.readFault(); err != nil {
		return nil, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	out := append([]venue.Route(nil), v.routes...)
	for i := range out {
		if v.suspended[out[i].ChainID] {
			out[i].WithdrawEnabled = false
		}
	}
	return out, nil
}

func (v *testVenue) route(k venue.Key) (venue.Route, bool) {
	for _, r := range v.routes {
		if r.Key() == k {
			return r, true
		}
	}
	return venue.Route{}, false
}

// expectedOut is what arrives for amountIn: the trade fee (cross-token only) and the withdrawal fee
// taken, each rounded against the account.
func (v *testVenue) expectedOut(src, dst venue.Key, in venue.Amount) venue.Amount {
	dr, _ := v.route(dst)
	got := in.Rescale(dr.Decimals, venue.Down)
	if src.Token != dst.Token {
		got.Units.Mul(got.Units, big.NewInt(10_000-v.tradeBps))
		got.Units.Quo(got.Units, big.NewInt(10_000))
	}
	got.Units.Sub(got.Units, v.wFee[dst.ChainID])
	return got
}

func (v *testVenue) Quote(ctx context.Context, src, dst venue.Key, in venue.Amount) (venue.Quote, error) {
	if err := v.readFault(); err != nil {
		return venue.Quote{}, err
	}
	out := v.expectedOut(src, dst, in)
	dr, _ := v.route(dst)
	return venue.Quote{Src: src, Dst: dst, AmountIn: in, Out: out, WithdrawFee: venue.NewAmount(v.wFee[dst.ChainID], dr.Decimals), Feasible: true}, nil
}

func (v *testVenue) DepositAddress(ctx context.Context, k venue.Key) (string, error) {
	if err := v.readFault(); err != nil {
		return "", err
	}
	return v.deposit.Hex(), nil
}

func (v *testVenue) FindDeposit(ctx context.Context, k venue.Key, txHash string) (venue.Deposit, error) {
	if err := v.readFault(); err != nil {
		return venue.Deposit{}, err
	}
	if v.holdDeposits.Load() {
		return venue.Deposit{Route: k, TxHash: txHash, Status: venue.DepositPending}, nil
	}
	v.mu.Lock()
	if a, ok := v.credited[txHash]; ok {
		v.mu.Unlock()
		return venue.Deposit{Route: k, TxHash: txHash, Amount: a, Status: venue.DepositCredited}, nil
	}
	v.mu.Unlock()
	r, _ := v.route(k)
	c := v.clients[k.ChainID]
	rcpt, err := c.Receipt(ctx, common.HexToHash(txHash))
	if errors.Is(err, chain.ErrNotFound) {
		return venue.Deposit{}, venue.ErrNotFound
	}
	if err != nil {
		return venue.Deposit{}, err
	}
	ts, err := c.Transfers(ctx, chain.TransferFilter{FromBlock: rcpt.BlockNumber.Uint64(), ToBlock: rcpt.BlockNumber.Uint64(),
		Tokens: []common.Address{common.HexToAddress(r.TokenAddress)}, To: []common.Address{v.deposit}})
	if err != nil {
		return venue.Deposit{}, err
	}
	amt := new(big.Int)
	for _, t := range ts {
		if t.TxHash == rcpt.TxHash {
			amt.Add(amt, t.Amount)
		}
	}
	if amt.Sign() == 0 {
		return venue.Deposit{}, venue.ErrNotFound
	}
	a := venue.NewAmount(amt, r.Decimals)
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.credited[txHash]; !ok {
		v.credited[txHash] = a
		v.add(k.Token, a.Rat())
	}
	return venue.Deposit{Route: k, TxHash: txHash, Amount: a, Status: venue.DepositCredited}, nil
}

func (v *testVenue) add(token string, r *big.Rat) {
	b, ok := v.balance[token]
	if !ok {
		b = new(big.Rat)
		v.balance[token] = b
	}
	b.Add(b, r)
}

func (v *testVenue) MakeTradable(ctx context.Context, token string, amount venue.Amount) (venue.Wait, error) {
	if err := v.readFault(); err != nil {
		return venue.WaitNone, err
	}
	return venue.WaitNone, nil
}

func orderID(intentID, step string) string { return "x-" + intentID[:16] + "-" + step }

func (v *testVenue) Swap(ctx context.Context, req venue.SwapRequest) (venue.Order, error) {
	f := v.fault()
	if f == 1 {
		return venue.Order{}, errVenue5xx
	}
	// Like Binance, a client order id is refused only while the first order is open; these fill at
	// once, so a second order with the same id would be accepted: the executor must look up first.
	id := orderID(req.IntentID, req.Step)
	v.mu.Lock()
	defer v.mu.Unlock()
	have := v.balance[req.From]
	if have == nil || have.Cmp(req.In.Rat()) < 0 {
		return venue.Order{ClientID: id, Status: venue.OrderRejected, Raw: "-2010 insufficient balance"}, nil
	}
	out := new(big.Rat).Mul(req.In.Rat(), big.NewRat(10_000-v.tradeBps, 10_000))
	recv, _ := venue.FromRat(out, req.MinOut.Decimals, venue.Down)
	if recv.Cmp(req.MinOut) < 0 {
		return venue.Order{ClientID: id, Status: venue.OrderCanceled, Raw: "expired: price bound"}, nil
	}
	fee := new(big.Rat).Sub(req.In.Rat(), recv.Rat())
	feeAmt, _ := venue.FromRat(fee, req.In.Decimals, venue.Up)
	v.add(req.From, new(big.Rat).Neg(req.In.Rat()))
	v.add(req.To, recv.Rat())
	o := venue.Order{ClientID: id, VenueID: fmt.Sprint(len(v.orders) + 1), Status: venue.OrderFilled, Side: venue.Sell,
		Spent: req.In, Received: recv, Fee: feeAmt, FeeToken: req.From}
	if _, dup := v.orders[id]; !dup {
		v.orders[id] = o
		v.createdAt["order:"+id] = time.Now()
	}
	v.created["order:"+req.IntentID]++
	if f == 2 {
		return venue.Order{}, fmt.Errorf("%w: response dropped", venue.ErrUnknownOutcome)
	}
	return o, nil
}

func (v *testVenue) FindOrder(ctx context.Context, intentID, step string) (venue.Order, error) {
	if err := v.readFault(); err != nil {
		return venue.Order{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	o, ok := v.orders[orderID(intentID, step)]
	if !ok || time.Since(v.createdAt["order:"+orderID(intentID, step)]) < v.lookupLag {
		return venue.Order{}, venue.ErrNotFound
	}
	return o, nil
}

func (v *testVenue) Withdraw(ctx context.Context, req venue.WithdrawRequest) (venue.Withdrawal, error) {
	f := v.fault()
	if f == 1 {
		return venue.Withdrawal{}, errVenue5xx
	}
	// Like Binance, withdrawOrderId is a lookup key, not de-duplicated: the executor must look up.
	id := orderID(req.IntentID, req.Step)
	v.mu.Lock()
	if v.suspended[req.Route.ChainID] {
		v.mu.Unlock()
		return venue.Withdrawal{ClientID: id, Wait: venue.WaitWithdrawSuspended}, nil
	}
	r, _ := v.route(req.Route)
	fee := venue.NewAmount(v.wFee[req.Route.ChainID], r.Decimals)
	have := v.balance[req.Route.Token]
	if have == nil || have.Cmp(req.Amount.Rat()) < 0 {
		v.mu.Unlock()
		return venue.Withdrawal{}, fmt.Errorf("%w: insufficient balance", venue.ErrRejected)
	}
	net := new(big.Int).Sub(req.Amount.Rescale(r.Decimals, venue.Down).Units, fee.Units)
	v.add(req.Route.Token, new(big.Rat).Neg(req.Amount.Rat()))
	v.created["withdraw:"+req.IntentID]++
	w := venue.Withdrawal{ClientID: id, VenueID: fmt.Sprint(len(v.withdrawals) + 1), Route: req.Route, Address: req.Address,
		Amount: venue.NewAmount(net, r.Decimals), Fee: fee, Status: venue.WithdrawalPending}
	first := false
	if _, dup := v.withdrawals[id]; !dup {
		first = true
		v.withdrawals[id] = w
		v.createdAt["withdraw:"+id] = time.Now()
	}
	v.mu.Unlock()
	if v.holdPayouts.Load() {
		return w, nil
	}
	// Pay out on chain (outside the lock: mining takes a moment).
	rcpt, err := v.chains[req.Route.ChainID].Transfer(ctx, v.hot, req.Route.Token, common.HexToAddress(req.Address), net)
	v.mu.Lock()
	defer v.mu.Unlock()
	if err == nil {
		w.Status, w.TxHash = venue.WithdrawalCompleted, rcpt.TxHash.Hex()
		if first {
			v.withdrawals[id] = w
		}
	}
	if f == 2 || err != nil {
		return venue.Withdrawal{}, fmt.Errorf("%w: response dropped (transfer error: %w)", venue.ErrUnknownOutcome, err)
	}
	return w, nil
}

func (v *testVenue) FindWithdrawal(ctx context.Context, intentID, step string) (venue.Withdrawal, error) {
	if err := v.readFault(); err != nil {
		return venue.Withdrawal{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	w, ok := v.withdrawals[orderID(intentID, step)]
	if !ok || time.Since(v.createdAt["withdraw:"+orderID(intentID, step)]) < v.lookupLag {
		return venue.Withdrawal{}, venue.ErrNotFound
	}
	return w, nil
}

// releasePayouts pays every withdrawal held back.
func (v *testVenue) releasePayouts(ctx context.Context) error {
	v.holdPayouts.Store(false)
	v.mu.Lock()
	var held []venue.Withdrawal
	for _, w := range v.withdrawals {
		if w.Status == venue.WithdrawalPending {
			held = append(held, w)
		}
	}
	v.mu.Unlock()
	for _, w := range held {
		rcpt, err := v.chains[w.Route.ChainID].Transfer(ctx, v.hot, w.Route.Token, common.HexToAddress(w.Address), w.Amount.Units)
		if err != nil {
			return err
		}
		v.mu.Lock()
		w.Status, w.TxHash = venue.WithdrawalCompleted, rcpt.TxHash.Hex()
		v.withdrawals[w.ClientID] = w
		v.mu.Unlock()
	}
	return nil
}

func (v *testVenue) createdCount(kind, intentID string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.created[kind+":"+intentID]
}

func (v *testVenue) faultCount() int { v.mu.Lock(); defer v.mu.Unlock(); return v.faults }

var _ = types.ReceiptStatusSuccessful
var _ = contracts.TransferTopic
var _ = strings.ToLower

package executor

import (
	"context"
	"math/big"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// Bus is what the executor needs from the stream (*bus.Bus).
type Bus interface {
	Publish(ctx context.Context, ev events.Event) (bus.PublishResult, error)
	Consume(ctx context.Context, spec bus.ConsumerSpec, h bus.Handler) error
}

// Chain is what the executor reads from a chain (*chain.Client).
type Chain interface {
	Receipt(ctx context.Context, hash common.Hash) (*types.Receipt, error)
	Transfers(ctx context.Context, f chain.TransferFilter) ([]chain.Transfer, error)
	HeadNumber(ctx context.Context) (uint64, error)
	BalanceOf(ctx context.Context, block uint64, token, account common.Address) (*big.Int, error)
}

// Sender signs with write-ahead and broadcasts (*chain.Sender).
type Sender interface {
	Prepare(ctx context.Context, stepKey string, call chain.Call) (chain.TxRecord, error)
	Broadcast(ctx context.Context, rec chain.TxRecord) error
}

// Venue is the part of a venue adapter the executor drives (the venue packages return concrete
// types that satisfy it). Swap and Withdraw look their derived id up before submitting.
type Venue interface {
	Routes(ctx context.Context) ([]venue.Route, error)
	Quote(ctx context.Context, src, dst venue.Key, amountIn venue.Amount) (venue.Quote, error)
	DepositAddress(ctx context.Context, route venue.Key) (string, error)
	FindDeposit(ctx context.Context, route venue.Key, txHash string) (venue.Deposit, error)
	MakeTradable(ctx context.Context, token string, amount venue.Amount) (venue.Wait, error)
	Swap(ctx context.Context, req venue.SwapRequest) (venue.Order, error)
	FindOrder(ctx context.Context, intentID, step string) (venue.Order, error)
	Withdraw(ctx context.Context, req venue.WithdrawRequest) (venue.Withdrawal, error)
	FindWithdrawal(ctx context.Context, intentID, step string) (venue.Withdrawal, error)
}

// Deps are the executor's connections.
type Deps struct {
	Bus   Bus
	Redis redis.UniversalClient
	// Chains reads each chain by id; Senders builds the write-ahead sender of an account on a
	// chain (NewSenders does it from chain clients and signers, with the executor's Redis TxStore).
	Chains  map[uint64]Chain
	Senders func(chainID uint64, account string) (Sender, bool)
	Venues  map[string]Venue
	// Now is the clock (default time.Now): step deadlines, the 24 h cap, lease validity.
	Now func() time.Time
	Log zerolog.Logger
	// Metrics receives the executor's metrics when set.
	Metrics prometheus.Registerer
	// Fault, when set, is called at every named fault point (before and after each side effect and
	// each recorded step); an error aborts the step there, as a crash would. For tests.
	Fault func(point string) error
}

// NewSenders returns a Deps.Senders that builds one chain.Sender per (chain, account) from the
// chain clients and the accounts' signers (keyed by account, any letter case), keeping write-ahead
// records in Redis. Senders are cached: the chain package wants one per (chain, account) in a
// process.
func NewSenders(rdb redis.UniversalClient, clients map[uint64]*chain.Client, signers map[string]chain.Signer, opts ...chain.SenderOption) func(uint64, string) (Sender, bool) {
	var mu sync.Mutex
	cache := map[string]*chain.Sender{}
	byAccount := map[string]chain.Signer{}
	for a, s := range signers {
		if n, err := pending.NormalizeAccount(a); err == nil {
			byAccount[n] = s
		}
	}
	return func(chainID uint64, account string) (Sender, bool) {
		n, err := pending.NormalizeAccount(account)
		if err != nil {
			return nil, false
		}
		mu.Lock()
		defer mu.Unlock()
		k := n + ":" + strconv.FormatUint(chainID, 10)
		if s, ok := cache[k]; ok {
			return s, true
		}
		c, ok := clients[chainID]
		signer, ok2 := byAccount[n]
		if !ok || !ok2 {
			return nil, false
		}
		s := chain.NewSender(c, signer, &txStore{rdb: rdb, account: n}, opts...)
		cache[k] = s
		return s, true
	}
}

package pending_test

import (
	"context"
	"fmt"
	"math/big"

	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// An inventory client reads the ledger of its account at the blocks its balances were read at,
// and adds each chain's totals to those balances.
func ExampleReader_Read() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", Username: "rebal-inventory"})
	defer rdb.Close()
	r := pending.NewReader(rdb)

	balances := map[uint64]*big.Int{56: big.NewInt(5_000), 42161: big.NewInt(7_000)} // USDT base units
	blocks := map[uint64]uint64{56: 41_000_020, 42161: 250_000_500}
	view, err := r.Read(context.Background(), "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", blocks)
	if err != nil {
		fmt.Println("read ledger:", err) // fail closed: do not trade on a partial view
		return
	}
	for chain, bal := range balances {
		if t, ok := view.Total(chain, "USDT"); ok {
			bal.Add(bal, t.Amount)
		}
		if view.Chains[chain].Ahead {
			fmt.Printf("chain %d: balance read past asOf %d; total is conservative\n", chain, view.Chains[chain].AsOf)
		}
	}
}

// The executor accepts an intent and records the legs' blocks as the chain shows them.
func ExampleWriter() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", Username: "rebal-executor"})
	defer rdb.Close()
	w := pending.NewWriter(rdb)
	ctx := context.Background()
	account, id := "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "7f3a9c2e41d0b865"

	usdt := new(big.Int).Mul(big.NewInt(1000), new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
	src := pending.Leg{Name: "src", ChainID: 56, Token: "USDT", Amount: new(big.Int).Neg(usdt), Decimals: 18, State: pending.StateRealized}
	dst := pending.Leg{Name: "dst", ChainID: 42161, Token: "USDC", Amount: big.NewInt(998_000_000), Decimals: 6, State: pending.StateExpected}
	created, err := w.Accept(ctx, account, id, []byte(`{"state":"accepted"}`), []pending.Leg{src, dst})
	if err != nil || !created {
		return // a replayed intent: already accepted
	}

	// The deposit was mined at block 41000012.
	src.UntilBlock, src.State = 41_000_012, pending.StateSettled
	if _, err := w.Update(ctx, account, id, 1, []byte(`{"state":"deposit_mined"}`), []pending.LegUpdate{pending.SetLeg(src)}); err != nil {
		return // a *VersionConflictError means another writer moved first: re-read and decide again
	}
	// The watcher's snapshot at 41000020 has been reconciled.
	_, _ = w.AdvanceAsOf(ctx, account, 56, 41_000_020)
}

package executor

import (
	"fmt"
	"testing"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/txstoretest"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
)

// TestRedisTxStoreContract runs the chain.TxStore contract against the executor's Redis store: in
// particular two Senders of one account sharing it, as two replicas that each hold another venue's
// lease, never record one nonce twice.
func TestRedisTxStoreContract(t *testing.T) {
	rdb := testenv.StartRedis(t).Client(t)
	n := 0
	txstoretest.Run(t, func(*testing.T) chain.TxStore {
		n++
		return &txStore{rdb: rdb, account: fmt.Sprintf("0x%040x", n)} // a fresh account: an empty store
	})
}

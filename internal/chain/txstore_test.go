package chain_test

import (
	"testing"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/txstoretest"
)

func TestMemoryTxStoreContract(t *testing.T) {
	txstoretest.Run(t, func(*testing.T) chain.TxStore { return chain.NewMemoryTxStore() })
}

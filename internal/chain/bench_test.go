package chain

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/stretchr/testify/require"
)

// BenchmarkSnapshotRead measures one snapshot (4 tokens x 3 accounts at one
// block, with the block hash) over real HTTP JSON-RPC against a simulated
// chain, and reports it as a ratio to one bare balanceOf eth_call through
// ethclient measured in the same run, plus the HTTP round trips per
// snapshot.
func BenchmarkSnapshotRead(b *testing.B) {
	f := newFixture(b, true)
	f.transfer(b, 0, 0, 1, 1)
	block := f.sim.Head()
	ctx := context.Background()

	bare, err := ethclient.Dial(f.sim.RPCURL())
	require.NoError(b, err)
	b.Cleanup(bare.Close)
	msg := ethereum.CallMsg{To: &f.tokens[0], Data: erc20ABI.PackBalanceOf(f.accounts[0])}
	bareCall := func() {
		if _, err := bare.CallContract(ctx, msg, blockArg(block)); err != nil {
			b.Fatal(err)
		}
	}

	for _, mode := range []struct {
		name      string
		multicall bool
	}{{"multicall", true}, {"batched-calls", false}} {
		b.Run(mode.name, func(b *testing.B) {
			c := f.client(b, func(cfg *Config) {
				if !mode.multicall {
					cfg.Multicall = common.Address{}
				}
			})
			// Warm both paths: connections open, chain id verified.
			for range 20 {
				bareCall()
				_, err := c.SnapshotAt(ctx, block, f.tokens, f.accounts)
				require.NoError(b, err)
			}
			req0 := f.sim.Faults().Requests()

			// Bare call and snapshot alternate, so both see the same load on
			// a shared machine; ns/op is the snapshot's alone.
			faults := f.sim.Faults()
			var bareDur, snapDur time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				bareCall()
				t1 := time.Now()
				snap, err := c.SnapshotAt(ctx, block, f.tokens, f.accounts)
				t2 := time.Now()
				if err != nil || len(snap.Balances) != 12 {
					b.Fatalf("snapshot: %v (%d balances)", err, len(snap.Balances))
				}
				bareDur += t1.Sub(t0)
				snapDur += t2.Sub(t1)
			}
			b.StopTimer()
			bareNs := float64(bareDur.Nanoseconds()) / float64(b.N)
			snapNs := float64(snapDur.Nanoseconds()) / float64(b.N)
			// Each iteration sent one bare call (one request) plus the snapshot.
			roundTrips := float64(faults.Requests()-req0)/float64(b.N) - 1

			b.ReportMetric(snapNs, "ns/op")
			b.ReportMetric(snapNs/bareNs, "x-bare-eth_call")
			b.ReportMetric(roundTrips, "round-trips/snapshot")
			b.ReportMetric(bareNs, "bare-ns/call")
		})
	}
}

package chain

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
)

func TestSnapshotAtBlock(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	before := f.sim.Head()
	b1 := f.transfer(t, 0, 0, 1, 250_000) // USDC a -> b
	b2 := f.transfer(t, 3, 2, 0, 7)       // PYUSD c -> a
	require.Equal(t, before+1, b1)
	require.Equal(t, b1+1, b2)

	want := func(block uint64) map[[2]common.Address]*big.Int {
		m := map[[2]common.Address]*big.Int{}
		for i, tok := range f.tokens {
			for j, acct := range f.accounts {
				m[[2]common.Address{tok, acct}] = big.NewInt(int64(1_000_000 * (i + 1) * (j + 1)))
			}
		}
		add := func(i, j int, d int64) {
			k := [2]common.Address{f.tokens[i], f.accounts[j]}
			m[k] = new(big.Int).Add(m[k], big.NewInt(d))
		}
		if block >= b1 {
			add(0, 0, -250_000)
			add(0, 1, 250_000)
		}
		if block >= b2 {
			add(3, 2, -7)
			add(3, 0, 7)
		}
		return m
	}

	for _, mode := range []struct {
		name      string
		multicall bool
	}{{"multicall", true}, {"individual calls", false}} {
		t.Run(mode.name, func(t *testing.T) {
			c := f.client(t, func(cfg *Config) {
				if !mode.multicall {
					cfg.Multicall = common.Address{}
				}
			})
			_, err := c.HeadNumber(ctx) // verifies the chain id once
			require.NoError(t, err)
			for _, block := range []uint64{before, b1, b2} {
				faults := f.sim.Faults()
				n0 := faults.Requests()
				snap, err := c.SnapshotAt(ctx, block, f.tokens, f.accounts)
				require.NoError(t, err)
				require.Equal(t, int64(1), faults.Requests()-n0, "one round trip per snapshot")
				require.Equal(t, block, snap.Block.Number)
				hash, err := c.BlockHash(ctx, block)
				require.NoError(t, err)
				require.Equal(t, hash, snap.Block.Hash)
				require.Len(t, snap.Balances, len(f.tokens)*len(f.accounts))
				for k, amt := range want(block) {
					got, ok := snap.Get(k[0], k[1])
					require.True(t, ok)
					require.Equal(t, amt.String(), got.String(), "token %s account %s at %d", k[0], k[1], block)
					one, err := c.BalanceOf(ctx, block, k[0], k[1])
					require.NoError(t, err)
					require.Equal(t, amt.String(), one.String())
				}
			}
		})
	}
}

func TestSnapshotRejectsAddressWithoutCode(t *testing.T) {
	f := newFixture(t, true)
	for _, multicall := range []bool{true, false} {
		c := f.client(t, func(cfg *Config) {
			if !multicall {
				cfg.Multicall = common.Address{}
			}
		})
		_, err := c.SnapshotAt(context.Background(), 0, []common.Address{common.HexToAddress("0x1234")}, f.accounts)
		require.ErrorIs(t, err, ErrBadResponse, "an empty answer must not read as a zero balance (multicall=%v)", multicall)
	}
}

func TestHeadAndSettled(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	for range 40 {
		f.sim.Commit()
	}
	cases := []struct {
		name string
		cfg  func(*Config)
		want uint64
	}{
		{"latest", func(c *Config) { c.Finality = FinalityLatest }, 40},
		{"confirmations", func(c *Config) { c.Finality = FinalityConfirmations; c.Confirmations = 5 }, 35},
		{"confirmations beyond genesis", func(c *Config) { c.Confirmations = 100 }, 0},
		{"zero confirmations", func(c *Config) { c.Confirmations = 0 }, 40},
		{"safe", func(c *Config) { c.Finality = FinalitySafe }, 40},           // the simulated beacon marks the head safe
		{"finalized", func(c *Config) { c.Finality = FinalityFinalized }, 32}, // and finalizes every 32 blocks
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := f.client(t, tc.cfg)
			b, err := c.Settled(ctx)
			require.NoError(t, err)
			require.Equal(t, tc.want, b.Number)
			at, err := c.BlockAt(ctx, tc.want)
			require.NoError(t, err)
			require.Equal(t, at, b)
			if tc.want > 0 {
				parent, err := c.BlockAt(ctx, tc.want-1)
				require.NoError(t, err)
				require.Equal(t, parent.Hash, b.ParentHash)
			}
		})
	}
	c := f.client(t, nil)
	n, err := c.HeadNumber(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(40), n)
	_, err = c.BlockAt(ctx, 1000)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestTransfers(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	b1 := f.transfer(t, 0, 0, 1, 11)
	f.sim.Commit()
	b2 := f.transfer(t, 1, 1, 2, 22)
	b3 := f.transfer(t, 0, 2, 0, 33)
	require.NoError(t, f.sim.Mint(ctx, "USDC", f.accounts[1], big.NewInt(44)))
	b4 := f.sim.Head()

	type row struct {
		tok, from, to common.Address
		amt           int64
		block         uint64
	}
	all := []row{
		{f.tokens[0], f.accounts[0], f.accounts[1], 11, b1},
		{f.tokens[1], f.accounts[1], f.accounts[2], 22, b2},
		{f.tokens[0], f.accounts[2], f.accounts[0], 33, b3},
		{f.tokens[0], common.Address{}, f.accounts[1], 44, b4},
	}
	cases := []struct {
		name   string
		filter TransferFilter
		want   []row
	}{
		{"everything", TransferFilter{FromBlock: 0, ToBlock: b4}, all},
		{"one token", TransferFilter{FromBlock: 0, ToBlock: b4, Tokens: []common.Address{f.tokens[0]}}, []row{all[0], all[2], all[3]}},
		{"from", TransferFilter{FromBlock: 0, ToBlock: b4, From: []common.Address{f.accounts[1]}}, []row{all[1]}},
		{"to", TransferFilter{FromBlock: 0, ToBlock: b4, To: []common.Address{f.accounts[1]}}, []row{all[0], all[3]}},
		{"deposits of a into b's address", TransferFilter{FromBlock: 0, ToBlock: b4, From: []common.Address{f.accounts[0]}, To: []common.Address{f.accounts[1]}}, []row{all[0]}},
		{"range", TransferFilter{FromBlock: b2, ToBlock: b3}, []row{all[1], all[2]}},
		{"empty range", TransferFilter{FromBlock: b1 + 1, ToBlock: b1 + 1}, nil},
	}
	for _, maxRange := range []uint64{2000, 1} {
		c := f.client(t, func(cfg *Config) { cfg.MaxLogRange = maxRange })
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got, err := c.Transfers(ctx, tc.filter)
				require.NoError(t, err)
				require.Len(t, got, len(tc.want))
				for i, w := range tc.want {
					require.Equal(t, w.tok, got[i].Token)
					require.Equal(t, w.from, got[i].From)
					require.Equal(t, w.to, got[i].To)
					require.Equal(t, w.amt, got[i].Amount.Int64())
					require.Equal(t, w.block, got[i].Block)
					hash, err := c.BlockHash(ctx, w.block)
					require.NoError(t, err)
					require.Equal(t, hash, got[i].BlockHash)
				}
			})
		}
	}
	c := f.client(t, nil)
	_, err := c.Transfers(ctx, TransferFilter{FromBlock: 5, ToBlock: 4})
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestReorgVisible(t *testing.T) {
	f := newFixture(t, false)
	ctx := context.Background()
	for range 5 {
		f.sim.Commit()
	}
	c := f.client(t, nil)
	snapBefore, err := c.SnapshotAt(ctx, 4, f.tokens, f.accounts)
	require.NoError(t, err)
	old := map[uint64]common.Hash{}
	for n := uint64(1); n <= 5; n++ {
		old[n], err = c.BlockHash(ctx, n)
		require.NoError(t, err)
	}
	_, err = f.sim.Reorg(2) // blocks 4 and 5 replaced, 6 added
	require.NoError(t, err)
	for n := uint64(1); n <= 5; n++ {
		h, err := c.BlockHash(ctx, n)
		require.NoError(t, err)
		if n <= 3 {
			require.Equal(t, old[n], h)
		} else {
			require.NotEqual(t, old[n], h, "hash at %d changed", n)
		}
	}
	snapAfter, err := c.SnapshotAt(ctx, 4, f.tokens, f.accounts)
	require.NoError(t, err)
	require.NotEqual(t, snapBefore.Block.Hash, snapAfter.Block.Hash, "a reader comparing hashes at a known height sees the reorg")
	require.Equal(t, snapBefore.Block.ParentHash, snapAfter.Block.ParentHash)
}

func TestSnapshotBatchSplitAndFutureBlock(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client(t, func(cfg *Config) {
		cfg.Multicall = common.Address{}
		cfg.MaxBatch = 5
	})
	_, err := c.HeadNumber(ctx)
	require.NoError(t, err)
	faults := f.sim.Faults()
	n0 := faults.Requests()
	snap, err := c.SnapshotAt(ctx, 0, f.tokens, f.accounts)
	require.NoError(t, err)
	require.Len(t, snap.Balances, 12)
	require.Equal(t, int64(3), faults.Requests()-n0, "13 calls in batches of 5")

	// A block the node does not have yet is retryable (another endpoint, or
	// later), and typed once retries are spent.
	for _, multicall := range []bool{true, false} {
		c := f.client(t, func(cfg *Config) {
			if !multicall {
				cfg.Multicall = common.Address{}
			}
		})
		_, err = c.SnapshotAt(ctx, f.sim.Head()+10, f.tokens, f.accounts)
		require.ErrorIs(t, err, ErrBlockUnavailable, "multicall=%v", multicall)
	}
}

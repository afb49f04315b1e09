package devnet

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
	"github.com/rebalancer-dev/rebalancer/internal/config"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// TestCheckerCatchesALegCountedTwice shows the conservation check can fail: an intent whose
// deposit the chain already shows is balanced by its legs, but a leg written as if the deposit
// had not happened yet (untilBlock missing) is caught by exactly its amount.
func TestCheckerCatchesALegCountedTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	acct := crypto.PubkeyToAddress(key.PublicKey)
	sc, ok := simchain.DefaultChain(10)
	require.True(t, ok)
	sc.AutoMine, sc.Funded = true, append(sc.Funded, acct)
	c, err := simchain.New(sc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Mint(ctx, "USDC", acct, big.NewInt(1_000_000_000)))
	cl, err := chain.Dial(ctx, chain.Config{ChainID: 10, RPCURLs: []string{c.RPCURL()}, Multicall: contracts.MulticallAddress})
	require.NoError(t, err)
	t.Cleanup(cl.Close)

	cfg := config.Default()
	r := testenv.StartRedis(t)
	rdb := r.Client(t)
	tr := NewTracker(cfg)
	chk := &Checker{Config: cfg, Account: acct, Clients: map[uint64]*chain.Client{10: cl}, Redis: rdb, Tracker: tr, Load: &Load{Log: zerolog.Nop()}}
	require.NoError(t, chk.Baseline(ctx))

	// The relayer deposits 300 USDC to a venue: the chain shows the debit from the deposit's block.
	rc, err := c.Transfer(ctx, key, "USDC", simchain.DevAddress("venue"), big.NewInt(300_000_000))
	require.NoError(t, err)
	mined := rc.BlockNumber.Uint64()
	id := "3f7a1c2b9d8e4f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6"
	w := pending.NewWriter(rdb, pending.WithClock(time.Now))
	src := pending.Leg{IntentID: id, Name: "src", ChainID: 10, Token: "USDC", Amount: big.NewInt(-300_000_000), Decimals: 6, State: "accepted"}
	dst := pending.Leg{IntentID: id, Name: "dst", ChainID: 10, Token: "USDT", Amount: big.NewInt(299_000_000), Decimals: 6, State: "accepted"}
	_, err = w.Accept(ctx, acct.Hex(), id, []byte("{}"), []pending.Leg{src, dst})
	require.NoError(t, err)
	_, err = w.AdvanceAsOf(ctx, acct.Hex(), 10, c.Head())
	require.NoError(t, err)

	// The ledger has not recorded the deposit's block: the debit counts twice.
	ran, err := chk.Check(ctx)
	require.NoError(t, err)
	require.True(t, ran)
	_, violations, samples := chk.Results()
	require.Equal(t, 1, violations)
	require.Contains(t, samples[0], "diff -300000000000000000000", "off by exactly the 300 USDC counted twice (18 decimals)")

	// Recorded as it should be, the books balance.
	src.UntilBlock, src.State = mined, "deposit_mined"
	_, err = w.Update(ctx, acct.Hex(), id, 1, nil, []pending.LegUpdate{pending.SetLeg(src)})
	require.NoError(t, err)
	_, err = chk.Check(ctx)
	require.NoError(t, err)
	checks, violations, _ := chk.Results()
	require.Equal(t, 2, checks)
	require.Equal(t, 1, violations, "no new violation once the ledger is true")
}

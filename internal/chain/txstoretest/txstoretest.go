// Package txstoretest is the contract suite of chain.TxStore, run against the in-memory store
// (internal/chain) and the executor's Redis store (services/executor), so the fake and the real
// thing keep the same semantics: one record per step key, and a nonce reserved atomically per
// (chain, account).
package txstoretest

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
)

// Run runs the contract against stores from newStore, which must return an empty store each call.
func Run(t *testing.T, newStore func(t *testing.T) chain.TxStore) {
	t.Run("StepKeyOnce", func(t *testing.T) { testStepKeyOnce(t, newStore(t)) })
	t.Run("NonceReserved", func(t *testing.T) { testNonceReserved(t, newStore(t)) })
	t.Run("ConcurrentSaves", func(t *testing.T) { testConcurrentSaves(t, newStore(t)) })
	t.Run("TwoSenders", func(t *testing.T) { testTwoSenders(t, newStore(t)) })
}

var (
	alice = common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	bob   = common.HexToAddress("0x0000000000000000000000000000000000000b0b")
)

func record(step string, chainID uint64, from common.Address, nonce uint64) chain.TxRecord {
	raw := []byte(fmt.Sprintf("raw:%s:%d", step, nonce))
	return chain.TxRecord{StepKey: step, ChainID: chainID, From: from, To: bob, Nonce: nonce,
		Hash: crypto.Keccak256Hash(raw), Raw: raw}
}

// testStepKeyOnce: a step keeps its first record, whatever a later save carries.
func testStepKeyOnce(t *testing.T, s chain.TxStore) {
	ctx := context.Background()
	_, ok, err := s.LoadTx(ctx, "a")
	require.NoError(t, err)
	require.False(t, ok)
	_, ok, err = s.MaxNonce(ctx, 1, alice)
	require.NoError(t, err)
	require.False(t, ok)

	a := record("a", 1, alice, 5)
	got, err := s.SaveTx(ctx, a)
	require.NoError(t, err)
	require.Equal(t, a, got)
	loaded, ok, err := s.LoadTx(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, a, loaded, "raw bytes and hash round-trip")

	for _, n := range []uint64{9, 5, 1} {
		got, err = s.SaveTx(ctx, record("a", 1, alice, n))
		require.NoError(t, err, "nonce %d", n)
		require.Equal(t, a, got, "the stored record wins (nonce %d)", n)
	}
	maxN, ok, err := s.MaxNonce(ctx, 1, alice)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(5), maxN, "a refused save raises nothing")
}

// testNonceReserved: a new step's nonce must be above the recorded one of its (chain, account).
func testNonceReserved(t *testing.T, s chain.TxStore) {
	ctx := context.Background()
	_, err := s.SaveTx(ctx, record("a", 1, alice, 5))
	require.NoError(t, err)
	for _, n := range []uint64{5, 4, 0} {
		_, err = s.SaveTx(ctx, record("b", 1, alice, n))
		require.ErrorIs(t, err, chain.ErrNonceTaken, "nonce %d", n)
		_, ok, err := s.LoadTx(ctx, "b")
		require.NoError(t, err)
		require.False(t, ok, "nothing stored for a refused step")
	}
	b := record("b", 1, alice, 8) // a gap is the caller's business (the chain's pending nonce)
	got, err := s.SaveTx(ctx, b)
	require.NoError(t, err)
	require.Equal(t, b, got)
	maxN, _, err := s.MaxNonce(ctx, 1, alice)
	require.NoError(t, err)
	require.Equal(t, uint64(8), maxN)

	// Other chains and accounts have their own nonces.
	for _, r := range []chain.TxRecord{record("c", 2, alice, 0), record("d", 1, bob, 0)} {
		_, err := s.SaveTx(ctx, r)
		require.NoError(t, err)
		maxN, ok, err := s.MaxNonce(ctx, r.ChainID, r.From)
		require.NoError(t, err)
		require.True(t, ok)
		require.Zero(t, maxN)
	}
}

// testConcurrentSaves: of many steps saved at once with one nonce, exactly one is stored.
func testConcurrentSaves(t *testing.T, s chain.TxStore) {
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.SaveTx(ctx, record(fmt.Sprintf("s%d", i), 1, alice, 3))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.ErrorIs(t, err, chain.ErrNonceTaken)
		}
	}
	require.Equal(t, 1, won)
}

// testTwoSenders: two Senders of one account, as in two processes (own clients, one store),
// prepare different steps at the same moment, round after round. Every nonce is recorded once,
// and every transaction is mined.
func testTwoSenders(t *testing.T, s chain.TxStore) {
	ctx := context.Background()
	key := simchain.DevKey("txstoretest")
	from := crypto.PubkeyToAddress(key.PublicKey)
	sim, err := simchain.New(simchain.Config{ChainID: 31337, Name: "txstoretest", AutoMine: true, Funded: []common.Address{from},
		Tokens: []simchain.TokenSpec{{Symbol: "USDC", Decimals: 6, Balances: map[common.Address]*big.Int{from: big.NewInt(1_000_000_000)}}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	token := sim.TokenAddress("USDC")
	dial := func() *chain.Client {
		c, err := chain.Dial(ctx, chain.Config{ChainID: sim.ChainID(), Name: "txstoretest", RPCURLs: sim.Endpoints(),
			Multicall: contracts.MulticallAddress, CallTimeout: 5 * time.Second,
			Retry: chain.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}})
		require.NoError(t, err)
		t.Cleanup(c.Close)
		return c
	}
	senders := []*chain.Sender{
		chain.NewSender(dial(), chain.NewKeySigner(key), s, chain.WithPollInterval(5*time.Millisecond)),
		chain.NewSender(dial(), chain.NewKeySigner(key), s, chain.WithPollInterval(5*time.Millisecond)),
	}
	const rounds, perSender = 12, 2
	var all []chain.TxRecord
	for round := range rounds {
		recs := make([]chain.TxRecord, len(senders)*perSender)
		errs := make([]error, len(recs))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range recs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				step := fmt.Sprintf("r%d-s%d", round, i)
				recs[i], errs[i] = senders[i%len(senders)].Prepare(ctx, step, chain.TransferCall(token, bob, big.NewInt(int64(1+i))))
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "round %d, step %d", round, i)
		}
		all = append(all, recs...)
		if round%3 == 2 {
			// Now and then the account's transactions are sent and mined between rounds, so
			// the chain's pending nonce takes part too.
			sendAll(ctx, t, senders[round%2], all)
		}
	}
	seen := map[uint64]string{}
	for _, r := range all {
		other, dup := seen[r.Nonce]
		require.False(t, dup, "nonce %d recorded for %s and %s", r.Nonce, other, r.StepKey)
		seen[r.Nonce] = r.StepKey
	}
	for n := range uint64(len(all)) {
		require.Contains(t, seen, n, "nonces are consecutive from 0")
	}
	sendAll(ctx, t, senders[1], all)
	maxN, ok, err := s.MaxNonce(ctx, sim.ChainID(), from)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(len(all)-1), maxN)
}

// sendAll broadcasts every record, last first (so most wait in the pool for a lower nonce), and
// waits until each is mined.
func sendAll(ctx context.Context, t *testing.T, s *chain.Sender, recs []chain.TxRecord) {
	t.Helper()
	for i := len(recs) - 1; i >= 0; i-- {
		require.NoError(t, s.Broadcast(ctx, recs[i]))
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, r := range recs {
		rcpt, err := s.Wait(wctx, r)
		require.NoError(t, err, "step %s, nonce %d", r.StepKey, r.Nonce)
		require.Equal(t, types.ReceiptStatusSuccessful, rcpt.Status)
	}
}

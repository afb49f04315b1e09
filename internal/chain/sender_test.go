package chain

import (
	"bytes"
	"context"
	"encoding/hex"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
)

func (f *fixture) sender(t *testing.T, c *Client, account int, store TxStore, opts ...SenderOption) *Sender {
	t.Helper()
	opts = append([]SenderOption{WithPollInterval(5 * time.Millisecond)}, opts...)
	return NewSender(c, NewKeySigner(f.keys[account]), store, opts...)
}

func (f *fixture) transfersTo(t *testing.T, c *Client, to common.Address) []Transfer {
	t.Helper()
	head, err := c.HeadNumber(context.Background())
	require.NoError(t, err)
	got, err := c.Transfers(context.Background(), TransferFilter{FromBlock: 0, ToBlock: head, To: []common.Address{to}})
	require.NoError(t, err)
	return got
}

func TestSendTransfer(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client(t, nil)
	dest := simchain.DevAddress("binance-deposit")
	s := f.sender(t, c, 0, NewMemoryTxStore())

	rec, rcpt, err := s.Send(ctx, "intent-1:deposit", TransferCall(f.tokens[0], dest, big.NewInt(123_456)))
	require.NoError(t, err)
	require.Equal(t, rec.Hash, rcpt.TxHash)
	require.Equal(t, types.ReceiptStatusSuccessful, rcpt.Status)
	bal, err := c.BalanceOf(ctx, rcpt.BlockNumber.Uint64(), f.tokens[0], dest)
	require.NoError(t, err)
	require.Equal(t, int64(123_456), bal.Int64())
	got := f.transfersTo(t, c, dest)
	require.Len(t, got, 1)
	require.Equal(t, rec.Hash, got[0].TxHash)
	require.Equal(t, f.accounts[0], got[0].From)
}

func TestWriteAheadRebroadcastAfterRestart(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	store := NewMemoryTxStore()
	dest := simchain.DevAddress("bridge")
	call := TransferCall(f.tokens[1], dest, big.NewInt(1_500_000))

	// First process: signs and records, then "crashes" before broadcasting.
	c1 := f.client(t, nil)
	rec1, err := f.sender(t, c1, 0, store).Prepare(ctx, "intent-7:deposit", call)
	require.NoError(t, err)
	require.Len(t, store.Records(), 1)
	_, err = c1.Receipt(ctx, rec1.Hash)
	require.ErrorIs(t, err, ErrNotFound, "nothing was broadcast")
	c1.Close()

	// Second process: same store, new client and sender.
	c2 := f.client(t, nil)
	s2 := f.sender(t, c2, 0, store)
	rec2, rcpt, err := s2.Send(ctx, "intent-7:deposit", call)
	require.NoError(t, err)
	require.Equal(t, rec1.Hash, rec2.Hash, "the same signed bytes, not a new transaction")
	require.True(t, bytes.Equal(rec1.Raw, rec2.Raw))
	require.Equal(t, rec1.Hash, rcpt.TxHash)

	// Third process: the step is done; sending again neither signs nor moves funds.
	s3 := f.sender(t, f.client(t, nil), 0, store)
	rec3, rcpt3, err := s3.Send(ctx, "intent-7:deposit", call)
	require.NoError(t, err)
	require.Equal(t, rec1.Hash, rec3.Hash)
	require.Equal(t, rcpt.BlockHash, rcpt3.BlockHash)
	require.NoError(t, s3.Broadcast(ctx, rec3), "rebroadcasting a mined transaction is a no-op")

	require.Len(t, store.Records(), 1)
	got := f.transfersTo(t, c2, dest)
	require.Len(t, got, 1, "exactly one transfer")
	bal, err := c2.BalanceOf(ctx, f.sim.Head(), f.tokens[1], dest)
	require.NoError(t, err)
	require.Equal(t, int64(1_500_000), bal.Int64())
}

func TestWaitRebroadcastsUntilMined(t *testing.T) {
	// Manual mining: the transaction sits in the pool until a block is sealed.
	f := newFixture(t, false)
	ctx := context.Background()
	c := f.client(t, nil)
	s := f.sender(t, c, 1, NewMemoryTxStore())
	rec, err := s.Prepare(ctx, "step", TransferCall(f.tokens[0], f.accounts[2], big.NewInt(1)))
	require.NoError(t, err)
	require.NoError(t, s.Broadcast(ctx, rec))
	require.NoError(t, s.Broadcast(ctx, rec), "already known is success")

	done := make(chan *types.Receipt, 1)
	go func() {
		rcpt, err := s.Wait(ctx, rec)
		if err != nil {
			t.Error(err)
		}
		done <- rcpt
	}()
	sends := f.sim.Faults().Calls("eth_sendRawTransaction")
	require.Eventually(t, func() bool { return f.sim.Faults().Calls("eth_sendRawTransaction") > sends },
		5*time.Second, time.Millisecond, "Wait rebroadcasts while there is no receipt")
	n := f.sim.Commit()
	rcpt := <-done
	require.Equal(t, n, rcpt.BlockNumber.Uint64())
}

func TestNonceSafetyAcrossRestart(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	store := NewMemoryTxStore()
	c := f.client(t, nil)
	pending, err := c.eps[0].eth.PendingNonceAt(ctx, f.accounts[0])
	require.NoError(t, err)

	// Process 1 records step A and dies before broadcasting.
	recA, err := f.sender(t, c, 0, store).Prepare(ctx, "A", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
	require.NoError(t, err)
	require.Equal(t, pending, recA.Nonce)

	// Process 2 must not give step B the nonce the chain still reports as next.
	s2 := f.sender(t, f.client(t, nil), 0, store)
	recB, err := s2.Prepare(ctx, "B", TransferCall(f.tokens[0], f.accounts[2], big.NewInt(2)))
	require.NoError(t, err)
	require.Equal(t, pending+1, recB.Nonce)

	// B first: it waits in the pool for A's nonce; then A is resent and both land.
	require.NoError(t, s2.Broadcast(ctx, recB))
	_, rcptA, err := s2.Send(ctx, "A", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
	require.NoError(t, err)
	rcptB, err := s2.Wait(ctx, recB)
	require.NoError(t, err)
	require.Equal(t, recA.Hash, rcptA.TxHash)
	require.Equal(t, recB.Hash, rcptB.TxHash)

	// A transaction sent outside the sender moves the chain's nonce past the
	// store's: the next step follows the chain.
	_, err = f.sim.Transfer(ctx, f.keys[0], "USDC", f.accounts[1], big.NewInt(3))
	require.NoError(t, err)
	recC, err := s2.Prepare(ctx, "C", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(4)))
	require.NoError(t, err)
	require.Equal(t, pending+3, recC.Nonce)
}

func TestConcurrentPrepareGivesDistinctNonces(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	store := NewMemoryTxStore()
	s := f.sender(t, f.client(t, nil), 2, store)
	const n = 8
	recs := make([]TxRecord, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			recs[i], err = s.Prepare(ctx, "step-"+string(rune('a'+i)), TransferCall(f.tokens[2], f.accounts[0], big.NewInt(int64(i+1))))
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, r := range recs {
		require.False(t, seen[r.Nonce], "nonce %d given twice", r.Nonce)
		seen[r.Nonce] = true
	}
	for i := range uint64(n) {
		require.True(t, seen[i], "nonces are consecutive from 0")
	}
	// The same step asked twice at once still yields one record.
	var wg2 sync.WaitGroup
	hashes := make([]common.Hash, 4)
	for i := range hashes {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			r, err := s.Prepare(ctx, "same", TransferCall(f.tokens[2], f.accounts[0], big.NewInt(9)))
			if err != nil {
				t.Error(err)
			}
			hashes[i] = r.Hash
		}()
	}
	wg2.Wait()
	for _, h := range hashes {
		require.Equal(t, hashes[0], h)
	}
	require.Len(t, store.Records(), n+1)
}

func TestStepKeyConflict(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client(t, nil)
	store := NewMemoryTxStore()
	s := f.sender(t, c, 0, store)
	_, err := s.Prepare(ctx, "k", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
	require.NoError(t, err)
	cases := map[string]Call{
		"other amount": TransferCall(f.tokens[0], f.accounts[1], big.NewInt(2)),
		"other token":  TransferCall(f.tokens[1], f.accounts[1], big.NewInt(1)),
		"with value":   {To: f.tokens[0], Data: TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)).Data, Value: big.NewInt(1)},
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := s.Prepare(ctx, "k", call)
			require.ErrorIs(t, err, ErrStepConflict)
		})
	}
	t.Run("other sender", func(t *testing.T) {
		_, err := f.sender(t, c, 1, store).Prepare(ctx, "k", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
		require.ErrorIs(t, err, ErrStepConflict)
	})
	_, err = s.Prepare(ctx, "", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestNonceConsumedByAnotherTransaction(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client(t, nil)
	s := f.sender(t, c, 0, NewMemoryTxStore())
	rec, err := s.Prepare(ctx, "step", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
	require.NoError(t, err)
	// Someone else uses the account's key before the record is broadcast.
	_, err = f.sim.Transfer(ctx, f.keys[0], "USDC", f.accounts[2], big.NewInt(1))
	require.NoError(t, err)
	require.ErrorIs(t, s.Broadcast(ctx, rec), ErrNonceConsumed)
	_, err = s.Wait(ctx, rec)
	require.ErrorIs(t, err, ErrNonceConsumed)
}

func TestRevertedCalls(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client(t, nil)
	s := f.sender(t, c, 0, NewMemoryTxStore())
	tooMuch := TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1_000_000_000_000))

	_, err := s.Prepare(ctx, "estimate", tooMuch)
	require.ErrorIs(t, err, ErrReverted, "estimation fails before anything is signed")

	forced := tooMuch
	forced.Gas = 100_000 // skip estimation: the transaction is mined and reverts
	_, rcpt, err := s.Send(ctx, "forced", forced)
	require.ErrorIs(t, err, ErrReverted)
	require.NotNil(t, rcpt)
	require.Equal(t, types.ReceiptStatusFailed, rcpt.Status)
}

func TestApproveThenContractCall(t *testing.T) {
	// The approve + deposit pattern: a contract pulls tokens with transferFrom.
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client(t, nil)
	owner := f.sender(t, c, 0, NewMemoryTxStore())
	spender := f.sender(t, c, 1, NewMemoryTxStore())
	_, _, err := owner.Send(ctx, "approve", ApproveCall(f.tokens[0], f.accounts[1], big.NewInt(500)))
	require.NoError(t, err)
	pull := Call{To: f.tokens[0], Data: erc20ABI.PackTransferFrom(f.accounts[0], f.accounts[2], big.NewInt(500))}
	_, rcpt, err := spender.Send(ctx, "pull", pull)
	require.NoError(t, err)
	got, err := c.Transfers(ctx, TransferFilter{FromBlock: rcpt.BlockNumber.Uint64(), ToBlock: rcpt.BlockNumber.Uint64()})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, f.accounts[0], got[0].From)
	require.Equal(t, f.accounts[2], got[0].To)
	require.Equal(t, int64(500), got[0].Amount.Int64())
}

func TestSendSurvivesFailover(t *testing.T) {
	f := newFixture(t, true)
	_, err := f.sim.AddEndpoint()
	require.NoError(t, err)
	ctx := context.Background()
	c := f.client(t, nil)
	f.sim.Faults().SetDown(true)
	_, rcpt, err := f.sender(t, c, 0, NewMemoryTxStore()).Send(ctx, "s", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
	require.NoError(t, err)
	require.Equal(t, types.ReceiptStatusSuccessful, rcpt.Status)
	require.Positive(t, f.sim.FaultsAt(1).Calls("eth_sendRawTransaction"))
}

func TestNoSecretInLogs(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	var buf bytes.Buffer
	log := zerolog.New(&buf).Level(zerolog.DebugLevel)
	secretURL := f.sim.RPCURL() + "/v2/SECRET-API-KEY"
	_, err := f.sim.AddEndpoint()
	require.NoError(t, err)
	c, err := Dial(ctx, Config{ChainID: f.sim.ChainID(), RPCURLs: []string{secretURL, f.sim.Endpoints()[1]},
		Retry: RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}}, WithLogger(log))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	f.sim.Faults().SetDown(true) // the keyed endpoint fails, and its errors get logged
	signer := NewKeySigner(f.keys[0])
	s := NewSender(c, signer, NewMemoryTxStore(), WithPollInterval(time.Millisecond))
	_, _, err = s.Send(ctx, "step", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
	require.NoError(t, err)
	log.Info().Interface("signer", signer).Str("signer_str", signer.String()).Msg("printing the signer")

	out := buf.String()
	require.Contains(t, out, "tx signed and recorded", "the sender did log")
	require.Contains(t, out, "rpc fail-over")
	keyHex := hex.EncodeToString(crypto.FromECDSA(f.keys[0]))
	require.NotContains(t, out, keyHex)
	require.NotContains(t, out, "SECRET-API-KEY")
	require.NotContains(t, signer.String(), keyHex)

	_, err = KeyFromHex("zz" + keyHex[2:])
	require.ErrorIs(t, err, ErrNoKey)
	require.NotContains(t, err.Error(), keyHex[2:])
}

func TestKeySources(t *testing.T) {
	key := simchain.DevKey("ops")
	keyHex := "0x" + hex.EncodeToString(crypto.FromECDSA(key))
	want := crypto.PubkeyToAddress(key.PublicKey)

	t.Setenv("TEST_CHAIN_KEY", keyHex)
	k, err := KeyFromEnv("TEST_CHAIN_KEY")
	require.NoError(t, err)
	require.Equal(t, want, crypto.PubkeyToAddress(k.PublicKey))

	_, err = KeyFromEnv("TEST_CHAIN_KEY_UNSET")
	require.ErrorIs(t, err, ErrNoKey)

	path := t.TempDir() + "/key"
	require.NoError(t, writeFile(path, keyHex+"\n"))
	k, err = KeyFromFile(path)
	require.NoError(t, err)
	require.Equal(t, want, crypto.PubkeyToAddress(k.PublicKey))
	_, err = KeyFromFile(path + ".missing")
	require.ErrorIs(t, err, ErrNoKey)
}

func TestConfirm(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client(t, nil)
	_, err := c.Confirm(ctx, common.HexToHash("0x01"))
	require.ErrorIs(t, err, ErrNotFound)

	rec, rcpt, err := f.sender(t, c, 0, NewMemoryTxStore()).Send(ctx, "s", TransferCall(f.tokens[0], f.accounts[1], big.NewInt(1)))
	require.NoError(t, err)
	conf, err := c.Confirm(ctx, rec.Hash)
	require.NoError(t, err)
	require.Equal(t, uint64(1), conf.Confirmations)
	require.Equal(t, rcpt.BlockHash, conf.Receipt.BlockHash)
	f.sim.Commit()
	f.sim.Commit()
	conf, err = c.Confirm(ctx, rec.Hash)
	require.NoError(t, err)
	require.Equal(t, uint64(3), conf.Confirmations)

	// A reorg below the transaction's block: it is mined again in the new
	// branch (new block hash), and Confirm follows the canonical chain.
	_, err = f.sim.Reorg(3)
	require.NoError(t, err)
	conf, err = c.Confirm(ctx, rec.Hash)
	require.NoError(t, err)
	require.NotEqual(t, rcpt.BlockHash, conf.Receipt.BlockHash)
	canon, err := c.BlockHash(ctx, conf.Receipt.BlockNumber.Uint64())
	require.NoError(t, err)
	require.Equal(t, canon, conf.Receipt.BlockHash)
}

package chain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/rs/zerolog"
)

// Call is a transaction to send: a contract call (Data) and/or a value.
type Call struct {
	To    common.Address
	Value *big.Int // nil means 0
	Data  []byte
	// Gas is the gas limit; 0 estimates it (plus a 20% margin).
	Gas uint64
}

// TransferCall is the Call for an ERC20 transfer of amount to `to`.
func TransferCall(token, to common.Address, amount *big.Int) Call {
	return Call{To: token, Data: erc20ABI.PackTransfer(to, amount)}
}

// ApproveCall is the Call for an ERC20 approve of spender for amount.
func ApproveCall(token, spender common.Address, amount *big.Int) Call {
	return Call{To: token, Data: erc20ABI.PackApprove(spender, amount)}
}

// Sender signs and sends transactions for one account on one chain with
// write-ahead: Prepare signs and persists (TxStore) before anything is
// broadcast; Broadcast sends the persisted bytes, again and again if need be;
// Wait waits for the receipt. A step key gets at most one signed transaction,
// ever: a new Sender with the same store (after a restart) finds the record
// and resends the same bytes.
//
// Nonces come from max(pending nonce on chain, highest recorded nonce + 1),
// so a restart never reuses a nonce the store already gave a step, and the
// store reserves each one atomically (TxStore.SaveTx refuses a nonce not above
// the recorded one with ErrNonceTaken; Prepare then signs again with the next
// one). So several Senders of one (chain, account), in one process or many
// (the executor's leases are per venue, not per account), never record two
// transactions with the same nonce. A lock only spares the store needless
// conflicts between the goroutines of one Sender.
type Sender struct {
	c      *Client
	signer Signer
	store  TxStore
	log    zerolog.Logger
	poll   time.Duration
	mu     sync.Mutex // nonce allocation
}

// SenderOption configures a Sender.
type SenderOption func(*Sender)

// WithPollInterval sets how often Wait polls for the receipt (default 1s).
func WithPollInterval(d time.Duration) SenderOption { return func(s *Sender) { s.poll = d } }

// WithSenderLogger sets the logger (default: the client's).
func WithSenderLogger(l zerolog.Logger) SenderOption { return func(s *Sender) { s.log = l } }

// NewSender returns a Sender for signer's account on c's chain.
func NewSender(c *Client, signer Signer, store TxStore, opts ...SenderOption) *Sender {
	s := &Sender{c: c, signer: signer, store: store, log: c.log, poll: time.Second}
	for _, o := range opts {
		o(s)
	}
	s.log = s.log.With().Stringer("from", signer.Address()).Logger()
	return s
}

// Address is the sending account.
func (s *Sender) Address() common.Address { return s.signer.Address() }

// Send prepares (or finds) the step's transaction, broadcasts it and waits
// for its receipt. A reverted transaction returns its receipt and
// ErrReverted.
func (s *Sender) Send(ctx context.Context, stepKey string, call Call) (TxRecord, *types.Receipt, error) {
	rec, err := s.Prepare(ctx, stepKey, call)
	if err != nil {
		return TxRecord{}, nil, err
	}
	if err := s.Broadcast(ctx, rec); err != nil {
		return rec, nil, err
	}
	rcpt, err := s.Wait(ctx, rec)
	return rec, rcpt, err
}

// Prepare returns the step's write-ahead record, signing and persisting a new
// transaction only if the store has none for stepKey. Nothing is broadcast.
func (s *Sender) Prepare(ctx context.Context, stepKey string, call Call) (TxRecord, error) {
	if stepKey == "" {
		return TxRecord{}, fmt.Errorf("%w: empty step key", ErrInvalidConfig)
	}
	if rec, ok, err := s.store.LoadTx(ctx, stepKey); err != nil {
		return TxRecord{}, fmt.Errorf("step %s: load: %w", stepKey, err)
	} else if ok {
		return rec, s.matches(rec, call)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 1; ; attempt++ {
		// Another goroutine may have prepared the step while we waited, or
		// another process between two attempts.
		if rec, ok, err := s.store.LoadTx(ctx, stepKey); err != nil {
			return TxRecord{}, fmt.Errorf("step %s: load: %w", stepKey, err)
		} else if ok {
			return rec, s.matches(rec, call)
		}
		rec, err := s.sign(ctx, stepKey, call)
		if err != nil {
			return TxRecord{}, err
		}
		stored, err := s.store.SaveTx(ctx, rec)
		if errors.Is(err, ErrNonceTaken) && attempt < maxSignAttempts {
			// Another Sender recorded this nonce for another step first. Ours was
			// neither stored nor broadcast: dropping it and signing with the next
			// nonce never makes a second transaction for the step.
			s.log.Debug().Str("step", stepKey).Uint64("nonce", rec.Nonce).Int("attempt", attempt).Msg("nonce taken by another sender; signing again")
			continue
		}
		if err != nil {
			return TxRecord{}, fmt.Errorf("step %s: save: %w", stepKey, err)
		}
		if stored.Hash == rec.Hash {
			s.log.Info().Str("step", stepKey).Uint64("nonce", rec.Nonce).Stringer("tx", rec.Hash).Stringer("to", call.To).Msg("tx signed and recorded")
		}
		return stored, s.matches(stored, call)
	}
}

// maxSignAttempts bounds how often Prepare signs again after losing a nonce
// to another Sender: each loss means another step was recorded, so running
// out takes that many steps of the account prepared at the same moment.
const maxSignAttempts = 32

// sign builds and signs the step's transaction with the next free nonce.
func (s *Sender) sign(ctx context.Context, stepKey string, call Call) (TxRecord, error) {
	nonce, err := s.nextNonce(ctx)
	if err != nil {
		return TxRecord{}, fmt.Errorf("step %s: %w", stepKey, err)
	}
	tx, err := s.build(ctx, nonce, call)
	if err != nil {
		return TxRecord{}, fmt.Errorf("step %s: %w", stepKey, err)
	}
	chainID := new(big.Int).SetUint64(s.c.cfg.ChainID)
	signed, err := s.signer.SignTx(tx, chainID)
	if err != nil {
		return TxRecord{}, fmt.Errorf("step %s: sign: %w", stepKey, err)
	}
	raw, err := signed.MarshalBinary()
	if err != nil {
		return TxRecord{}, fmt.Errorf("step %s: encode: %w", stepKey, err)
	}
	return TxRecord{StepKey: stepKey, ChainID: s.c.cfg.ChainID, From: s.signer.Address(), To: call.To,
		Nonce: nonce, Hash: signed.Hash(), Raw: raw}, nil
}

// nextNonce is max(pending nonce on chain, highest recorded nonce + 1).
func (s *Sender) nextNonce(ctx context.Context) (uint64, error) {
	from := s.signer.Address()
	var pending uint64
	err := s.c.do(ctx, "eth_getTransactionCount pending", func(ctx context.Context, ep *endpoint) error {
		var err error
		pending, err = ep.eth.PendingNonceAt(ctx, from)
		return err
	})
	if err != nil {
		return 0, err
	}
	recorded, ok, err := s.store.MaxNonce(ctx, s.c.cfg.ChainID, from)
	if err != nil {
		return 0, fmt.Errorf("recorded nonce: %w", err)
	}
	if ok && recorded+1 > pending {
		return recorded + 1, nil
	}
	return pending, nil
}

// build fills gas and fees: EIP-1559 with a fee cap of twice the base fee
// plus the suggested tip, enough to stay includable through a few blocks of
// rising base fee.
func (s *Sender) build(ctx context.Context, nonce uint64, call Call) (*types.Transaction, error) {
	from := s.signer.Address()
	value := call.Value
	if value == nil {
		value = new(big.Int)
	}
	var (
		head *types.Header
		tip  *big.Int
		gas  = call.Gas
	)
	err := s.c.do(ctx, "fees and gas", func(ctx context.Context, ep *endpoint) error {
		var err error
		if head, err = ep.eth.HeaderByNumber(ctx, nil); err != nil {
			return err
		}
		if tip, err = ep.eth.SuggestGasTipCap(ctx); err != nil {
			return err
		}
		if call.Gas == 0 {
			est, err := ep.eth.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &call.To, Value: value, Data: call.Data})
			if err != nil {
				return err
			}
			gas = est + est/5
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if head.BaseFee == nil {
		return nil, fmt.Errorf("%w: chain %d has no base fee (pre-London): not supported", ErrInvalidConfig, s.c.cfg.ChainID)
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	to := call.To
	return types.NewTx(&types.DynamicFeeTx{
		ChainID: new(big.Int).SetUint64(s.c.cfg.ChainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: gas, To: &to, Value: value, Data: call.Data,
	}), nil
}

// matches checks that a stored record is the transaction the caller asks for,
// so a step key reused for another transfer fails loudly instead of
// silently returning the old one.
func (s *Sender) matches(rec TxRecord, call Call) error {
	var tx types.Transaction
	if err := tx.UnmarshalBinary(rec.Raw); err != nil {
		return fmt.Errorf("step %s: stored tx: %w: %w", rec.StepKey, ErrBadResponse, err)
	}
	value := call.Value
	if value == nil {
		value = new(big.Int)
	}
	switch {
	case rec.ChainID != s.c.cfg.ChainID, rec.From != s.signer.Address(), tx.To() == nil || *tx.To() != call.To,
		!bytes.Equal(tx.Data(), call.Data), tx.Value().Cmp(value) != 0, tx.Hash() != rec.Hash:
		return fmt.Errorf("step %s (tx %s): %w", rec.StepKey, rec.Hash, ErrStepConflict)
	}
	return nil
}

// Broadcast sends the recorded bytes. It is idempotent: a node that already
// has the transaction, or already mined it, counts as success. If the nonce
// was taken by another transaction, it returns ErrNonceConsumed.
func (s *Sender) Broadcast(ctx context.Context, rec TxRecord) error {
	err := s.c.do(ctx, "eth_sendRawTransaction", func(ctx context.Context, ep *endpoint) error {
		return ep.rpc.CallContext(ctx, nil, "eth_sendRawTransaction", hexutil.Encode(rec.Raw))
	})
	if err == nil {
		s.log.Debug().Str("step", rec.StepKey).Stringer("tx", rec.Hash).Msg("tx broadcast")
		return nil
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "already known") || strings.Contains(msg, "known transaction") ||
		strings.Contains(msg, "already imported"):
		return nil
	case strings.Contains(msg, "nonce too low") || strings.Contains(msg, "replacement transaction underpriced"):
		// Either ours was mined already, or another transaction holds the
		// nonce: consumed only if one is mined (the account's nonce at the
		// head is past ours, read before our receipt is looked for), not
		// while it merely waits in a pool.
		mined, nerr := s.minedNonce(ctx, rec.From)
		if _, rerr := s.receipt(ctx, rec); rerr == nil {
			return nil
		}
		if nerr == nil && mined > rec.Nonce {
			return fmt.Errorf("step %s (tx %s, nonce %d): %w: %w", rec.StepKey, rec.Hash, rec.Nonce, ErrNonceConsumed, err)
		}
		return fmt.Errorf("step %s (tx %s, nonce %d): broadcast: nonce held by another pending transaction: %w", rec.StepKey, rec.Hash, rec.Nonce, err)
	}
	return fmt.Errorf("step %s (tx %s): broadcast: %w", rec.StepKey, rec.Hash, err)
}

// Wait polls for the receipt of rec, rebroadcasting the same bytes on each
// poll that finds none (a node restart may have dropped it from the pool).
// It returns when the receipt exists, ctx ends, or the nonce turns out to be
// consumed by another transaction.
func (s *Sender) Wait(ctx context.Context, rec TxRecord) (*types.Receipt, error) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		rcpt, err := s.receipt(ctx, rec)
		switch {
		case err == nil:
			if rcpt.Status != types.ReceiptStatusSuccessful {
				return rcpt, fmt.Errorf("step %s (tx %s) in block %s: %w", rec.StepKey, rec.Hash, rcpt.BlockNumber, ErrReverted)
			}
			return rcpt, nil
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
		if err := s.Broadcast(ctx, rec); errors.Is(err, ErrNonceConsumed) {
			return nil, err
		} else if err != nil {
			s.log.Warn().Err(err).Str("step", rec.StepKey).Stringer("tx", rec.Hash).Msg("rebroadcast failed; will retry")
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("step %s (tx %s): wait: %w", rec.StepKey, rec.Hash, ctx.Err())
		case <-t.C:
		}
	}
}

// minedNonce is the account's nonce at the head: the count of its mined
// transactions.
func (s *Sender) minedNonce(ctx context.Context, from common.Address) (uint64, error) {
	var n uint64
	err := s.c.do(ctx, "eth_getTransactionCount latest", func(ctx context.Context, ep *endpoint) error {
		var err error
		n, err = ep.eth.NonceAt(ctx, from, nil)
		return err
	})
	return n, err
}

// receipt returns the receipt of rec if it is mined (ErrNotFound if not).
func (s *Sender) receipt(ctx context.Context, rec TxRecord) (*types.Receipt, error) {
	var rcpt *types.Receipt
	err := s.c.do(ctx, "eth_getTransactionReceipt", func(ctx context.Context, ep *endpoint) error {
		var err error
		rcpt, err = ep.eth.TransactionReceipt(ctx, rec.Hash)
		return err
	})
	return rcpt, err
}

// Receipt returns the receipt of the transaction with hash, or ErrNotFound.
func (c *Client) Receipt(ctx context.Context, hash common.Hash) (*types.Receipt, error) {
	var rcpt *types.Receipt
	err := c.do(ctx, "eth_getTransactionReceipt", func(ctx context.Context, ep *endpoint) error {
		var err error
		rcpt, err = ep.eth.TransactionReceipt(ctx, hash)
		return err
	})
	return rcpt, err
}

// Confirmation is where a transaction stands on the canonical chain.
type Confirmation struct {
	Receipt *types.Receipt
	// Confirmations counts the receipt's block and those above it up to the
	// head (1 = just mined).
	Confirmations uint64
}

// Confirm checks, without waiting, whether the transaction hash is mined on
// the canonical chain: it reads the receipt, the head and the hash at the
// receipt's height, and returns ErrNotFound if the transaction is not mined
// or its block was reorged away (a reconcile loop calls it again later). The
// caller compares Confirmations with what it requires.
func (c *Client) Confirm(ctx context.Context, hash common.Hash) (Confirmation, error) {
	rcpt, err := c.Receipt(ctx, hash)
	if err != nil {
		return Confirmation{}, err
	}
	n := rcpt.BlockNumber.Uint64()
	head, err := c.HeadNumber(ctx)
	if err != nil {
		return Confirmation{}, err
	}
	canon, err := c.BlockHash(ctx, n)
	if err != nil {
		return Confirmation{}, err
	}
	if canon != rcpt.BlockHash {
		return Confirmation{}, fmt.Errorf("tx %s: block %d %s was reorged away: %w", hash, n, rcpt.BlockHash, ErrNotFound)
	}
	if head < n {
		head = n // an endpoint behind the one that served the receipt
	}
	return Confirmation{Receipt: rcpt, Confirmations: head - n + 1}, nil
}

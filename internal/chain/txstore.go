package chain

import (
	"context"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/common"
)

// TxRecord is the write-ahead record of one signed transaction: enough to
// rebroadcast the exact same bytes after a crash and to find its receipt.
type TxRecord struct {
	// StepKey is the caller's idempotency key (e.g. "<intent id>:deposit"):
	// at most one transaction is ever signed per key.
	StepKey string
	ChainID uint64
	From    common.Address
	To      common.Address
	Nonce   uint64
	Hash    common.Hash
	// Raw is the signed transaction as sent by eth_sendRawTransaction.
	Raw []byte
}

// TxStore persists write-ahead records. The caller implements it (the
// executor keeps them in Redis beside the intent). Implementations must make
// SaveTx durable before returning, and atomic per step key and per (chain,
// account): the store, not a lock in one process, is what reserves a nonce,
// so several Senders (in several processes) may sign for the same account
// at once.
type TxStore interface {
	// LoadTx returns the record for stepKey; ok is false if there is none.
	LoadTx(ctx context.Context, stepKey string) (rec TxRecord, ok bool, err error)
	// SaveTx, in one atomic step:
	//   - if a record for rec.StepKey exists, stores nothing and returns it
	//     (the older record wins, whatever its nonce);
	//   - else, if rec.Nonce is not above the highest nonce recorded for
	//     (rec.ChainID, rec.From), stores nothing and returns an error
	//     wrapping ErrNonceTaken;
	//   - else stores rec, raises the recorded nonce to rec.Nonce and
	//     returns rec.
	SaveTx(ctx context.Context, rec TxRecord) (TxRecord, error)
	// MaxNonce is the highest nonce recorded for (chainID, from); ok is
	// false if there is none.
	MaxNonce(ctx context.Context, chainID uint64, from common.Address) (nonce uint64, ok bool, err error)
}

// MemoryTxStore is a TxStore in memory, for tests and dry runs: it survives
// a Sender being replaced, not the process.
type MemoryTxStore struct {
	mu   sync.Mutex
	recs map[string]TxRecord
}

// NewMemoryTxStore returns an empty store.
func NewMemoryTxStore() *MemoryTxStore { return &MemoryTxStore{recs: map[string]TxRecord{}} }

// LoadTx implements TxStore.
func (m *MemoryTxStore) LoadTx(_ context.Context, stepKey string) (TxRecord, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[stepKey]
	return cloneRecord(r), ok, nil
}

// SaveTx implements TxStore.
func (m *MemoryTxStore) SaveTx(_ context.Context, rec TxRecord) (TxRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.recs[rec.StepKey]; ok {
		return cloneRecord(old), nil
	}
	if maxN, ok := m.maxNonce(rec.ChainID, rec.From); ok && rec.Nonce <= maxN {
		return TxRecord{}, fmt.Errorf("step %s: nonce %d, recorded up to %d: %w", rec.StepKey, rec.Nonce, maxN, ErrNonceTaken)
	}
	m.recs[rec.StepKey] = cloneRecord(rec)
	return cloneRecord(rec), nil
}

// MaxNonce implements TxStore.
func (m *MemoryTxStore) MaxNonce(_ context.Context, chainID uint64, from common.Address) (uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.maxNonce(chainID, from)
	return n, ok, nil
}

func (m *MemoryTxStore) maxNonce(chainID uint64, from common.Address) (uint64, bool) {
	var (
		maxN  uint64
		found bool
	)
	for _, r := range m.recs {
		if r.ChainID == chainID && r.From == from && (!found || r.Nonce > maxN) {
			maxN, found = r.Nonce, true
		}
	}
	return maxN, found
}

// Records returns a copy of every record, for tests.
func (m *MemoryTxStore) Records() []TxRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TxRecord, 0, len(m.recs))
	for _, r := range m.recs {
		out = append(out, cloneRecord(r))
	}
	return out
}

func cloneRecord(r TxRecord) TxRecord {
	r.Raw = append([]byte(nil), r.Raw...)
	return r
}

package chain

import (
	"context"
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
// SaveTx durable before returning, and atomic per step key.
type TxStore interface {
	// LoadTx returns the record for stepKey; ok is false if there is none.
	LoadTx(ctx context.Context, stepKey string) (rec TxRecord, ok bool, err error)
	// SaveTx stores rec unless a record for rec.StepKey exists, and returns
	// the record stored for the key afterwards (the older one if it existed).
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
	m.recs[rec.StepKey] = cloneRecord(rec)
	return cloneRecord(rec), nil
}

// MaxNonce implements TxStore.
func (m *MemoryTxStore) MaxNonce(_ context.Context, chainID uint64, from common.Address) (uint64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var (
		maxN  uint64
		found bool
	)
	for _, r := range m.recs {
		if r.ChainID == chainID && r.From == from && (!found || r.Nonce > maxN) {
			maxN, found = r.Nonce, true
		}
	}
	return maxN, found, nil
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

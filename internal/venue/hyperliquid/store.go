package hyperliquid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// PreparedStore persists signed actions by step key ("<intent id>/<step>") before they are first
// sent, so that a restarted process resends the same bytes instead of signing a second action. The
// executor can back it with Redis; FilePreparedStore keeps one file per key.
type PreparedStore interface {
	Load(ctx context.Context, key string) (Prepared, bool, error)
	Save(ctx context.Context, key string, p Prepared) error
	// Delete forgets a prepared action the venue definitively rejected, so the step can be signed anew.
	Delete(ctx context.Context, key string) error
}

// FilePreparedStore is a PreparedStore in a directory, written atomically and fsynced.
type FilePreparedStore struct{ dir string }

// NewFilePreparedStore uses dir (created if missing).
func NewFilePreparedStore(dir string) (*FilePreparedStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("prepared store: %w", err)
	}
	return &FilePreparedStore{dir: dir}, nil
}

func (s *FilePreparedStore) path(key string) string {
	return filepath.Join(s.dir, hexutil.Encode(crypto.Keccak256([]byte(key)))[2:]+".json")
}

// Load reads the prepared action saved under key.
func (s *FilePreparedStore) Load(_ context.Context, key string) (Prepared, bool, error) {
	b, err := os.ReadFile(s.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return Prepared{}, false, nil
	}
	if err != nil {
		return Prepared{}, false, fmt.Errorf("load prepared %s: %w", key, err)
	}
	var p Prepared
	if err := json.Unmarshal(b, &p); err != nil {
		return Prepared{}, false, fmt.Errorf("decode prepared %s: %w", key, err)
	}
	return p, true, nil
}

// Save writes p under key.
func (s *FilePreparedStore) Save(_ context.Context, key string, p Prepared) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := writeAtomic(s.path(key), b); err != nil {
		return fmt.Errorf("save prepared %s: %w", key, err)
	}
	return nil
}

// Delete removes key.
func (s *FilePreparedStore) Delete(_ context.Context, key string) error {
	if err := os.Remove(s.path(key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete prepared %s: %w", key, err)
	}
	return nil
}

package hyperliquid

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Nonces hands out the signer's nonces: unique and strictly increasing, also across restarts.
type Nonces interface {
	Next(ctx context.Context) (uint64, error)
}

// FileNonces is a Nonces persisted in one file: each nonce is max(now in ms, last + 1) and is
// written (and fsynced) before it is returned, so a restart never reissues one. One process owns the
// file at a time (the executor's lease guarantees it).
type FileNonces struct {
	path string
	now  func() time.Time
	mu   sync.Mutex
	last uint64
}

// NewFileNonces opens (or creates) the nonce file at path. now may be nil (time.Now).
func NewFileNonces(path string, now func() time.Time) (*FileNonces, error) {
	if now == nil {
		now = time.Now
	}
	f := &FileNonces{path: path, now: now}
	b, err := os.ReadFile(path)
	switch {
	case os.IsNotExist(err):
	case err != nil:
		return nil, fmt.Errorf("read nonce file: %w", err)
	default:
		if f.last, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return nil, fmt.Errorf("parse nonce file %s: %w", path, err)
		}
	}
	return f, nil
}

// Next returns the next nonce after persisting it.
func (f *FileNonces) Next(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := uint64(f.now().UnixMilli())
	if n <= f.last {
		n = f.last + 1
	}
	if err := writeAtomic(f.path, []byte(strconv.FormatUint(n, 10)+"\n")); err != nil {
		return 0, fmt.Errorf("persist nonce: %w", err)
	}
	f.last = n
	return n, nil
}

func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMulticallSnapshotDetectsParentMismatch simulates a reorg between the
// two reads of a snapshot batch: a proxy in front of the simulated chain
// swaps the header's parent hash in the first batch answer, as if the header
// came from another branch than the state. The read must not return those
// balances with that hash: it retries and succeeds on a consistent answer.
func TestMulticallSnapshotDetectsParentMismatch(t *testing.T) {
	f := newFixture(t, true)
	for range 3 {
		f.sim.Commit()
	}
	var tamper atomic.Int32
	tamper.Store(1)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp, err := http.Post(f.sim.RPCURL(), "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		var batch []map[string]json.RawMessage
		if json.Unmarshal(out, &batch) == nil && len(batch) == 2 && tamper.Add(-1) >= 0 {
			var header map[string]any
			if err := json.Unmarshal(batch[0]["result"], &header); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			header["parentHash"] = "0x" + strings.Repeat("11", 32)
			batch[0]["result"], _ = json.Marshal(header)
			out, _ = json.Marshal(batch)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	t.Cleanup(proxy.Close)

	ctx := context.Background()
	c := f.client(t, func(cfg *Config) { cfg.RPCURLs = []string{proxy.URL}; cfg.Retry.Attempts = 1 })
	_, err := c.SnapshotAt(ctx, 2, f.tokens, f.accounts)
	require.ErrorIs(t, err, ErrBlockUnavailable, "state and header from different branches are refused")

	tamper.Store(1)
	c2 := f.client(t, func(cfg *Config) { cfg.RPCURLs = []string{proxy.URL} })
	snap, err := c2.SnapshotAt(ctx, 2, f.tokens, f.accounts)
	require.NoError(t, err, "the retry reads a consistent answer")
	hash, err := c2.BlockHash(ctx, 2)
	require.NoError(t, err)
	require.Equal(t, hash, snap.Block.Hash)
}

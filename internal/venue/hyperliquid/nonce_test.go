package hyperliquid

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func TestFileNoncesIncreaseAcrossRestartsAndClockSkew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nonce")
	now := time.UnixMilli(1_700_000_000_000)
	clock := func() time.Time { return now }
	ctx := context.Background()

	n1, err := NewFileNonces(path, clock)
	require.NoError(t, err)
	a, err := n1.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1_700_000_000_000), a)
	b, err := n1.Next(ctx) // same millisecond
	require.NoError(t, err)
	require.Equal(t, a+1, b)

	// A restart with the clock gone backwards still continues above the last nonce.
	now = now.Add(-time.Hour)
	n2, err := NewFileNonces(path, clock)
	require.NoError(t, err)
	c, err := n2.Next(ctx)
	require.NoError(t, err)
	require.Equal(t, b+1, c)

	// Concurrent callers never share a nonce.
	seen := sync.Map{}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := n2.Next(ctx)
			require.NoError(t, err)
			_, dup := seen.LoadOrStore(n, true)
			require.False(t, dup)
		}()
	}
	wg.Wait()

	require.NoError(t, os.WriteFile(path, []byte("garbage"), 0o600))
	_, err = NewFileNonces(path, clock)
	require.Error(t, err)
}

func TestLoadKeyNeverShowsTheSecret(t *testing.T) {
	k, err := crypto.GenerateKey()
	require.NoError(t, err)
	secret := hexutil.Encode(crypto.FromECDSA(k))[2:]

	t.Setenv("HL_TEST_KEY", "0x"+secret)
	fromEnv, err := LoadKey("HL_TEST_KEY", "")
	require.NoError(t, err)
	require.Equal(t, crypto.PubkeyToAddress(k.PublicKey), fromEnv.Address())

	file := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(file, []byte(secret+"\n"), 0o600))
	t.Setenv("HL_TEST_KEY", "")
	fromFile, err := LoadKey("HL_TEST_KEY", file)
	require.NoError(t, err)
	require.Equal(t, fromEnv.Address(), fromFile.Address())

	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Interface("key", fromFile).Str("s", fromFile.String()).Msgf("%v %+v %#v", fromFile, fromFile, fromFile)
	require.NotContains(t, buf.String(), secret)
	require.Contains(t, buf.String(), fromFile.Address().Hex())

	t.Setenv("HL_TEST_KEY", "not-hex-"+secret[:10])
	_, err = LoadKey("HL_TEST_KEY", "")
	require.ErrorIs(t, err, ErrConfig)
	require.NotContains(t, err.Error(), secret[:10])
}

func TestLimiterWaitsForTheWindow(t *testing.T) {
	now := time.Unix(0, 0)
	var slept []time.Duration
	l := &limiter{limit: 10, now: func() time.Time { return now },
		sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }}
	ctx := context.Background()
	require.NoError(t, l.wait(ctx, 6))
	now = now.Add(10 * time.Second)
	require.NoError(t, l.wait(ctx, 4))
	require.Empty(t, slept)
	require.NoError(t, l.wait(ctx, 2)) // over budget until the first request leaves the window
	require.Equal(t, []time.Duration{50 * time.Second}, slept)
	require.Error(t, l.wait(ctx, 11))
}

package chain

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
)

func TestFailoverWhenFirstEndpointIsDown(t *testing.T) {
	f := newFixture(t, true)
	_, err := f.sim.AddEndpoint()
	require.NoError(t, err)
	ctx := context.Background()
	c := f.client(t, nil)
	first, second := f.sim.FaultsAt(0), f.sim.FaultsAt(1)

	_, err = c.SnapshotAt(ctx, 0, f.tokens, f.accounts)
	require.NoError(t, err)
	require.Zero(t, second.Requests(), "the first endpoint is preferred while it works")

	first.SetDown(true)
	snap, err := c.SnapshotAt(ctx, 0, f.tokens, f.accounts)
	require.NoError(t, err)
	require.Len(t, snap.Balances, 12)
	require.Positive(t, second.Requests())

	// The client sticks to the endpoint that worked: the dead one is not
	// tried again on every call.
	before := first.Requests()
	for range 3 {
		_, err := c.HeadNumber(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, before, first.Requests())

	// Both down: a typed error after the attempts are spent.
	second.SetDown(true)
	_, err = c.HeadNumber(ctx)
	require.ErrorIs(t, err, ErrUnavailable)
	var e *Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, "eth_blockNumber", e.Op)

	// Recovery.
	first.SetDown(false)
	n, err := c.HeadNumber(ctx)
	require.NoError(t, err)
	require.Equal(t, f.sim.Head(), n)
}

func TestRateLimitRetriesWithBackoff(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	sleeps := &recordingSleep{}
	c := f.client(t, func(cfg *Config) {
		cfg.Retry = RetryPolicy{Attempts: 4, BaseDelay: 10 * time.Millisecond, MaxDelay: 3 * time.Second, Sleep: sleeps.sleep}
	})
	_, err := c.HeadNumber(ctx)
	require.NoError(t, err)
	faults := f.sim.Faults()

	t.Run("recovers after two 429s, honoring Retry-After", func(t *testing.T) {
		sleeps.waits = nil
		faults.RateLimit(2, 2)
		n0 := faults.Calls("eth_blockNumber")
		_, err := c.HeadNumber(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(3), faults.Calls("eth_blockNumber")-n0)
		require.Len(t, sleeps.waits, 2)
		for _, w := range sleeps.waits {
			require.Equal(t, 2*time.Second, w, "Retry-After (2s) beats the 10ms backoff")
		}
	})
	t.Run("gives up with ErrRateLimited", func(t *testing.T) {
		sleeps.waits = nil
		faults.RateLimit(-1, 60)
		defer faults.Reset()
		_, err := c.HeadNumber(ctx)
		require.ErrorIs(t, err, ErrRateLimited)
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, 60*time.Second, e.RetryAfter)
		require.Len(t, sleeps.waits, 3, "4 attempts, 3 waits")
		for _, w := range sleeps.waits {
			require.Equal(t, 3*time.Second, w, "capped by MaxDelay")
		}
	})
	t.Run("JSON-RPC limit error is a rate limit too", func(t *testing.T) {
		sleeps.waits = nil
		faults.FailRPC("eth_blockNumber", 1, -32005, "request limit exceeded")
		_, err := c.HeadNumber(ctx)
		require.NoError(t, err)
		require.Len(t, sleeps.waits, 1)
		require.GreaterOrEqual(t, sleeps.waits[0], 5*time.Millisecond)
		require.LessOrEqual(t, sleeps.waits[0], 10*time.Millisecond)
	})
	t.Run("exponential without Retry-After", func(t *testing.T) {
		sleeps.waits = nil
		faults.FailHTTP(3, http.StatusBadGateway)
		_, err := c.HeadNumber(ctx)
		require.NoError(t, err)
		require.Len(t, sleeps.waits, 3)
		for i, w := range sleeps.waits {
			full := 10 * time.Millisecond << i
			require.GreaterOrEqual(t, w, full/2, "wait %d", i)
			require.LessOrEqual(t, w, full, "wait %d", i)
		}
	})
	t.Run("a non-retryable error returns at once", func(t *testing.T) {
		sleeps.waits = nil
		faults.FailRPC("eth_blockNumber", 1, 3, "execution reverted")
		_, err := c.HeadNumber(ctx)
		require.ErrorIs(t, err, ErrReverted)
		require.Empty(t, sleeps.waits)
		faults.FailRPC("eth_blockNumber", 1, -32602, "invalid argument")
		_, err = c.HeadNumber(ctx)
		require.ErrorIs(t, err, ErrRPC)
		require.Empty(t, sleeps.waits)
	})
}

func TestTimeouts(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client(t, func(cfg *Config) {
		cfg.CallTimeout = 20 * time.Millisecond
		cfg.Retry.Attempts = 2
	})
	_, err := c.HeadNumber(ctx)
	require.NoError(t, err)
	f.sim.Faults().SetLatency(time.Second)
	defer f.sim.Faults().SetLatency(0)

	_, err = c.HeadNumber(ctx)
	require.ErrorIs(t, err, ErrTimeout)
	require.ErrorIs(t, err, ErrUnavailable)

	short, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.HeadNumber(short)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrUnavailable, "the caller gave up: not the endpoint's fault")
}

func TestWrongChainEndpointIsSkipped(t *testing.T) {
	f := newFixture(t, true)
	other, err := simchain.New(simchain.Config{ChainID: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, other.Close()) })
	ctx := context.Background()
	c := f.client(t, func(cfg *Config) { cfg.RPCURLs = []string{other.RPCURL(), f.sim.RPCURL()} })
	n, err := c.HeadNumber(ctx)
	require.NoError(t, err)
	require.Equal(t, f.sim.Head(), n)
	require.Zero(t, other.Faults().Calls("eth_blockNumber"), "nothing but eth_chainId goes to the wrong chain")
	require.Equal(t, int64(1), other.Faults().Calls("eth_chainId"))

	mixed := f.client(t, func(cfg *Config) { cfg.RPCURLs = []string{f.sim.RPCURL(), other.RPCURL()} })
	require.ErrorIs(t, mixed.Verify(ctx), ErrWrongChain, "a misconfigured endpoint fails start-up checks")
	require.NoError(t, f.client(t, nil).Verify(ctx))
	f.sim.Faults().SetDown(true)
	require.ErrorIs(t, f.client(t, nil).Verify(ctx), ErrUnavailable)
	f.sim.Faults().SetDown(false)

	only, err := Dial(ctx, Config{ChainID: 8453, RPCURLs: []string{other.RPCURL()}})
	require.NoError(t, err)
	defer only.Close()
	_, err = only.HeadNumber(ctx)
	require.ErrorIs(t, err, ErrWrongChain)
}

func TestConfigValidation(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		cfg  Config
		want error
	}{
		"no chain id":  {Config{RPCURLs: []string{"http://127.0.0.1:1"}}, ErrInvalidConfig},
		"no endpoint":  {Config{ChainID: 1}, ErrNoEndpoint},
		"bad finality": {Config{ChainID: 1, RPCURLs: []string{"http://127.0.0.1:1"}, Finality: "soon"}, ErrInvalidConfig},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Dial(ctx, tc.cfg)
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	expired, cancel := context.WithTimeout(ctx, 0)
	defer cancel()
	<-expired.Done()
	jsonErr := func(code int, msg string) error { return testRPCError{code, msg} }
	cases := []struct {
		name    string
		err     error
		callCtx context.Context
		want    error
	}{
		{"429", rpc.HTTPError{StatusCode: 429, Status: "429 Too Many Requests"}, ctx, ErrRateLimited},
		{"429 with Retry-After", &rateLimitError{retryAfter: time.Second}, ctx, ErrRateLimited},
		{"503", rpc.HTTPError{StatusCode: 503}, ctx, ErrUnavailable},
		{"401: this endpoint's key", rpc.HTTPError{StatusCode: 401}, ctx, ErrUnavailable},
		{"400", rpc.HTTPError{StatusCode: 400}, ctx, ErrRPC},
		{"method not found", jsonErr(-32601, "the method eth_getLogs does not exist/is not available"), ctx, ErrUnavailable},
		{"receipt not yet", jsonErr(-32000, "transaction not found"), ctx, ErrNotFound},
		{"EOF", io.EOF, ctx, ErrUnavailable},
		{"per-call timeout", context.DeadlineExceeded, expired, ErrTimeout},
		{"not found", ethereum.NotFound, ctx, ErrNotFound},
		{"revert", jsonErr(3, "execution reverted: nope"), ctx, ErrReverted},
		{"limit", jsonErr(-32005, "limit exceeded"), ctx, ErrRateLimited},
		{"rate limit text", jsonErr(-32000, "Your app has exceeded its compute units per second capacity: rate limit"), ctx, ErrRateLimited},
		{"missing state", jsonErr(-32000, "missing trie node abc (path )"), ctx, ErrBlockUnavailable},
		{"header not found", jsonErr(-32000, "header not found"), ctx, ErrBlockUnavailable},
		{"indexing", jsonErr(-32000, "transaction indexing is in progress"), ctx, ErrNotFound},
		{"internal", jsonErr(-32603, "internal error"), ctx, ErrUnavailable},
		{"nonce too low", jsonErr(-32000, "nonce too low: next nonce 5, tx nonce 4"), ctx, ErrRPC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := classify("op", "http://x", tc.err, tc.callCtx)
			require.ErrorIs(t, got, tc.want)
			var he rpc.HTTPError
			if errors.As(tc.err, &he) { // not comparable: match by type
				var cause rpc.HTTPError
				require.ErrorAs(t, got, &cause, "the cause stays reachable")
				require.Equal(t, he.StatusCode, cause.StatusCode)
			} else {
				require.ErrorIs(t, got, tc.err, "the cause stays reachable")
			}
			require.Equal(t, errors.Is(tc.want, ErrRateLimited) || errors.Is(tc.want, ErrUnavailable) ||
				errors.Is(tc.want, ErrBlockUnavailable) || errors.Is(tc.want, ErrTimeout), retryable(got))
		})
	}
}

type testRPCError struct {
	code int
	msg  string
}

func (e testRPCError) Error() string  { return e.msg }
func (e testRPCError) ErrorCode() int { return e.code }

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"https://eth-mainnet.g.alchemy.com/v2/KEY":        "https://eth-mainnet.g.alchemy.com",
		"https://user:pass@rpc.example.com:8545/?key=abc": "https://rpc.example.com:8545",
		"not a url": "<rpc>",
		"%zz":       "<rpc>",
	}
	for in, want := range cases {
		require.Equal(t, want, redactURL(in), in)
	}
}

func TestFailoverOnEndpointLevelRejections(t *testing.T) {
	cases := []struct {
		name   string
		inject func(*simchain.Faults)
	}{
		{"401 bad key", func(f *simchain.Faults) { f.FailHTTP(1000, http.StatusUnauthorized) }},
		{"method disabled", func(f *simchain.Faults) { f.FailRPC("eth_blockNumber", -1, -32601, "method not found") }},
		{"rate limited", func(f *simchain.Faults) { f.RateLimit(-1, 0) }},
		{"502", func(f *simchain.Faults) { f.FailHTTP(1000, http.StatusBadGateway) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			_, err := f.sim.AddEndpoint()
			require.NoError(t, err)
			c := f.client(t, nil)
			err = c.Verify(context.Background())
			require.NoError(t, err)
			tc.inject(f.sim.FaultsAt(0))
			n, err := c.HeadNumber(context.Background())
			require.NoError(t, err)
			require.Equal(t, f.sim.Head(), n)
			require.Equal(t, int64(1), f.sim.FaultsAt(1).Calls("eth_blockNumber"))
		})
	}
}

package balancewatcher_test

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/services/balancewatcher"
)

var accounts = []common.Address{simchain.DevAddress("relayer-a"), simchain.DevAddress("relayer-b"), simchain.DevAddress("relayer-c")}

type fixture struct {
	t      *testing.T
	bus    *bus.Bus
	chains map[uint64]*simchain.Chain
	reader map[uint64]balancewatcher.ChainReader
	client map[uint64]*chain.Client
}

func newFixture(t *testing.T, confirmations uint64, chainIDs ...uint64) *fixture {
	t.Helper()
	ctx := context.Background()
	srv := testenv.NATS(t)
	b, err := bus.Connect(ctx, bus.Config{URL: srv.URL(), Name: "watcher-test"}, zerolog.Nop(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	f := &fixture{t: t, bus: b, chains: map[uint64]*simchain.Chain{}, reader: map[uint64]balancewatcher.ChainReader{}, client: map[uint64]*chain.Client{}}
	for _, id := range chainIDs {
		c, err := simchain.New(simchain.Config{
			ChainID: id,
			Tokens: []simchain.TokenSpec{
				{Symbol: "USDC", Decimals: 6, Balances: map[common.Address]*big.Int{accounts[0]: big.NewInt(1_000_000_000)}},
				{Symbol: "USDT", Decimals: 6},
				{Symbol: "DAI", Decimals: 18},
				{Symbol: "USDE", Decimals: 18},
			},
			Funded: accounts,
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		cl, err := chain.Dial(ctx, chain.Config{
			ChainID: id, Name: c.Name(), RPCURLs: c.Endpoints(), Confirmations: confirmations,
			Multicall: contracts.MulticallAddress, CallTimeout: 2 * time.Second,
			Retry: chain.RetryPolicy{Attempts: 1},
		})
		require.NoError(t, err)
		t.Cleanup(cl.Close)
		f.chains[id], f.client[id], f.reader[id] = c, cl, balancewatcher.ChainClient{C: cl}
	}
	return f
}

func (f *fixture) config(venues ...string) balancewatcher.Config {
	cfg := balancewatcher.Config{Accounts: accounts, Venues: venues, VenueInterval: 20 * time.Millisecond, Heartbeat: time.Hour}
	for id, c := range f.chains {
		cc := balancewatcher.ChainConfig{ID: id, Name: c.Name(), PollInterval: 10 * time.Millisecond, StaleAfter: 300 * time.Millisecond}
		for _, tok := range c.Tokens() {
			cc.Tokens = append(cc.Tokens, balancewatcher.Token{Symbol: tok.Symbol, Address: tok.Address, Decimals: tok.Decimals})
		}
		cfg.Chains = append(cfg.Chains, cc)
	}
	return cfg
}

// start runs a watcher until the returned stop is called (or the test ends).
func (f *fixture) start(cfg balancewatcher.Config, venues ...balancewatcher.VenueReader) (*balancewatcher.Watcher, func()) {
	f.t.Helper()
	w, err := balancewatcher.New(cfg, balancewatcher.Deps{Chains: f.reader, Venues: venues, Stream: balancewatcher.BusStream{B: f.bus}, Log: zerolog.Nop()})
	require.NoError(f.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			require.NoError(f.t, <-done)
		})
	}
	f.t.Cleanup(stop)
	return w, stop
}

// snapshots reads every snapshot of the stream, in order.
func (f *fixture) snapshots() []*events.BalanceSnapshot {
	f.t.Helper()
	var out []*events.BalanceSnapshot
	err := f.bus.ReadRange(context.Background(), bus.Range{FromSeq: 1}, func(m bus.Message) error {
		if s, ok := m.Event.(*events.BalanceSnapshot); ok {
			out = append(out, s)
		}
		return nil
	})
	require.NoError(f.t, err)
	return out
}

func byAccount(snaps []*events.BalanceSnapshot, loc events.Location) map[string][]*events.BalanceSnapshot {
	out := map[string][]*events.BalanceSnapshot{}
	for _, s := range snaps {
		if s.Location == loc {
			out[s.Account] = append(out[s.Account], s)
		}
	}
	return out
}

func balanceOf(s *events.BalanceSnapshot, token string) *big.Int {
	for _, b := range s.Balances {
		if b.Token == token {
			return b.Amount.Big()
		}
	}
	return nil
}

// requireContiguous checks that each account's ranges chain up: every snapshot starts where the
// previous one ended (no gap, no overlap), and only heartbeats are empty.
func requireContiguous(t *testing.T, snaps []*events.BalanceSnapshot) {
	t.Helper()
	for i := 1; i < len(snaps); i++ {
		prev, cur := snaps[i-1], snaps[i]
		require.Equal(t, prev.Range.To, cur.Range.From, "snapshot %d of %s: range %v after %v", i, cur.Account, *cur.Range, *prev.Range)
		require.Greater(t, cur.Range.To, cur.Range.From, "a non-heartbeat snapshot covers at least one block")
	}
}

func TestBalancesAtTheStatedBlock(t *testing.T) {
	t.Parallel()
	const id = 42161
	f := newFixture(t, 2, id)
	c := f.chains[id]
	ctx := context.Background()
	f.start(f.config())

	// Move money around, block by block.
	_, err := c.Transfer(ctx, simchain.DevKey("relayer-a"), "USDC", accounts[1], big.NewInt(250_000_000))
	require.NoError(t, err)
	require.NoError(t, c.Mint(ctx, "USDT", accounts[2], big.NewInt(77_000_000)))
	transferBlock := c.Head()
	for range 3 {
		c.Commit()
	}

	require.Eventually(t, func() bool {
		for _, s := range f.snapshots() {
			if s.Range.To >= transferBlock {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)

	// Every snapshot's balances equal the chain's at the snapshot's block, and its hash is that
	// block's hash.
	snaps := f.snapshots()
	require.NotEmpty(t, snaps)
	for _, s := range snaps {
		hash, err := f.client[id].BlockHash(ctx, s.Range.To)
		require.NoError(t, err)
		require.Equal(t, hash.Hex(), s.BlockHash)
		require.LessOrEqual(t, s.Range.To+2, c.Head(), "read at head minus 2 confirmations")
		for _, tok := range c.Tokens() {
			want, err := f.client[id].BalanceOf(ctx, s.Range.To, tok.Address, common.HexToAddress(s.Account))
			require.NoError(t, err)
			require.Equal(t, want.String(), balanceOf(s, tok.Symbol).String(), "%s %s at %d", s.Account, tok.Symbol, s.Range.To)
		}
	}
	last := byAccount(snaps, events.ChainLocation(id))
	for _, a := range accounts {
		requireContiguous(t, last[a.Hex()])
	}
	final := last[accounts[1].Hex()]
	require.Equal(t, "250000000", balanceOf(final[len(final)-1], "USDC").String())
}

func TestRestartLeavesNoGapNoOverlap(t *testing.T) {
	t.Parallel()
	const id = 10
	f := newFixture(t, 0, id)
	c := f.chains[id]
	cfg := f.config()

	_, stop := f.start(cfg)
	for range 3 {
		c.Commit()
	}
	head := c.Head()
	require.Eventually(t, func() bool { return lastTo(f.snapshots(), accounts[2]) == head }, 10*time.Second, 10*time.Millisecond)
	stop()

	// Blocks pass while the watcher is down.
	for range 5 {
		c.Commit()
	}
	head = c.Head()
	f.start(cfg)
	require.Eventually(t, func() bool { return lastTo(f.snapshots(), accounts[2]) == head }, 10*time.Second, 10*time.Millisecond)

	for acct, snaps := range byAccount(f.snapshots(), events.ChainLocation(id)) {
		require.GreaterOrEqual(t, len(snaps), 2, acct)
		requireContiguous(t, snaps)
	}
}

func lastTo(snaps []*events.BalanceSnapshot, acct common.Address) uint64 {
	var to uint64
	for _, s := range snaps {
		if s.Account == acct.Hex() && s.Range != nil && s.Range.To > to {
			to = s.Range.To
		}
	}
	return to
}

func TestReorgIsMarkedAndReread(t *testing.T) {
	t.Parallel()
	const id = 56
	f := newFixture(t, 0, id)
	c := f.chains[id]
	ctx := context.Background()
	f.start(f.config())

	for range 4 {
		c.Commit()
	}
	before := c.Head()
	require.Eventually(t, func() bool { return lastTo(f.snapshots(), accounts[0]) == before }, 10*time.Second, 10*time.Millisecond)
	oldHash, err := f.client[id].BlockHash(ctx, before)
	require.NoError(t, err)

	// Replace the top two blocks; the new branch moves money differently.
	newHead, err := c.Reorg(2)
	require.NoError(t, err)
	require.Greater(t, newHead, before)

	var marked *events.BalanceSnapshot
	require.Eventually(t, func() bool {
		for _, s := range f.snapshots() {
			if s.Reorg != nil && s.Account == accounts[0].Hex() {
				marked = s
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, before, marked.Reorg.Height)
	require.Equal(t, oldHash.Hex(), marked.Reorg.OldHash)
	require.NotEqual(t, marked.Reorg.OldHash, marked.Reorg.NewHash)
	require.LessOrEqual(t, marked.Range.From, before-2, "the re-read starts at or below the fork point")
	require.GreaterOrEqual(t, marked.Range.To, before)
	newHash, err := f.client[id].BlockHash(ctx, marked.Range.To)
	require.NoError(t, err)
	require.Equal(t, newHash.Hex(), marked.BlockHash)
}

func TestOutageOnOneChainDoesNotDelayAnother(t *testing.T) {
	t.Parallel()
	const down, up = 1, 8453
	f := newFixture(t, 0, down, up)
	f.chains[down].Commit()
	f.chains[up].Commit()
	w, _ := f.start(f.config())
	require.Eventually(t, func() bool {
		return lastTo(f.snapshots(), accounts[0]) > 0 && w.Ready(context.Background()) == nil
	}, 10*time.Second, 10*time.Millisecond)

	f.chains[down].Faults().SetDown(true)
	f.chains[down].Faults().SetLatency(5 * time.Second)
	downHead := lastToAt(f.snapshots(), accounts[0], down)

	// The healthy chain keeps publishing every block while the other is dead.
	for range 5 {
		f.chains[up].Commit()
		f.chains[down].Commit()
		want := f.chains[up].Head()
		require.Eventually(t, func() bool { return lastToAt(f.snapshots(), accounts[0], up) == want }, 5*time.Second, 5*time.Millisecond)
	}
	require.Equal(t, downHead, lastToAt(f.snapshots(), accounts[0], down), "nothing is published for a dead chain")
	require.Eventually(t, func() bool {
		err := w.Ready(context.Background())
		return err != nil && containsAll(err.Error(), "eip155:1 ") && !containsAll(err.Error(), "eip155:8453")
	}, 5*time.Second, 10*time.Millisecond, "readiness names the stale chain and only it")

	f.chains[down].Faults().Reset()
	require.Eventually(t, func() bool { return w.Ready(context.Background()) == nil }, 10*time.Second, 10*time.Millisecond)
	requireContiguous(t, byAccount(f.snapshots(), events.ChainLocation(down))[accounts[0].Hex()])
}

func lastToAt(snaps []*events.BalanceSnapshot, acct common.Address, chainID uint64) uint64 {
	var to uint64
	for _, s := range snaps {
		if s.Account == acct.Hex() && s.Location == events.ChainLocation(chainID) && s.Range.To > to {
			to = s.Range.To
		}
	}
	return to
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !contains(s, p) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// venueReader is a venue for the interface test: its balances change between reads.
type venueReader struct {
	mu   sync.Mutex
	n    int64
	name string
}

func (v *venueReader) Venue() string { return v.name }

func (v *venueReader) Balances(_ context.Context, _ common.Address) (uint64, []events.TokenBalance, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n++
	return 1000, []events.TokenBalance{{Token: "USDT", Amount: events.AmountFromInt64(v.n * 100), Decimals: 8}}, nil
}

func TestVenueSnapshotsThroughTheInterface(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	v := &venueReader{name: events.VenueBinance}
	cfg := balancewatcher.Config{Accounts: accounts[:1], Venues: []string{events.VenueBinance}, VenueInterval: 5 * time.Millisecond}
	f.start(cfg, v)
	require.Eventually(t, func() bool { return len(byAccount(f.snapshots(), "binance")[accounts[0].Hex()]) >= 3 }, 10*time.Second, 5*time.Millisecond)
	snaps := byAccount(f.snapshots(), "binance")[accounts[0].Hex()]
	for i := 1; i < len(snaps); i++ {
		require.Greater(t, snaps[i].VenueSeq, snaps[i-1].VenueSeq, "venue sequence increases even when the venue's clock does not")
		require.Equal(t, 1, balanceOf(snaps[i], "USDT").Cmp(balanceOf(snaps[i-1], "USDT")))
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	tok := balancewatcher.Token{Symbol: "USDC", Address: common.HexToAddress("0x01"), Decimals: 6}
	cases := map[string]struct {
		cfg  balancewatcher.Config
		want string
	}{
		"no accounts":     {balancewatcher.Config{}, "watcher.accounts"},
		"dup account":     {balancewatcher.Config{Accounts: []common.Address{accounts[0], accounts[0]}}, "watcher.accounts[1]"},
		"nothing":         {balancewatcher.Config{Accounts: accounts}, "watcher.chains"},
		"chain id":        {balancewatcher.Config{Accounts: accounts, Chains: []balancewatcher.ChainConfig{{Tokens: []balancewatcher.Token{tok}}}}, "watcher.chains[0].id"},
		"no tokens":       {balancewatcher.Config{Accounts: accounts, Chains: []balancewatcher.ChainConfig{{ID: 1}}}, "watcher.chains[0].tokens"},
		"bad symbol":      {balancewatcher.Config{Accounts: accounts, Chains: []balancewatcher.ChainConfig{{ID: 1, Tokens: []balancewatcher.Token{{Symbol: "usdc", Address: tok.Address}}}}}, "watcher.chains[0].tokens[0]"},
		"dup token":       {balancewatcher.Config{Accounts: accounts, Chains: []balancewatcher.ChainConfig{{ID: 1, Tokens: []balancewatcher.Token{tok, tok}}}}, "watcher.chains[0].tokens[1].symbol"},
		"unknown venue":   {balancewatcher.Config{Accounts: accounts, Venues: []string{"kraken"}}, "watcher.venues[0]"},
		"zero token addr": {balancewatcher.Config{Accounts: accounts, Chains: []balancewatcher.ChainConfig{{ID: 1, Tokens: []balancewatcher.Token{{Symbol: "USDC"}}}}}, "watcher.chains[0].tokens[0]"},
	}
	for name, c := range cases {
		err := c.cfg.Validate()
		require.Error(t, err, name)
		require.Contains(t, err.Error(), c.want, name)
	}
}

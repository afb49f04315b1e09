package executor

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// Chains and tokens of the test world: Base (6 decimals) and BSC (18 decimals).
var testChains = []uint64{simchain.Base, simchain.BSC}

const (
	testVenueName = events.VenueBinance
	initialTokens = 1_000_000 // whole tokens of each stablecoin on each chain
)

// harness is a world for the executor: simulated chains with real ERC20s over JSON-RPC, a private
// redis-server, an embedded JetStream, the test venue, and the relayer's account.
type harness struct {
	t       *testing.T
	redis   *testenv.Redis
	rdb     *redis.Client
	nats    *localinfra.NATS
	pub     *bus.Bus // the planner's and the watcher's stand-in
	chains  map[uint64]*simchain.Chain
	clients map[uint64]*chain.Client
	venue   *testVenue
	key     *ecdsa.PrivateKey
	account common.Address
	cfg     Config
	log     zerolog.Logger

	mu      sync.Mutex
	intents map[string]*events.RebalanceIntent
}

type harnessOption func(*harnessOptions)

type harnessOptions struct{ aof bool }

func withAOF() harnessOption { return func(o *harnessOptions) { o.aof = true } }

func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	var o harnessOptions
	for _, f := range opts {
		f(&o)
	}
	h := &harness{t: t, chains: map[uint64]*simchain.Chain{}, clients: map[uint64]*chain.Client{}, intents: map[string]*events.RebalanceIntent{},
		key: simchain.DevKey("relayer"), log: testLogger(t)}
	h.account = crypto.PubkeyToAddress(h.key.PublicKey)
	hot := simchain.DevAddress("binance-hot")
	var routes []venue.Route
	var cfgRoutes []RouteConfig
	for _, id := range testChains {
		cc, ok := simchain.DefaultChain(id)
		require.True(t, ok)
		cc.AutoMine = true
		cc.Funded = []common.Address{h.account, hot}
		for i := range cc.Tokens {
			unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cc.Tokens[i].Decimals)), nil)
			cc.Tokens[i].Balances = map[common.Address]*big.Int{
				h.account: new(big.Int).Mul(big.NewInt(initialTokens), unit),
				hot:       new(big.Int).Mul(big.NewInt(100*initialTokens), unit),
			}
		}
		sim, err := simchain.New(cc)
		require.NoError(t, err)
		t.Cleanup(func() { _ = sim.Close() })
		h.chains[id] = sim
		c, err := chain.Dial(context.Background(), chain.Config{ChainID: id, Name: cc.Name, RPCURLs: sim.Endpoints(),
			Multicall: contracts.MulticallAddress, Finality: chain.FinalityLatest, CallTimeout: 5 * time.Second,
			Retry: chain.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}})
		require.NoError(t, err)
		t.Cleanup(c.Close)
		h.clients[id] = c
		network := map[uint64]string{simchain.Base: "BASE", simchain.BSC: "BSC"}[id]
		for _, tok := range cc.Tokens {
			routes = append(routes, venue.Route{Venue: testVenueName, Token: tok.Symbol, Coin: tok.Symbol, Network: network, ChainID: id,
				TokenAddress: tok.Address.Hex(), Decimals: tok.Decimals, DepositEnabled: true, WithdrawEnabled: true,
				Limits: venue.Limits{WithdrawFee: venue.Amount{Units: big.NewInt(8), Decimals: 1}, WithdrawMin: venue.Amount{Units: big.NewInt(10), Decimals: 0}}})
			cfgRoutes = append(cfgRoutes, RouteConfig{Venue: testVenueName, Token: tok.Symbol, ChainID: id, Network: network,
				TokenAddress: tok.Address.Hex(), Decimals: tok.Decimals})
		}
	}
	h.venue = newTestVenue(h.chains, h.clients, routes, 7)
	for _, r := range routes {
		h.venue.wFee[r.ChainID] = venue.Amount{Units: big.NewInt(8), Decimals: 1}.Rescale(r.Decimals, venue.Up).Units
	}
	if o.aof {
		h.redis = testenv.StartRedis(t, testenv.WithAOF())
	} else {
		h.redis = testenv.StartRedis(t)
	}
	h.rdb = h.redis.Client(t)
	h.nats = testenv.NATS(t)
	h.pub = h.connect("planner")
	h.cfg = Config{
		Accounts: []string{h.account.Hex()}, Routes: cfgRoutes, MaxPerIntent: "100000",
		MaxPerDay: map[string]string{testVenueName: "10000000"}, DefaultStepTimeout: 5 * time.Minute,
		LeaseTTL: 300 * time.Millisecond, Tick: 20 * time.Millisecond, ResubmitLag: 100 * time.Millisecond,
		GC: pending.GCPolicy{Retention: time.Hour},
	}
	return h
}

func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

func (h *harness) connect(name string) *bus.Bus {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Connect(ctx, bus.Config{URL: h.nats.URL(), Name: name, ReconnectWait: 20 * time.Millisecond}, h.log, nil)
	require.NoError(h.t, err)
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}

// instance is one executor process.
type instance struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	killed atomic.Bool
	bus    *bus.Bus
	once   sync.Once
	e      *Executor
}

// start runs an executor instance; fault (may be nil) is its fault hook, given the instance so it
// can kill it.
func (h *harness) start(cfg Config, fault func(in *instance, point string) error) *instance {
	h.t.Helper()
	return h.startWith(cfg, h.log, fault)
}

func (h *harness) startWith(cfg Config, log zerolog.Logger, fault func(in *instance, point string) error) *instance {
	h.t.Helper()
	in := &instance{done: make(chan struct{})}
	in.bus = h.connect("executor")
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	d := h.deps(in.bus)
	d.Log = log
	if fault != nil {
		d.Fault = func(p string) error {
			if in.killed.Load() {
				return errors.New("instance is dead")
			}
			return fault(in, p)
		}
	}
	e, err := New(cfg, d)
	require.NoError(h.t, err)
	in.e = e
	go func() { in.err = e.Start(ctx); close(in.done) }()
	h.t.Cleanup(func() { in.stop(h.t) })
	return in
}

// deps are an executor's connections to the harness's world, with fresh senders (as after a
// process start).
func (h *harness) deps(b Bus) Deps {
	signers := map[string]chain.Signer{h.account.Hex(): chain.NewKeySigner(h.key)}
	chains := map[uint64]Chain{}
	for id, c := range h.clients {
		chains[id] = c
	}
	return Deps{Bus: b, Redis: h.rdb, Chains: chains, Senders: NewSenders(h.rdb, h.clients, signers),
		Venues: map[string]Venue{testVenueName: h.venue}, Log: h.log}
}

// kill tears the instance down hard from inside a fault point: nothing after the point runs.
func (in *instance) kill() error {
	in.killed.Store(true)
	in.cancel()
	return errors.New("killed")
}

func (in *instance) stop(t testing.TB) {
	in.once.Do(func() {
		in.cancel()
		select {
		case <-in.done:
		case <-time.After(10 * time.Second):
			t.Errorf("executor instance did not stop")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = in.bus.Close(ctx)
	})
}

func randomID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// intent builds a valid intent moving whole tokens of src on srcChain to dst on dstChain, whose
// minAmountOut is exactly what the test venue delivers (so the ledger's expectation is exact).
func (h *harness) intent(srcChain uint64, src string, dstChain uint64, dst string, whole int64) *events.RebalanceIntent {
	sdec, ddec := h.decimals(srcChain, src), h.decimals(dstChain, dst)
	in := venue.NewAmount(new(big.Int).Mul(big.NewInt(whole), pow10(sdec)), sdec)
	out := h.venue.expectedOut(venue.Key{Token: src, ChainID: srcChain}, venue.Key{Token: dst, ChainID: dstChain}, in)
	id := randomID()
	it := &events.RebalanceIntent{
		Meta:    events.NewMeta(events.TypeRebalanceIntent, id, "", "planner", time.Now()),
		Basis:   events.Basis{Seq: 1, ConfigHash: "cfg"},
		Account: h.account.Hex(), Venue: testVenueName,
		Route:    events.Route{SrcChain: srcChain, SrcToken: src, SrcDecimals: sdec, DstChain: dstChain, DstToken: dst, DstDecimals: ddec},
		AmountIn: events.NewAmount(in.Units), MinAmountOut: events.NewAmount(out.Units),
		MaxFee:   events.NewAmount(new(big.Int).Quo(in.Units, big.NewInt(50))),
		Deadline: time.Now().Add(time.Hour),
		Why:      events.Justification{Excess: events.AmountFromInt64(0), Deficit: events.AmountFromInt64(0), CostEstimate: events.AmountFromInt64(0)},
	}
	h.mu.Lock()
	h.intents[id] = it
	h.mu.Unlock()
	return it
}

func pow10(d uint8) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil) }

func (h *harness) decimals(chainID uint64, token string) uint8 {
	spec, ok := h.chains[chainID].Token(token)
	require.True(h.t, ok, "token %s on chain %d", token, chainID)
	return spec.Decimals
}

func (h *harness) publish(ev events.Event) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := h.pub.Publish(ctx, ev)
	require.NoError(h.t, err)
}

// record reads an intent's record.
func (h *harness) record(id string) (*Record, uint64, error) {
	b, v, err := pending.NewWriter(h.rdb).Intent(context.Background(), h.account.Hex(), id)
	if err != nil {
		return nil, 0, err
	}
	r, err := decodeRecord(b)
	return r, v, err
}

// watch publishes a BalanceSnapshot per chain at its head every period, as the balance watcher
// does, until ctx ends.
func (h *harness) watch(ctx context.Context, period time.Duration) {
	prev := map[uint64]uint64{}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		for _, id := range testChains {
			head := h.chains[id].Head()
			if head == prev[id] {
				continue
			}
			hash, err := h.clients[id].BlockHash(ctx, head)
			if err != nil {
				continue
			}
			snap := &events.BalanceSnapshot{Location: events.ChainLocation(id), Account: h.account.Hex(),
				Range: &events.BlockRange{From: prev[id], To: head}, BlockHash: hash.Hex(), Balances: []events.TokenBalance{}}
			snap.Meta = events.NewMeta(events.TypeBalanceSnapshot, snap.MsgID(), "", "balancewatcher", time.Now())
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = h.pub.Publish(pctx, snap)
			cancel()
			if err == nil {
				prev[id] = head
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// conservation checks DESIGN §8's invariant at the ledger's own blocks: for every chain, the
// account's balances at asOf plus the legs in effect there, summed over chains in 18 decimals,
// equal the initial inventory minus the fees of every intent whose legs are in the ledger (the
// test venue keeps nothing unattributed: what it holds belongs to intents in flight).
func (h *harness) conservation(ctx context.Context) error {
	lkey, _ := pending.LedgerKey(h.account.Hex())
	fields, err := h.rdb.HGetAll(ctx, lkey).Result()
	if err != nil {
		return err
	}
	view, err := pending.Parse(h.account.Hex(), fields, nil)
	if err != nil {
		return err
	}
	total := new(big.Int)
	initial := new(big.Int)
	for _, id := range testChains {
		asOf := view.Chains[id].AsOf
		for _, tok := range h.chains[id].Tokens() {
			bal, err := h.clients[id].BalanceOf(ctx, asOf, tok.Address, h.account)
			if err != nil {
				return err
			}
			scale := pow10(18 - tok.Decimals)
			if tt, ok := view.Total(id, tok.Symbol); ok {
				bal.Add(bal, tt.Amount)
			}
			total.Add(total, bal.Mul(bal, scale))
			initial.Add(initial, new(big.Int).Mul(big.NewInt(initialTokens), pow10(18)))
		}
	}
	fees := new(big.Int)
	h.mu.Lock()
	for id, it := range h.intents {
		has := false
		for f := range fields {
			if len(f) > len(id) && f[:len(id)] == id && f[len(id)] == ':' {
				has = true
				break
			}
		}
		if !has {
			continue
		}
		in := new(big.Int).Mul(it.AmountIn.Big(), pow10(18-it.Route.SrcDecimals))
		out := new(big.Int).Mul(it.MinAmountOut.Big(), pow10(18-it.Route.DstDecimals))
		fees.Add(fees, in.Sub(in, out))
	}
	h.mu.Unlock()
	want := new(big.Int).Sub(initial, fees)
	if total.Cmp(want) != 0 {
		return fmt.Errorf("conservation violated: chains+legs = %s, inventory−fees = %s (diff %s)", total, want, new(big.Int).Sub(total, want))
	}
	return nil
}

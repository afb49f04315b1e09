package executor

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
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
	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
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
	// real, when set, is the venue the executor uses (the Binance adapter over the simulator).
	real    Venue
	bsim    *simbinance.Sim
	wire    *faultTransport
	key     *ecdsa.PrivateKey
	account common.Address
	cfg     Config
	log     zerolog.Logger

	mu      sync.Mutex
	intents map[string]*events.RebalanceIntent

	// venueName names the venue the executor drives (testVenueName unless set), chainIDs the
	// chains watched and checked (testChains unless set).
	venueName string
	chainIDs  []uint64
	// feesFromLegs takes each intent's fee as amountIn − its destination leg's current amount (the
	// venue's own figures), instead of amountIn − minAmountOut (exact only with the test venue).
	feesFromLegs bool
	// venueRead, when set, reads the simulated venue at one instant and returns the check of its
	// unattributed balances against the records (venueattr_test.go).
	venueRead func(ctx context.Context) (func(recs map[string]*Record) error, error)
	// retries counts conservation checks made again because the ledger or a record changed while
	// they read; venueChecks counts the venue-inclusive checks made.
	retries, venueChecks atomic.Int64
}

func (h *harness) venueKey() string {
	if h.venueName != "" {
		return h.venueName
	}
	return testVenueName
}

func (h *harness) chainList() []uint64 {
	if h.chainIDs != nil {
		return h.chainIDs
	}
	return testChains
}

type harnessOption func(*harnessOptions)

type harnessOptions struct {
	aof     bool
	binance bool
}

func withAOF() harnessOption { return func(o *harnessOptions) { o.aof = true } }

// withBinanceSim reaches the venue through the real Binance adapter (go-binance) against the
// wire-level simulator, instead of the test venue; chains then also seal a block every 250ms so
// deposits gather confirmations.
func withBinanceSim() harnessOption { return func(o *harnessOptions) { o.binance = true } }

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
		if o.binance {
			cc.BlockInterval = 250 * time.Millisecond
		}
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
	if o.binance {
		h.startBinance()
	}
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
		LeaseTTL: 300 * time.Millisecond, Tick: 20 * time.Millisecond, Poll: 50 * time.Millisecond, ResubmitLag: 100 * time.Millisecond,
		GC: pending.GCPolicy{Retention: time.Hour},
	}
	if o.binance {
		// The wire-level simulator, its chains' block production and the adapter load a shared
		// machine; a longer lease keeps scheduling delays from costing it.
		h.cfg.LeaseTTL = time.Second
		h.cfg.Poll = 300 * time.Millisecond
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
	var v Venue = h.venue
	if h.real != nil {
		v = h.real
	}
	return Deps{Bus: b, Redis: h.rdb, Chains: chains, Senders: NewSenders(h.rdb, h.clients, signers),
		Venues: map[string]Venue{h.venueKey(): v}, Log: h.log}
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
	if h.real != nil {
		// The simulator's book and fees decide the output: expect 99% less 2 tokens.
		r := new(big.Rat).Mul(in.Rat(), big.NewRat(99, 100))
		r.Sub(r, big.NewRat(2, 1))
		out, _ = venue.FromRat(r, ddec, venue.Down)
	}
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
		for _, id := range h.chainList() {
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
// equal the initial inventory minus the fees of every intent whose legs are in the ledger. With a
// simulated venue (h.venueRead set) it also checks the venue's side: everything the account holds
// there, less what its intents' records and the venue's own books (by the ids the intents derive)
// attribute to intents, equals the venue's initial unattributed balance, per coin and exactly
// (venueattr_test.go). Without one, the test venue keeps nothing unattributed: what it holds
// belongs to intents in flight.
//
// The ledger, the records, the chains and the venue are read at different moments. The ledger and
// every record (with its version) are read before and after the rest; when anything changed in
// between, the whole check is made again (h.retries counts those), so every verdict is about one
// consistent state of the ledger and records.
func (h *harness) conservation(ctx context.Context) error {
	for try := 0; ; try++ {
		before, err := h.readLedgerState(ctx)
		if err != nil {
			return err
		}
		if err := h.chainConservation(ctx, before.fields); err != nil {
			return err
		}
		var venueCheck func(map[string]*Record) error
		if h.venueRead != nil {
			if venueCheck, err = h.venueRead(ctx); err != nil {
				return err
			}
		}
		after, err := h.readLedgerState(ctx)
		if err != nil {
			return err
		}
		if !before.same(after) {
			h.retries.Add(1)
			if try < 100 {
				continue
			}
			return fmt.Errorf("ledger and records never stood still for a check (%d tries)", try+1)
		}
		if venueCheck == nil {
			return nil
		}
		h.venueChecks.Add(1)
		return venueCheck(before.records)
	}
}

// ledgerState is the account's ledger hash and every known intent's record with its version.
type ledgerState struct {
	fields   map[string]string
	records  map[string]*Record
	versions map[string]uint64
}

func (h *harness) readLedgerState(ctx context.Context) (ledgerState, error) {
	lkey, _ := pending.LedgerKey(h.account.Hex())
	fields, err := h.rdb.HGetAll(ctx, lkey).Result()
	if err != nil {
		return ledgerState{}, err
	}
	st := ledgerState{fields: fields, records: map[string]*Record{}, versions: map[string]uint64{}}
	h.mu.Lock()
	ids := make([]string, 0, len(h.intents))
	for id := range h.intents {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		b, v, err := pending.NewWriter(h.rdb).Intent(ctx, h.account.Hex(), id)
		if errors.Is(err, pending.ErrNotFound) {
			continue
		}
		if err != nil {
			return ledgerState{}, err
		}
		r, err := decodeRecord(b)
		if err != nil {
			return ledgerState{}, err
		}
		st.records[id], st.versions[id] = r, v
	}
	return st, nil
}

func (s ledgerState) same(o ledgerState) bool {
	if len(s.fields) != len(o.fields) || len(s.versions) != len(o.versions) {
		return false
	}
	for k, v := range s.fields {
		if o.fields[k] != v {
			return false
		}
	}
	for k, v := range s.versions {
		if w, ok := o.versions[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// chainConservation is the chains' side of the invariant, on one read of the ledger hash.
func (h *harness) chainConservation(ctx context.Context, fields map[string]string) error {
	view, err := pending.Parse(h.account.Hex(), fields, nil)
	if err != nil {
		return err
	}
	total := new(big.Int)
	initial := new(big.Int)
	for _, id := range h.chainList() {
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
	dstLegs := map[string]*big.Int{}
	if h.feesFromLegs {
		for _, l := range view.Legs() {
			if l.Name == legDst {
				dstLegs[l.IntentID] = l.Amount
			}
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
		dst := it.MinAmountOut.Big()
		if h.feesFromLegs {
			if dst = dstLegs[id]; dst == nil {
				h.mu.Unlock()
				return fmt.Errorf("intent %s has legs but no destination leg", id)
			}
		}
		out := new(big.Int).Mul(dst, pow10(18-it.Route.DstDecimals))
		fees.Add(fees, in.Sub(in, out))
	}
	h.mu.Unlock()
	want := new(big.Int).Sub(initial, fees)
	if total.Cmp(want) != 0 {
		return fmt.Errorf("conservation violated: chains+legs = %s, inventory−fees = %s (diff %s)", total, want, new(big.Int).Sub(total, want))
	}
	return nil
}

const (
	simAPIKey    = "executor-test-key"
	simAPISecret = "executor-test-secret-0123456789abcdef"
)

// startBinance runs the wire-level Binance simulator over the harness's chains and points the
// real adapter at it.
func (h *harness) startBinance() {
	t := h.t
	var nets []simbinance.Network
	var anets []binance.Network
	for _, id := range testChains {
		n, ok := simbinance.DevnetNetwork(h.chains[id])
		require.True(t, ok)
		nets = append(nets, n)
		var toks []binance.Token
		for _, tok := range h.chains[id].Tokens() {
			toks = append(toks, binance.Token{Symbol: tok.Symbol, Decimals: tok.Decimals, Address: tok.Address.Hex()})
		}
		anets = append(anets, binance.Network{Name: n.Name, ChainID: id, Tokens: toks})
	}
	sim, err := simbinance.New(simbinance.Config{Accounts: []simbinance.Account{{APIKey: simAPIKey, Secret: simAPISecret}},
		Networks: nets, HotWallet: simchain.DevKey("binance-hot"), PollInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	url, err := sim.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sim.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for wallet, coins := range binanceUnattributed {
		for coin, amount := range coins {
			sim.Credit(simAPIKey, wallet, coin, amount)
		}
	}
	h.bsim = sim
	h.venueRead = h.binanceVenueRead
	h.wire = &faultTransport{base: http.DefaultTransport, rng: mrand.New(mrand.NewPCG(3, 4))}
	c, err := binance.New(context.Background(), binance.Config{BaseURL: url, Credentials: binance.NewCredentials(simAPIKey, simAPISecret),
		Networks: anets, LookupLag: 100 * time.Millisecond, Log: h.log, Transport: h.wire,
		Sleep: func(ctx context.Context, d time.Duration) error {
			// Back-off is the adapter's business; bound it so tests do not wait Binance's windows.
			t := time.NewTimer(min(d, 5*time.Millisecond))
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		}})
	require.NoError(t, err)
	h.real = c
}

// faultTransport sits between the Binance adapter and the simulator and, on a fraction of
// requests, answers 503 without passing the request on, passes it on and drops the answer, passes
// it on and answers 503 -1007 ("execution status unknown"), answers 429 with Retry-After, or times
// out (a network timeout error, as the HTTP client's deadline gives) either before the request
// reaches the venue or after the venue has acted on it.
type faultTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	rng  *mrand.Rand
	rate float64
	n    map[string]int
	reqs int
}

func (f *faultTransport) setRate(r float64) { f.mu.Lock(); f.rate = r; f.mu.Unlock() }

// timeoutErr is what a request that ran out of time returns: a net.Error whose Timeout is true.
var timeoutErr error = &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}

// requests is how many requests the adapter made, faulted or not.
func (f *faultTransport) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs
}

// kinds is how many faults of each kind were injected.
func (f *faultTransport) kinds() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.n))
	for k, n := range f.n {
		out[k] = n
	}
	return out
}

func (f *faultTransport) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := 0
	for _, n := range f.n {
		t += n
	}
	return t
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.reqs++
	kind := -1
	if f.rate > 0 && f.rng.Float64() < f.rate {
		kind = f.rng.IntN(6)
		if f.n == nil {
			f.n = map[string]int{}
		}
		f.n[[]string{"503-before", "drop-after", "503-after", "429", "timeout-before", "timeout-after"}[kind]]++
	}
	f.mu.Unlock()
	synth := func(status int, body string, h http.Header) *http.Response {
		if h == nil {
			h = http.Header{}
		}
		h.Set("Content-Type", "application/json")
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h, Request: req,
			Body: io.NopCloser(strings.NewReader(body)), ProtoMajor: 1, ProtoMinor: 1}
	}
	switch kind {
	case 0:
		return synth(503, `{"code":-1001,"msg":"Internal error; unable to process your request."}`, nil), nil
	case 3:
		return synth(429, `{"code":-1003,"msg":"Too many requests."}`, http.Header{"Retry-After": []string{"1"}}), nil
	case 4:
		return nil, timeoutErr
	}
	res, err := f.base.RoundTrip(req)
	if err != nil || kind < 0 {
		return res, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	switch kind {
	case 1:
		return nil, io.ErrUnexpectedEOF
	case 5:
		return nil, timeoutErr
	}
	return synth(503, `{"code":-1007,"msg":"Timeout waiting for response from backend server. Send status unknown; execution status unknown."}`, nil), nil
}

// checkTally runs the conservation check after every recorded step and counts the outcomes: a
// check that cannot read its state (Redis restarting, say) is unread, not a violation.
type checkTally struct {
	checks, unread, violations atomic.Int64
	firstErr                   atomic.Value
}

// afterRecord checks conservation when point is a recorded step's "after" fault point.
func (c *checkTally) afterRecord(h *harness, point string) {
	if !strings.HasPrefix(point, "record:") || !strings.HasSuffix(point, ":after") {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	switch err := h.conservation(ctx); {
	case err == nil:
		c.checks.Add(1)
	case strings.Contains(err.Error(), "conservation violated"):
		c.violations.Add(1)
		c.firstErr.CompareAndSwap(nil, err.Error()+" at "+point)
	default:
		c.unread.Add(1)
	}
}

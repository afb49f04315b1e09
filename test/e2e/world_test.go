//go:build !race

package e2e

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
	"sync"
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
	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/internal/devnet"
	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// world is devnet's parts running in the test process (NATS, Redis, simulated chains, the venue
// simulators) with the three services as subprocesses, and what the test watches them with: the
// stream, the ledger and the chains.
type world struct {
	t       *testing.T
	ctx     context.Context
	in      *devnet.Infra
	cfg     *config.Config
	account common.Address
	dir     string
	files   devnet.ServiceFiles

	bus     *bus.Bus
	rdb     *redis.Client
	clients map[uint64]*chain.Client
	ledger  *pending.Reader
	checker *devnet.Checker
	stream  *streamView

	watcher, planner, executor *proc
}

// seed fixes the starting imbalance (the keys, and so the intent ids, differ per run).
const seed = 7

func newWorld(t *testing.T) *world {
	t.Helper()
	// A private redis-server (or the embedded one), never a Redis the machine already runs.
	t.Setenv("REDIS_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir, err := os.MkdirTemp("", "rebalancer-e2e-")
	require.NoError(t, err)
	w := &world{t: t, ctx: ctx, dir: dir}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("E2E_KEEP") != "" {
			t.Logf("logs and files kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})

	in, err := devnet.Start(ctx, devnet.Options{Seed: seed, Log: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(in.Close)
	w.in, w.cfg = in, in.Config
	w.account = crypto.PubkeyToAddress(in.Relayer.PublicKey)
	w.files, err = in.WriteServiceFiles(ctx, dir+"/etc")
	require.NoError(t, err)
	requireKeysOnlyInPrivateFiles(t, w.files)

	w.bus, err = bus.Connect(ctx, bus.Config{URL: in.NATS.URL(), Name: "e2e"}, zerolog.Nop(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.bus.Close(context.Background()) })
	ropt, err := redis.ParseURL(in.RedisURL)
	require.NoError(t, err)
	w.rdb = redis.NewClient(ropt)
	t.Cleanup(func() { _ = w.rdb.Close() })
	w.ledger = pending.NewReader(w.rdb)
	w.clients = map[uint64]*chain.Client{}
	for _, c := range w.cfg.Chains {
		cl, err := chain.Dial(ctx, chain.Config{ChainID: c.ID, Name: c.Name, RPCURLs: c.RPC, Finality: chain.FinalityConfirmations, Multicall: contracts.MulticallAddress})
		require.NoError(t, err)
		t.Cleanup(cl.Close)
		w.clients[c.ID] = cl
	}

	tracker := devnet.NewTracker(w.cfg)
	w.checker = &devnet.Checker{Config: w.cfg, Account: w.account, Clients: w.clients, Redis: w.rdb, Tracker: tracker, Load: &devnet.Load{}}
	// Before any service runs: the inventory is what the chains hold.
	require.NoError(t, w.checker.Baseline(ctx))
	w.stream = &streamView{intents: map[string]*events.RebalanceIntent{}, last: map[string]*events.ExecutionUpdate{}}
	w.background(func(ctx context.Context) error { return tracker.Follow(ctx, w.bus, 100*time.Millisecond) })
	w.background(func(ctx context.Context) error { return w.stream.follow(ctx, w.bus, 50*time.Millisecond) })

	w.watcher = newProc(t, dir, "balancewatcher", w.files.Config, w.files.Env)
	w.planner = newProc(t, dir, "planner", w.files.Config, w.files.Env)
	w.executor = newProc(t, dir, "executor", w.files.Config, w.files.Env)
	t.Cleanup(func() {
		// Stop the services before the infrastructure (cleanups run last first), then show their
		// logs if the test failed.
		for _, p := range []*proc{w.executor, w.planner, w.watcher} {
			if err := p.stop(); err != nil {
				t.Errorf("%s: shutdown: %v", p.target, err)
			}
		}
		if t.Failed() {
			for _, p := range []*proc{w.watcher, w.planner, w.executor} {
				t.Logf("---- %s (%d runs), last lines of %s:\n%s", p.target, p.runs, p.logPath, p.tail(60))
			}
		}
	})
	return w
}

// requireKeysOnlyInPrivateFiles requires that the services' keys are in files only this user can
// read, named by the environment, and not in the configuration file.
func requireKeysOnlyInPrivateFiles(t *testing.T, files devnet.ServiceFiles) {
	t.Helper()
	raw, err := os.ReadFile(files.Config)
	require.NoError(t, err)
	n := 0
	for _, kv := range files.Env {
		k, path, _ := strings.Cut(kv, "=")
		if !strings.HasSuffix(k, "_FILE") {
			continue
		}
		n++
		st, err := os.Stat(path)
		require.NoError(t, err, k)
		require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "%s is private", k)
		secret, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NotContains(t, string(raw), strings.TrimSpace(string(secret)), "the configuration file carries no secret")
	}
	require.Equal(t, 3, n, "the relayer key and the Binance key and secret are files")
}

// background runs fn until the test ends; an error fails the test.
func (w *world) background(fn func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			w.t.Errorf("background: %v", err)
		}
	}()
	w.t.Cleanup(func() { cancel(); <-done })
}

// startServices starts the three services, each as its own process.
func (w *world) startServices() {
	w.t.Helper()
	for _, p := range []*proc{w.watcher, w.planner, w.executor} {
		p.start(w.t, w.ctx)
	}
}

// checkEvery runs the conservation check every interval until the test ends; a violation fails
// the test (at its end, with the checker's samples).
func (w *world) checkEvery(interval time.Duration) {
	w.background(func(ctx context.Context) error {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			if _, err := w.checker.Check(ctx); err != nil && ctx.Err() == nil {
				// A chain read that failed is not a violation; the next tick tries again.
				w.t.Logf("conservation check could not run: %v", err)
			}
		}
	})
}

// requireLedgerTrue runs a last check and requires that every check held.
func (w *world) requireLedgerTrue() int {
	w.t.Helper()
	ran, err := w.checker.Check(w.ctx)
	require.NoError(w.t, err)
	require.True(w.t, ran, "the final conservation check could not run: some chain's asOf is behind its baseline")
	checks, violations, samples := w.checker.Results()
	require.Zero(w.t, violations, "ledger + chains at asOf != inventory in %d of %d checks, e.g. %v", violations, checks, samples)
	require.Positive(w.t, checks)
	return checks
}

// converged reports whether every intent emitted is completed and no chain and token is below
// its threshold; otherwise why not. An intent that ends rejected or needing attention fails the
// test at once.
//
// The planner moves money into deficits only: an excess (above max) is a source it drains as far
// as deficits need, not a target of its own. So "in band" is required from below; from above the
// test requires that no balance grew past its max or grew while above it (see requireNoNewExcess).
func (w *world) converged() (bool, string) {
	intents, last, _ := w.stream.snapshot()
	if len(intents) == 0 {
		return false, "no intent yet"
	}
	for id := range intents {
		u := last[id]
		if u == nil {
			return false, "intent " + id[:12] + " has no execution update"
		}
		switch u.State {
		case events.StateCompleted:
		case events.StateRejected, events.StateNeedsAttention:
			w.t.Fatalf("intent %s ended %s: %s (funds at %q)", id, u.State, u.Error, u.FundsAt)
		default:
			return false, fmt.Sprintf("intent %s is %s", id[:12], u.State)
		}
	}
	below, _, err := w.outOfBand()
	if err != nil {
		return false, err.Error()
	}
	if len(below) > 0 {
		return false, "below threshold: " + strings.Join(below, ", ")
	}
	return true, ""
}

// balances reads every target's balance at the chains' heads.
func (w *world) balances() (map[string]*big.Int, error) {
	out := map[string]*big.Int{}
	for _, tg := range w.cfg.Targets {
		bal, _, err := w.balance(tg.Chain, tg.Token)
		if err != nil {
			return nil, err
		}
		out[fmt.Sprintf("%d/%s", tg.Chain, tg.Token)] = bal
	}
	return out, nil
}

// outOfBand lists the chain/token pairs whose balance at the head is below threshold, and those
// above max.
func (w *world) outOfBand() (below, above []string, err error) {
	for _, tg := range w.cfg.Targets {
		bal, dec, err := w.balance(tg.Chain, tg.Token)
		if err != nil {
			return nil, nil, err
		}
		lo, _ := tg.Threshold.Units(dec)
		hi, _ := tg.Max.Units(dec)
		pair := fmt.Sprintf("%d/%s=%s", tg.Chain, tg.Token, human(bal, dec))
		switch {
		case bal.Cmp(lo) < 0:
			below = append(below, pair)
		case tg.Max.Set() && bal.Cmp(hi) > 0:
			above = append(above, pair)
		}
	}
	sort.Strings(below)
	sort.Strings(above)
	return below, above, nil
}

// requireNoOverfill requires that every pair that started below its threshold ends at most at
// its target: the planner refills a deficit up to its target, so a deficit filled twice (an
// intent decided again after a restart, say) shows as a balance above it.
func (w *world) requireNoOverfill(start map[string]*big.Int) {
	w.t.Helper()
	end, err := w.balances()
	require.NoError(w.t, err)
	for _, tg := range w.cfg.Targets {
		k := fmt.Sprintf("%d/%s", tg.Chain, tg.Token)
		tc, _ := w.cfg.TokenOn(tg.Token, tg.Chain)
		lo, _ := tg.Threshold.Units(tc.Decimals)
		target, _ := tg.Target.Units(tc.Decimals)
		if start[k].Cmp(lo) >= 0 {
			continue
		}
		require.True(w.t, end[k].Cmp(target) <= 0, "%s started in deficit (%s) and ends above its target (%s): refilled twice?",
			k, human(start[k], tc.Decimals), human(end[k], tc.Decimals))
	}
}

// requireNoNewExcess requires that no pair ends above its max unless it started there, and that
// none that started there grew.
func (w *world) requireNoNewExcess(start map[string]*big.Int) {
	w.t.Helper()
	end, err := w.balances()
	require.NoError(w.t, err)
	for _, tg := range w.cfg.Targets {
		k := fmt.Sprintf("%d/%s", tg.Chain, tg.Token)
		tc, _ := w.cfg.TokenOn(tg.Token, tg.Chain)
		hi, _ := tg.Max.Units(tc.Decimals)
		if !tg.Max.Set() || end[k].Cmp(hi) <= 0 {
			continue
		}
		require.True(w.t, start[k].Cmp(hi) > 0, "%s ends above max (%s) without starting there (%s)", k, human(end[k], tc.Decimals), human(start[k], tc.Decimals))
		require.True(w.t, end[k].Cmp(start[k]) <= 0, "%s above max grew from %s to %s", k, human(start[k], tc.Decimals), human(end[k], tc.Decimals))
	}
}

func (w *world) balance(chainID uint64, token string) (*big.Int, uint8, error) {
	tc, ok := w.cfg.TokenOn(token, chainID)
	if !ok {
		return nil, 0, fmt.Errorf("%s not configured on %d", token, chainID)
	}
	cl := w.clients[chainID]
	n, err := cl.HeadNumber(w.ctx)
	if err != nil {
		return nil, 0, err
	}
	addr := common.HexToAddress(tc.Address)
	snap, err := cl.SnapshotAt(w.ctx, n, []common.Address{addr}, []common.Address{w.account})
	if err != nil {
		return nil, 0, err
	}
	bal, ok := snap.Get(addr, w.account)
	if !ok {
		return nil, 0, fmt.Errorf("no balance of %s on %d", token, chainID)
	}
	return bal, tc.Decimals, nil
}

func human(x *big.Int, decimals uint8) string {
	return new(big.Rat).SetFrac(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)).FloatString(2)
}

// waitConverged waits until converged, logging progress now and then.
func (w *world) waitConverged(timeout time.Duration) {
	w.t.Helper()
	var why string
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		ok, reason := w.converged()
		if ok {
			return
		}
		why = reason
		for _, p := range []*proc{w.watcher, w.planner, w.executor} {
			if done, err := p.exited(); done {
				w.t.Fatalf("%s exited: %v", p.target, err)
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("not converged after %s: %s", timeout, why)
		}
		if time.Since(lastLog) > 15*time.Second {
			w.t.Logf("waiting: %s", why)
			lastLog = time.Now()
		}
		select {
		case <-w.ctx.Done():
			w.t.Fatal(w.ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// requireVenueExactlyOnce requires that the venue simulators' own records show, for every
// completed intent, one deposit, one order (none on a same-token route) and one withdrawal, and
// nothing else: the Binance simulator's here, the Hyperliquid simulator's in
// requireHyperliquidExactlyOnce.
func (w *world) requireVenueExactlyOnce() {
	w.t.Helper()
	intents, last, _ := w.stream.snapshot()
	sim := w.in.Binance
	orders, withdrawals, deposits := 0, 0, 0
	for id, in := range intents {
		u := last[id]
		require.NotNil(w.t, u)
		if in.Venue != events.VenueBinance {
			continue
		}
		if in.Route.SrcToken != in.Route.DstToken {
			cid := u.Refs["clientOrderId"]
			require.NotEmpty(w.t, cid, "intent %s: no clientOrderId in %v", id, u.Refs)
			require.Equal(w.t, 1, sim.Count(simbinance.ActionOrder, cid), "intent %s: orders with client id %s", id, cid)
			orders++
		}
		wid := u.Refs["withdrawOrderId"]
		require.NotEmpty(w.t, wid, "intent %s: no withdrawOrderId in %v", id, u.Refs)
		require.Equal(w.t, 1, sim.Count(simbinance.ActionWithdraw, wid), "intent %s: withdrawals with id %s", id, wid)
		withdrawals++
		tx := u.Refs["depositTx"]
		require.NotEmpty(w.t, tx, "intent %s: no depositTx in %v", id, u.Refs)
		n := 0
		for _, a := range sim.Actions() {
			if a.Kind == simbinance.ActionDepositSeen && strings.EqualFold(a.TxHash, tx) {
				n++
			}
		}
		require.Equal(w.t, 1, n, "intent %s: deposits seen for tx %s", id, tx)
		deposits++
	}
	require.Equal(w.t, orders, sim.Count(simbinance.ActionOrder, ""), "orders the simulator accepted")
	require.Equal(w.t, withdrawals, sim.Count(simbinance.ActionWithdraw, ""), "withdrawals the simulator accepted")
	require.Equal(w.t, deposits, sim.Count(simbinance.ActionDepositSeen, ""), "deposits the simulator saw")
	w.requireHyperliquidExactlyOnce()
}

// streamView folds the intents and execution updates of the stream.
type streamView struct {
	mu         sync.Mutex
	seq        uint64
	intents    map[string]*events.RebalanceIntent
	intentMsgs int
	last       map[string]*events.ExecutionUpdate
	updates    int
	states     map[events.State]int
}

func (s *streamView) follow(ctx context.Context, b *bus.Bus, every time.Duration) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := b.ReadRange(ctx, bus.Range{FromSeq: s.lastSeq() + 1, Subjects: []string{events.SubjectIntents + ".>", events.SubjectExecutions + ".>"}},
			func(m bus.Message) error { s.apply(m); return nil })
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("stream: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (s *streamView) lastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

func (s *streamView) apply(m bus.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.Seq <= s.seq {
		return
	}
	s.seq = m.Seq
	switch ev := m.Event.(type) {
	case *events.RebalanceIntent:
		s.intentMsgs++
		if _, ok := s.intents[ev.ID]; !ok {
			s.intents[ev.ID] = ev
		}
	case *events.ExecutionUpdate:
		s.updates++
		if s.states == nil {
			s.states = map[events.State]int{}
		}
		s.states[ev.State]++
		if u := s.last[ev.IntentID]; u == nil || ev.IntentVersion > u.IntentVersion {
			s.last[ev.IntentID] = ev
		}
	}
}

// snapshot copies what the stream said so far; seen counts every execution update per state.
func (s *streamView) snapshot() (intents map[string]*events.RebalanceIntent, last map[string]*events.ExecutionUpdate, seen map[events.State]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	intents, last, seen = map[string]*events.RebalanceIntent{}, map[string]*events.ExecutionUpdate{}, map[events.State]int{}
	for k, v := range s.intents {
		intents[k] = v
	}
	for k, v := range s.last {
		last[k] = v
	}
	for k, v := range s.states {
		seen[k] = v
	}
	return intents, last, seen
}

func (s *streamView) counts() (intentMsgs, updates int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.intentMsgs, s.updates
}

package executor

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// suspensions switches the Binance simulator's deposits and withdrawals off and on, for every coin
// on every network at once, and counts the switches.
type suspensions struct {
	sim   *simbinance.Sim
	pairs [][2]string // coin, network

	mu                    sync.Mutex
	deposits, withdrawals bool // suspended
	toggles               int
}

func newSuspensions(sim *simbinance.Sim) *suspensions {
	s := &suspensions{sim: sim}
	for _, coin := range []string{"USDC", "USDT"} {
		for _, id := range testChains {
			s.pairs = append(s.pairs, [2]string{coin, simbinance.NetworkNames[id]})
		}
	}
	return s
}

// set suspends (on) or resumes deposits and withdrawals; nil leaves a kind as it is.
func (s *suspensions) set(deposits, withdrawals *bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if deposits != nil && *deposits != s.deposits {
		for _, p := range s.pairs {
			s.sim.SuspendDeposits(p[0], p[1], *deposits)
		}
		s.deposits = *deposits
		s.toggles++
	}
	if withdrawals != nil && *withdrawals != s.withdrawals {
		for _, p := range s.pairs {
			s.sim.SuspendWithdrawals(p[0], p[1], *withdrawals)
		}
		s.withdrawals = *withdrawals
		s.toggles++
	}
}

func (s *suspensions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.toggles
}

// cycle runs the timer until ctx ends: deposits suspended for a phase, everything open for one,
// withdrawals suspended for one, everything open for one, and again. It leaves everything open.
func (s *suspensions) cycle(ctx context.Context, phase time.Duration) {
	on, off := true, false
	plan := []struct{ d, w *bool }{{&on, &off}, {&off, &off}, {&off, &on}, {&off, &off}}
	t := time.NewTicker(phase)
	defer t.Stop()
	for i := 0; ; i++ {
		p := plan[i%len(plan)]
		s.set(p.d, p.w)
		select {
		case <-ctx.Done():
			s.set(&off, &off)
			return
		case <-t.C:
		}
	}
}

// waitLog is every (intent, resumed state, wait) seen while an intent was waiting.
type waitLog struct {
	mu   sync.Mutex
	seen map[string]map[string]bool // intent id → "resume/wait"
}

func (l *waitLog) note(id string, r *Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]map[string]bool{}
	}
	if l.seen[id] == nil {
		l.seen[id] = map[string]bool{}
	}
	l.seen[id][string(r.Resume)+"/"+r.Wait] = true
}

// intents counts the intents that waited for wait, in resume when resume is not empty.
func (l *waitLog) intents(resume events.State, wait venue.Wait) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.seen {
		for k := range s {
			if (resume == "" || strings.HasPrefix(k, string(resume)+"/")) && strings.HasSuffix(k, "/"+string(wait)) {
				n++
				break
			}
		}
	}
	return n
}

// TestBinanceNATSAndRedisRestartsAndSuspensionsMidRun is TestNATSAndRedisRestartsMidRun on the
// real Binance adapter and the wire-level simulator, with the venue's suspensions added: NATS and
// Redis (AOF, SIGKILL) restart three times each while a fifth of the adapter's HTTP requests fail
// (503 before acting, dropped answers and 503 -1007 after acting, 429) and a timer switches the
// simulator's deposits and withdrawals off and on for every coin and network. The first
// suspension of each kind is also tripped by the intents' own progress (deposits when an intent is
// accepted, withdrawals when one has filled its order) until one is seen waiting for it, so the
// preflight's deposit_suspended wait and the withdraw step's withdraw_suspended wait happen for
// certain. Every intent completes, the simulator's own record shows exactly one order
// (cross-token) and one withdrawal per intent, the chains one deposit each, and conservation, the
// venue's unattributed balances included, holds after every recorded step that could be read.
func TestBinanceNATSAndRedisRestartsAndSuspensionsMidRun(t *testing.T) {
	began := time.Now()
	h := newHarness(t, withAOF(), withBinanceSim())
	h.feesFromLegs = true // the simulator's book decides amounts: fees are amountIn − the destination leg
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)
	h.wire.setRate(0.2)
	cfg := h.cfg
	cfg.ResubmitLag = 300 * time.Millisecond

	sus := newSuspensions(h.bsim)
	var waits waitLog
	var depositSeen, withdrawSeen atomic.Bool
	on := true
	var tally checkTally
	hook := func(in *instance, p string) error {
		switch p {
		case "accept:after-record":
			if !depositSeen.Load() {
				sus.set(&on, nil)
			}
		case "record:" + string(events.StateOrderFilled) + ":after":
			if !withdrawSeen.Load() {
				sus.set(nil, &on)
			}
		}
		if !strings.HasPrefix(p, "record:") || !strings.HasSuffix(p, ":after") {
			return nil
		}
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if p == "record:"+string(events.StateWaiting)+":after" {
			// The record just written stays as it is until this returns: its loop is here.
			if st, err := h.readLedgerState(cctx); err == nil {
				for id, r := range st.records {
					if r.State != events.StateWaiting {
						continue
					}
					waits.note(id, r)
					switch {
					case r.Wait == string(venue.WaitDepositSuspended):
						depositSeen.Store(true)
					case r.Wait == string(venue.WaitWithdrawSuspended) && r.Resume == events.StateOrderFilled:
						withdrawSeen.Store(true)
					}
				}
			}
		}
		tally.afterRecord(h, p)
		return nil
	}

	routes := []struct {
		src   uint64
		from  string
		dst   uint64
		to    string
		whole int64
	}{
		{simchain.Base, "USDC", simchain.BSC, "USDT", 1000},
		{simchain.BSC, "USDT", simchain.Base, "USDC", 800},
		{simchain.BSC, "USDT", simchain.Base, "USDT", 700},
	}
	in := h.start(cfg, hook)
	var ids []string
	for i := 0; i < 4; i++ {
		for j, r := range routes {
			it := h.intent(r.src, r.from, r.dst, r.to, r.whole+int64(10*i+j))
			h.publish(it)
			ids = append(ids, it.ID)
		}
	}
	cctx, stopCycle := context.WithCancel(ctx)
	cycled := make(chan struct{})
	go func() { sus.cycle(cctx, 700*time.Millisecond); close(cycled) }()

	c := &chaos{h: h}
	open := func() int {
		n := 0
		for _, id := range ids {
			if r, _, err := h.record(id); err != nil || !r.State.Terminal() {
				n++
			}
		}
		return n
	}
	var openAtRestart []int // intents not yet terminal when each restart began
	natsRestarts, redisRestarts := 0, 0
	tick := time.NewTicker(2 * time.Second) // spread over the run, which takes 15-30 s
	defer tick.Stop()
	deadline := time.Now().Add(3 * time.Minute)
	for !c.allTerminal(ids) {
		require.True(t, time.Now().Before(deadline), "intents not terminal in time")
		<-tick.C
		switch {
		case natsRestarts < 3 && natsRestarts <= redisRestarts:
			openAtRestart = append(openAtRestart, open())
			require.NoError(t, h.nats.Restart())
			natsRestarts++
		case redisRestarts < 3:
			openAtRestart = append(openAtRestart, open())
			rctx, rcancel := context.WithTimeout(context.Background(), 15*time.Second)
			require.NoError(t, h.redis.Server.Restart(rctx))
			rcancel()
			redisRestarts++
		}
	}
	stopCycle()
	<-cycled
	in.stop(t)

	duplicates := h.requireBinanceOutcome(ctx, ids)
	require.Eventually(t, func() bool { return h.conservation(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
	require.Zero(t, tally.violations.Load(), "%v", tally.firstErr.Load())
	require.Equal(t, 3, natsRestarts)
	require.Equal(t, 3, redisRestarts)
	for _, n := range openAtRestart {
		require.Positive(t, n, "every restart happened mid-run")
	}

	// Every suspension wait is also on the stream, as the intents' ExecutionUpdates.
	streamed := map[string]int{}
	for _, id := range ids {
		for _, u := range h.updates(id) {
			if u.State == events.StateWaiting && strings.HasSuffix(u.Error, "_suspended") {
				streamed[strings.TrimPrefix(u.Error, "waiting: ")]++
			}
		}
	}
	depWaited := waits.intents("", venue.WaitDepositSuspended)
	wdStepWaited := waits.intents(events.StateOrderFilled, venue.WaitWithdrawSuspended)
	wdWaited := waits.intents("", venue.WaitWithdrawSuspended)
	require.Positive(t, depWaited, "an intent's preflight waited deposit_suspended")
	require.Positive(t, wdStepWaited, "an intent's withdraw step waited withdraw_suspended")
	require.Positive(t, streamed[string(venue.WaitDepositSuspended)], "deposit_suspended waits published")
	require.Positive(t, streamed[string(venue.WaitWithdrawSuspended)], "withdraw_suspended waits published")
	suspended := 0
	waits.mu.Lock()
	for _, s := range waits.seen {
		for k := range s {
			if strings.HasSuffix(k, "_suspended") {
				suspended++
				break
			}
		}
	}
	waits.mu.Unlock()
	t.Logf("binance restarts and suspensions: intents %d completed; restarts nats %d, redis %d (intents open at each: %v); http faults %d of %d requests %v; suspension toggles %d; "+
		"intents that waited on a suspension %d (deposit_suspended %d, withdraw_suspended %d of which in the withdraw step %d; "+
		"waiting updates published: %v); invariant checks %d (venue-inclusive %d, re-read %d, unreadable %d); duplicates %d; violations %d; run time %s",
		len(ids), natsRestarts, redisRestarts, openAtRestart, h.wire.count(), h.wire.requests(), h.wire.kinds(), sus.count(), suspended, depWaited, wdWaited, wdStepWaited, streamed,
		tally.checks.Load(), h.venueChecks.Load(), h.retries.Load(), tally.unread.Load(), duplicates, tally.violations.Load(), time.Since(began).Round(time.Millisecond))
}

package executor

import (
	"bytes"
	"context"
	"encoding/hex"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// syncBuffer collects log lines from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (h *harness) control(verb events.Verb, scope string) {
	cmd := &events.ControlCommand{Verb: verb, Scope: scope, Reason: "test", Operator: "ops"}
	cmd.Meta = events.NewMeta(events.TypeControlCommand, randomID(), "", "ops", time.Now())
	h.publish(cmd)
}

func TestKillSwitchHaltsWithinASecondAndSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 50*time.Millisecond)
	in := h.start(h.cfg, nil)

	h.control(events.VerbKill, events.ScopeAll)
	start := time.Now()
	require.Eventually(t, func() bool { halted, why := in.e.control.Halted(testVenueName); return halted && why == "all:kill" },
		time.Second, 10*time.Millisecond)
	t.Logf("kill honoured after %s", time.Since(start))

	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	h.publish(it)
	require.Eventually(t, func() bool { _, _, err := h.record(it.ID); return err == nil }, 10*time.Second, 10*time.Millisecond,
		"intents are still accepted while killed: accepting is not a side effect")

	// Restart: the kill is read back from Redis, not forgotten.
	in.stop(t)
	in = h.start(h.cfg, nil)
	require.Eventually(t, func() bool { halted, why := in.e.control.Halted(testVenueName); return halted && why == "all:kill" },
		time.Second, 10*time.Millisecond)
	// The loop runs (it publishes the accepted version through the outbox) but signs nothing.
	require.Eventually(t, func() bool { return len(h.updates(it.ID)) > 0 }, 10*time.Second, 20*time.Millisecond)
	ts := &txStore{rdb: h.rdb, account: strings.ToLower(h.account.Hex())}
	require.Never(t, func() bool {
		_, signed, err := ts.LoadTx(ctx, it.ID+":deposit")
		return err != nil || signed
	}, 500*time.Millisecond, 20*time.Millisecond, "no deposit signed while killed")
	r, _, err := h.record(it.ID)
	require.NoError(t, err)
	require.Equal(t, events.StateAccepted, r.State)

	h.control(events.VerbUnkill, events.ScopeAll)
	recs := h.waitTerminal([]string{it.ID}, 30*time.Second)
	require.Equal(t, events.StateCompleted, recs[it.ID].State)
}

func TestPauseOneVenue(t *testing.T) {
	h := newHarness(t)
	in := h.start(h.cfg, nil)
	h.control(events.VerbPause, testVenueName)
	require.Eventually(t, func() bool {
		halted, why := in.e.control.Halted(testVenueName)
		return halted && why == "binance:pause"
	},
		time.Second, 10*time.Millisecond)
	halted, why := in.e.control.Halted(events.VenueHyperliquid)
	require.False(t, halted, "a pause covers its venue only (%s)", why)
	h.control(events.VerbResume, testVenueName)
	require.Eventually(t, func() bool { halted, _ := in.e.control.Halted(testVenueName); return !halted }, time.Second, 10*time.Millisecond)
}

func TestDryRunSendsNothing(t *testing.T) {
	h := newHarness(t)
	logs := &syncBuffer{}
	cfg := h.cfg
	cfg.DryRun = true
	h.startWith(cfg, zerolog.New(logs), nil)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	h.publish(it)
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "dry-run: would accept") }, 10*time.Second, 10*time.Millisecond)
	_, _, err := h.record(it.ID)
	require.Error(t, err, "no record written")
	require.Empty(t, h.legs(it.ID), "no legs written")
	require.Empty(t, h.updates(it.ID), "nothing published")
	require.Zero(t, h.venue.createdCount("order", it.ID))
}

func TestWithdrawalToNonAllowlistedAddressIsRefused(t *testing.T) {
	h := newHarness(t)
	e, err := New(h.cfg, h.deps(h.pub))
	require.NoError(t, err)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	it.Account = events.ChecksumAddress(simchain.DevAddress("attacker").Hex())
	rec := &Record{Intent: *it, State: events.StateOrderFilled, Legs: initialLegs(it)}
	rec.Order.Received = it.MinAmountOut
	// A lease that is not held: if the allowlist were not checked first, the attempt would fail
	// with ErrLeaseLost instead.
	l := newLease(h.rdb, it.Account, testVenueName, "r1", time.Second, time.Now, h.log)
	x := &stepEnv{e: e, s: scope{testVenueName, strings.ToLower(it.Account)}, l: l, log: h.log, base: rec, v: 1}
	next, err := e.stepWithdraw(context.Background(), x, h.venue, rec)
	require.NoError(t, err)
	require.Equal(t, events.StateNeedsAttention, next.State)
	require.Contains(t, next.Error, "not allowlisted")
	require.Contains(t, next.FundsAt, "spot")
	require.Zero(t, h.venue.createdCount("withdraw", it.ID), "the venue never saw a withdrawal")
	_, ok := e.allowlisted(h.account.Hex())
	require.True(t, ok, "the relayer's own account is allowed")
}

func TestNoSecretInLogs(t *testing.T) {
	h := newHarness(t)
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 50*time.Millisecond)
	h.venue.setFaultRate(0.2) // error paths log too
	h.startWith(h.cfg, zerolog.New(logs).Level(zerolog.DebugLevel), nil)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	h.publish(it)
	recs := h.waitTerminal([]string{it.ID}, 60*time.Second)
	require.Equal(t, events.StateCompleted, recs[it.ID].State)
	out := logs.String()
	require.Contains(t, out, it.ID, "the logs are there and name the intent")
	require.Contains(t, out, recs[it.ID].Deposit.TxHash, "and the tx hashes")
	secret := hex.EncodeToString(crypto.FromECDSA(h.key))
	require.NotContains(t, strings.ToLower(out), secret, "the private key never reaches a log line")
	require.NotContains(t, strings.ToLower(out), secret[:16], "nor a part of it")
}

func TestStepTimeoutEscalatesWithFundsLocated(t *testing.T) {
	h := newHarness(t)
	h.venue.holdDeposits.Store(true)
	cfg := h.cfg
	cfg.StepTimeout = map[events.State]time.Duration{events.StateDepositMined: 300 * time.Millisecond}
	h.start(cfg, nil)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	h.publish(it)
	recs := h.waitTerminal([]string{it.ID}, 30*time.Second)
	r := recs[it.ID]
	require.Equal(t, events.StateNeedsAttention, r.State)
	require.Contains(t, r.Error, "timed out in deposit_mined")
	require.Contains(t, r.FundsAt, "not yet credited")
	require.Contains(t, r.FundsAt, r.Deposit.TxHash)
	legs := h.legs(it.ID)
	require.Len(t, legs, 2, "funds in flight are never forgotten")
	for _, l := range legs {
		if l.Name == legSrc {
			require.Equal(t, r.Deposit.Block, l.UntilBlock)
		} else {
			require.Zero(t, l.UntilBlock)
			require.Equal(t, 0, l.Amount.Cmp(it.MinAmountOut.Big()))
		}
	}
	ups := h.updates(it.ID)
	last := ups[len(ups)-1]
	require.Equal(t, events.StateNeedsAttention, last.State)
	require.Equal(t, r.FundsAt, last.FundsAt)
	_ = big.NewInt
}

func TestExpiredBeforeDepositDropsLegs(t *testing.T) {
	h := newHarness(t)
	h.venue.mu.Lock()
	h.venue.suspended[simchain.BSC] = true // withdrawals to BSC suspended: preflight waits
	h.venue.mu.Unlock()
	cfg := h.cfg
	cfg.StepTimeout = map[events.State]time.Duration{events.StateAccepted: 300 * time.Millisecond}
	h.start(cfg, nil)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	h.publish(it)
	require.Eventually(t, func() bool {
		r, _, err := h.record(it.ID)
		return err == nil && r.State == events.StateWaiting && r.Wait == "withdraw_suspended"
	}, 10*time.Second, 10*time.Millisecond, "a known wait is a state")
	recs := h.waitTerminal([]string{it.ID}, 30*time.Second)
	r := recs[it.ID]
	require.Equal(t, events.StateRejected, r.State)
	require.Contains(t, r.FundsAt, "never left")
	require.Empty(t, h.legs(it.ID), "nothing left the account: the legs go")
}

// TestLandingAfterEscalationIsStillRecorded escalates an intent whose withdrawal the venue holds
// back, then lets the venue pay: the executor sends nothing more, but records the landing on the
// destination leg so the ledger and asOf stay exact.
func TestLandingAfterEscalationIsStillRecorded(t *testing.T) {
	h := newHarness(t)
	h.venue.lookupLag = 0
	h.venue.holdPayouts.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go h.watch(ctx, 30*time.Millisecond)
	cfg := h.cfg
	cfg.StepTimeout = map[events.State]time.Duration{events.StateWithdrawRequested: 300 * time.Millisecond}
	h.start(cfg, nil)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	h.publish(it)
	r := h.waitTerminal([]string{it.ID}, 30*time.Second)[it.ID]
	require.Equal(t, events.StateNeedsAttention, r.State)
	require.Contains(t, r.FundsAt, "requested, not sent")

	require.NoError(t, h.venue.releasePayouts(ctx))
	require.Eventually(t, func() bool {
		r, _, err := h.record(it.ID)
		return err == nil && r.leg(legDst).UntilBlock != 0
	}, 30*time.Second, 20*time.Millisecond, "the landing is recorded although the intent needs attention")
	r, _, err := h.record(it.ID)
	require.NoError(t, err)
	require.Equal(t, events.StateNeedsAttention, r.State)
	require.Equal(t, r.Withdraw.Block, r.leg(legDst).UntilBlock)
	require.Equal(t, it.MinAmountOut.String(), r.leg(legDst).Amount.String())
	require.Contains(t, r.FundsAt, "landed")
	require.Equal(t, 1, h.venue.createdCount("withdraw", it.ID))
	require.Eventually(t, func() bool {
		v, err := pending.NewReader(h.rdb).Read(ctx, h.account.Hex(), nil)
		return err == nil && v.Chains[simchain.BSC].AsOf >= r.Withdraw.Block
	}, 20*time.Second, 20*time.Millisecond, "asOf passes the landing once it is recorded")
	require.NoError(t, h.conservation(ctx))
}

func TestPreflightWaitsForTheChainBalance(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg
	cfg.MaxPerIntent = "100000000"
	cfg.MaxPerDay = map[string]string{testVenueName: "100000000"}
	h.start(cfg, nil)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 2*initialTokens) // more than the account holds
	h.publish(it)
	require.Eventually(t, func() bool {
		r, _, err := h.record(it.ID)
		return err == nil && r.State == events.StateWaiting && r.Wait == "insufficient_chain_balance"
	}, 10*time.Second, 10*time.Millisecond)
	_, signed, err := (&txStore{rdb: h.rdb, account: strings.ToLower(h.account.Hex())}).LoadTx(context.Background(), it.ID+":deposit")
	require.NoError(t, err)
	require.False(t, signed, "nothing is signed for funds the account does not have")
}

func TestNoTimeoutWhileKilled(t *testing.T) {
	h := newHarness(t)
	h.venue.holdDeposits.Store(true)
	cfg := h.cfg
	cfg.StepTimeout = map[events.State]time.Duration{events.StateDepositMined: 300 * time.Millisecond}
	in := h.start(cfg, nil)
	it := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	h.publish(it)
	require.Eventually(t, func() bool {
		r, _, err := h.record(it.ID)
		return err == nil && r.State == events.StateDepositMined
	}, 10*time.Second, 10*time.Millisecond)
	h.control(events.VerbKill, events.ScopeAll)
	require.Eventually(t, func() bool { halted, why := in.e.control.Halted(testVenueName); return halted && why == "all:kill" },
		time.Second, 10*time.Millisecond)
	require.Never(t, func() bool {
		r, _, err := h.record(it.ID)
		return err != nil || r.State != events.StateDepositMined
	}, time.Second, 20*time.Millisecond, "an operator's kill does not strand the intent in needs_attention")
	h.venue.holdDeposits.Store(false)
	h.control(events.VerbUnkill, events.ScopeAll)
	require.Equal(t, events.StateCompleted, h.waitTerminal([]string{it.ID}, 30*time.Second)[it.ID].State)
}

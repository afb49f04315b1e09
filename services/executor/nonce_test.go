package executor

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// startAt runs an executor instance whose clock is now (startWith's, with Deps.Now set).
func (h *harness) startAt(cfg Config, now func() time.Time, fault func(in *instance, point string) error) *instance {
	h.t.Helper()
	in := &instance{done: make(chan struct{})}
	in.bus = h.connect("executor")
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	d := h.deps(in.bus)
	d.Now = now
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

// TestUnsentDepositIsRebroadcastAfterEscalation: a deposit is signed and recorded, the process dies
// before broadcasting it, and the intent's step times out before any replica looks again, so it
// escalates to needs_attention with the deposit never sent. Its nonce is taken: unless the
// recorded bytes keep being broadcast, every later transaction of the account on that chain waits
// behind it forever. A later intent on the same chain must still complete, the first deposit must
// be mined (the same bytes), and its block recorded on the first intent's source leg.
func TestUnsentDepositIsRebroadcastAfterEscalation(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ts := &txStore{rdb: h.rdb, account: strings.ToLower(h.account.Hex())}

	in1 := h.startAt(h.cfg, now, func(in *instance, point string) error {
		if point == "effect:sign-deposit:after" {
			return in.kill()
		}
		return nil
	})
	a := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 500)
	h.publish(a)
	select {
	case <-in1.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the first instance was not killed after signing")
	}
	depA, ok, err := ts.LoadTx(ctx, a.ID+":deposit")
	require.NoError(t, err)
	require.True(t, ok, "the deposit is recorded")
	_, err = h.clients[simchain.Base].Receipt(ctx, depA.Hash)
	require.ErrorIs(t, err, chain.ErrNotFound, "and was never broadcast")
	r, _, err := h.record(a.ID)
	require.NoError(t, err)
	require.Equal(t, events.StateAccepted, r.State)

	// The next replica starts after the accepted state's deadline.
	offset.Store(int64(h.cfg.DefaultStepTimeout + time.Minute))
	h.startAt(h.cfg, now, nil)
	b := h.intent(simchain.Base, "USDC", simchain.BSC, "USDT", 400)
	h.publish(b)
	recs := h.waitTerminal([]string{a.ID, b.ID}, 45*time.Second)
	require.Equal(t, events.StateNeedsAttention, recs[a.ID].State)
	require.Contains(t, recs[a.ID].Error, "timed out in accepted")
	require.Equal(t, events.StateCompleted, recs[b.ID].State, "%s (funds at %s)", recs[b.ID].Error, recs[b.ID].FundsAt)

	depB, ok, err := ts.LoadTx(ctx, b.ID+":deposit")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, depA.Nonce+1, depB.Nonce, "the later deposit queued behind the first")
	rcptA, err := h.clients[simchain.Base].Receipt(ctx, depA.Hash)
	require.NoError(t, err, "the first deposit was rebroadcast and mined: the same bytes")
	require.Eventually(t, func() bool {
		r, _, err := h.record(a.ID)
		return err == nil && r.leg(legSrc) != nil && r.leg(legSrc).UntilBlock == rcptA.BlockNumber.Uint64()
	}, 10*time.Second, 20*time.Millisecond, "the mined deposit is recorded on the escalated intent's debit")
	r, _, err = h.record(a.ID)
	require.NoError(t, err)
	require.Equal(t, events.StateNeedsAttention, r.State, "still for an operator")
	require.Len(t, r.Legs, 2, "funds in flight are never forgotten")
	ts2, err := h.clients[simchain.Base].Transfers(ctx, chain.TransferFilter{FromBlock: 0, ToBlock: h.chains[simchain.Base].Head(),
		From: []common.Address{h.account}, To: []common.Address{h.venue.deposit}})
	require.NoError(t, err)
	require.Len(t, ts2, 2, "one deposit per intent, none signed twice")
}

// TestApproveOnlyEscalationWaitsForTheApprove: a Hyperliquid intent that times out with only its
// approve signed moved nothing, but its approve holds a nonce. It is rejected only once the approve
// is mined (rebroadcast meanwhile, the same bytes), never while it could still hold up the
// account's later transactions; and while the venue is halted, not even the approve is sent.
func TestApproveOnlyEscalationWaitsForTheApprove(t *testing.T) {
	h, w := newHLHarness(t)
	ctx := context.Background()
	s := newHLStepper(t, h, w.venue)
	it := h.hlIntent(simchain.HyperEVM, "USDC", simchain.HyperEVM, "USDT", 80)
	a := &Record{Intent: *it, State: events.StateAccepted, Legs: initialLegs(it), EnteredAt: time.Now(), Deadline: time.Now().Add(time.Hour)}
	s.put(a)
	_, ra := s.step(a.Intent.ID)
	require.Equal(t, events.StateDepositSigned, ra.State)
	require.NotEmpty(t, ra.Deposit.ApproveTx)
	require.Empty(t, ra.Deposit.TxHash)
	approve := common.HexToHash(ra.Deposit.ApproveTx)
	evm := h.clients[simchain.HyperEVM]

	kill := &events.ControlCommand{Verb: events.VerbKill, Scope: events.ScopeAll}
	require.NoError(t, s.e.control.apply(ctx, kill, 1))
	sends := h.chains[simchain.HyperEVM].Faults().Calls("eth_sendRawTransaction")
	n, err := s.e.escalate(ctx, ra, "timed out")
	require.NoError(t, err)
	require.Equal(t, events.StateWaiting, n.State, "not rejected while the approve is unmined")
	require.Equal(t, waitApproveUnmined, n.Wait)
	require.Len(t, n.Legs, 2)
	require.Equal(t, sends, h.chains[simchain.HyperEVM].Faults().Calls("eth_sendRawTransaction"), "nothing is sent while halted")
	_, err = evm.Receipt(ctx, approve)
	require.ErrorIs(t, err, chain.ErrNotFound)

	unkill := &events.ControlCommand{Verb: events.VerbUnkill, Scope: events.ScopeAll}
	require.NoError(t, s.e.control.apply(ctx, unkill, 2))
	n, err = s.e.escalate(ctx, ra, "timed out")
	require.NoError(t, err)
	require.Equal(t, events.StateRejected, n.State)
	require.Empty(t, n.Legs)
	require.Contains(t, n.FundsAt, "never left the account")
	rcpt, err := evm.Receipt(ctx, approve)
	require.NoError(t, err, "the approve was sent (the recorded bytes) and mined before the intent was dropped")
	_, signed, err := (&txStore{rdb: h.rdb, account: h0(h)}).LoadTx(ctx, a.depositStepKey())
	require.NoError(t, err)
	require.False(t, signed, "and no deposit was signed")
	require.NotZero(t, rcpt.BlockNumber.Uint64())
}

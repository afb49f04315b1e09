package pending_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

func TestAcceptIsAtomicAndIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	legs := []pending.Leg{leg("src", 56, "USDT", -1000, 18, 0), leg("dst", 42161, "USDC", 990, 6, 0)}

	created, err := e.w.Accept(ctx, e.account, "i1", []byte("rec-1"), legs)
	require.NoError(t, err)
	require.True(t, created)

	rec, v, err := e.w.Intent(ctx, e.account, "i1")
	require.NoError(t, err)
	require.Equal(t, []byte("rec-1"), rec)
	require.Equal(t, uint64(1), v)

	view, err := e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.Len(t, view.Legs(), 2)
	require.Equal(t, "-1000", amount(t, view, 56, "USDT"))
	require.Equal(t, "990", amount(t, view, 42161, "USDC"))
	require.Equal(t, time.UnixMilli(1764000000000).UTC(), view.Legs()[0].UpdatedAt, "the writer's clock stamps updatedAt")

	// A replay with other legs and another record writes nothing.
	created, err = e.w.Accept(ctx, e.account, "i1", []byte("rec-2"), []pending.Leg{leg("src", 56, "USDT", -5, 18, 0)})
	require.NoError(t, err)
	require.False(t, created)
	rec, v, err = e.w.Intent(ctx, e.account, "i1")
	require.NoError(t, err)
	require.Equal(t, []byte("rec-1"), rec)
	require.Equal(t, uint64(1), v)
	again, err := e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.Equal(t, view.Legs(), again.Legs())
}

func TestAcceptRejectsInvalidInputAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	good := leg("src", 56, "USDT", -1, 18, 0)
	other := good
	other.IntentID = "someone-else"
	noAmount := good
	noAmount.Amount = nil
	bigChain := good
	bigChain.ChainID = pending.MaxSafeInteger + 1
	cases := []struct {
		name    string
		account string
		intent  string
		legs    []pending.Leg
	}{
		{"bad account", "0x1234", "i1", []pending.Leg{good}},
		{"bad intent id", e.account, "i 1", []pending.Leg{good}},
		{"no legs", e.account, "i1", nil},
		{"leg of another intent", e.account, "i1", []pending.Leg{other}},
		{"nil amount", e.account, "i1", []pending.Leg{noAmount}},
		{"chain past 2^53-1", e.account, "i1", []pending.Leg{bigChain}},
		{"duplicate leg", e.account, "i1", []pending.Leg{good, good}},
		{"colon in leg name", e.account, "i1", []pending.Leg{leg("a:b", 56, "USDT", 1, 18, 0)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.w.Accept(ctx, tc.account, tc.intent, nil, tc.legs)
			require.ErrorIs(t, err, pending.ErrInvalid)
		})
	}
	_, _, err := e.w.Intent(ctx, e.account, "i1")
	require.ErrorIs(t, err, pending.ErrNotFound)
	n, err := e.rdb.Exists(ctx, mustKey(t, e.account)).Result()
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestUpdateCompareAndSet(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.w.Accept(ctx, e.account, "i1", []byte("accepted"),
		[]pending.Leg{leg("src", 56, "USDT", -1000, 18, 0), leg("dst", 42161, "USDC", 990, 6, 0)})
	require.NoError(t, err)

	e.clock.Advance(time.Second)
	v, err := e.w.Update(ctx, e.account, "i1", 1, []byte("deposit_mined"),
		[]pending.LegUpdate{pending.SetLeg(leg("src", 56, "USDT", -1000, 18, 500))})
	require.NoError(t, err)
	require.Equal(t, uint64(2), v)

	// A stale writer loses and changes nothing.
	_, err = e.w.Update(ctx, e.account, "i1", 1, []byte("stale"),
		[]pending.LegUpdate{pending.DropLeg("dst")})
	require.ErrorIs(t, err, pending.ErrVersionConflict)
	var conflict *pending.VersionConflictError
	require.True(t, errors.As(err, &conflict))
	require.Equal(t, uint64(1), conflict.Expected)
	require.Equal(t, uint64(2), conflict.Current)

	rec, ver, err := e.w.Intent(ctx, e.account, "i1")
	require.NoError(t, err)
	require.Equal(t, "deposit_mined", string(rec))
	require.Equal(t, uint64(2), ver)

	view, err := e.r.Read(ctx, e.account, map[uint64]uint64{56: 499})
	require.NoError(t, err)
	require.Equal(t, "-1000", amount(t, view, 56, "USDT"), "block 499 < untilBlock 500: the debit counts")
	require.Equal(t, "990", amount(t, view, 42161, "USDC"))
	src := view.Legs()[1]
	require.Equal(t, "src", src.Name)
	require.Equal(t, time.UnixMilli(1764000001000).UTC(), src.UpdatedAt)

	// A nil record keeps the record; the realized amount replaces the estimate; a leg is dropped.
	v, err = e.w.Update(ctx, e.account, "i1", 2, nil, []pending.LegUpdate{
		pending.SetLeg(leg("dst", 42161, "USDC", 985, 6, 0)),
		pending.DropLeg("src"),
	})
	require.NoError(t, err)
	require.Equal(t, uint64(3), v)
	rec, _, err = e.w.Intent(ctx, e.account, "i1")
	require.NoError(t, err)
	require.Equal(t, "deposit_mined", string(rec))
	view, err = e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.Len(t, view.Legs(), 1)
	require.Equal(t, "985", amount(t, view, 42161, "USDC"))

	_, err = e.w.Update(ctx, e.account, "missing", 1, nil, nil)
	require.ErrorIs(t, err, pending.ErrNotFound)
	_, err = e.w.Update(ctx, e.account, "i1", 3, nil, []pending.LegUpdate{pending.DropLeg("x"), pending.DropLeg("x")})
	require.ErrorIs(t, err, pending.ErrInvalid)
}

func TestUpdateRacesHaveOneWinner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.w.Accept(ctx, e.account, "i1", nil, []pending.Leg{leg("src", 56, "USDT", -1, 18, 0)})
	require.NoError(t, err)
	const writers = 8
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			_, err := e.w.Update(ctx, e.account, "i1", 1, []byte{byte(i)}, nil)
			errs <- err
		}()
	}
	wins := 0
	for range writers {
		err := <-errs
		if err == nil {
			wins++
			continue
		}
		require.ErrorIs(t, err, pending.ErrVersionConflict)
	}
	require.Equal(t, 1, wins)
}

func TestAdvanceAsOfIsMonotonic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	steps := []struct{ to, want uint64 }{
		{100, 100}, {99, 100}, {100, 100}, {101, 101}, {9, 101}, {1000, 1000}, {999, 1000},
		{pending.MaxSafeInteger, pending.MaxSafeInteger}, {1 << 40, pending.MaxSafeInteger},
	}
	for _, s := range steps {
		got, err := e.w.AdvanceAsOf(ctx, e.account, 56, s.to)
		require.NoError(t, err)
		require.Equal(t, s.want, got, "advance to %d", s.to)
		view, err := e.r.Read(ctx, e.account, nil)
		require.NoError(t, err)
		require.Equal(t, s.want, view.Chains[56].AsOf)
	}
	_, err := e.w.AdvanceAsOf(ctx, e.account, 56, pending.MaxSafeInteger+1)
	require.ErrorIs(t, err, pending.ErrInvalid)
	_, err = e.w.AdvanceAsOf(ctx, e.account, 0, 1)
	require.ErrorIs(t, err, pending.ErrInvalid)
}

// TestRewindAsOf: a rewind lowers asOf (never raises it, never creates it), counts itself, and
// refuses an advance checked before it; the reader is then ahead past the rewound asOf and trusts
// no untilBlock past it.
func TestRewindAsOf(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	// A chain without asOf keeps none; the rewind still counts.
	asOf, n, err := e.w.RewindAsOf(ctx, e.account, 1, 5)
	require.NoError(t, err)
	require.Equal(t, [2]uint64{0, 1}, [2]uint64{asOf, n})
	view, err := e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.NotContains(t, view.Chains, uint64(1), "no asOf field was created")

	_, err = e.w.Accept(ctx, e.account, "i1", []byte("r"), []pending.Leg{leg("src", 56, "USDT", -1000, 18, 1005)})
	require.NoError(t, err)
	before, err := e.w.Rewinds(ctx, e.account, 56)
	require.NoError(t, err)
	require.Zero(t, before)
	_, err = e.w.AdvanceAsOfSince(ctx, e.account, 56, before, 1010)
	require.NoError(t, err)

	for _, s := range []struct{ to, want, count uint64 }{
		{1000, 1000, 1}, {1004, 1000, 2}, {1000, 1000, 3}, {999, 999, 4}, {99, 99, 5}, {1000, 99, 6},
	} {
		asOf, n, err := e.w.RewindAsOf(ctx, e.account, 56, s.to)
		require.NoError(t, err)
		require.Equal(t, s.want, asOf, "rewind to %d", s.to)
		require.Equal(t, s.count, n)
		view, err := e.r.Read(ctx, e.account, nil)
		require.NoError(t, err)
		require.Equal(t, s.want, view.Chains[56].AsOf)
	}
	got, err := e.w.Rewinds(ctx, e.account, 56)
	require.NoError(t, err)
	require.Equal(t, uint64(6), got)

	// The leg's block 1005 is past asOf 99 now: at asOf it counts; ahead it is an unconfirmed
	// debit and counts too, even at 1006, where a reader trusting the block would drop it.
	for _, b := range []uint64{99, 1004, 1006} {
		view, err := e.r.Read(ctx, e.account, map[uint64]uint64{56: b})
		require.NoError(t, err)
		require.Equal(t, "-1000", view.Chains[56].Tokens["USDT"].Amount.String(), "block %d", b)
	}

	// An advance checked before a rewind is refused and writes nothing; one checked after passes.
	_, err = e.w.AdvanceAsOfSince(ctx, e.account, 56, before, 2000)
	require.ErrorIs(t, err, pending.ErrRewound)
	view, err = e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.Equal(t, uint64(99), view.Chains[56].AsOf)
	asOf, err = e.w.AdvanceAsOfSince(ctx, e.account, 56, got, 2000)
	require.NoError(t, err)
	require.Equal(t, uint64(2000), asOf)
	asOf, err = e.w.AdvanceAsOfSince(ctx, e.account, 56, got, 1500)
	require.NoError(t, err)
	require.Equal(t, uint64(2000), asOf, "still monotonic")

	_, _, err = e.w.RewindAsOf(ctx, e.account, 0, 1)
	require.ErrorIs(t, err, pending.ErrInvalid)
	_, err = e.w.AdvanceAsOfSince(ctx, e.account, 56, got, pending.MaxSafeInteger+1)
	require.ErrorIs(t, err, pending.ErrInvalid)
}

func TestGCRemovesOnlyPassedLegsAfterRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.w.Accept(ctx, e.account, "i1", []byte("r"), []pending.Leg{
		leg("src", 56, "USDT", -1000, 18, 0), leg("dst", 1, "USDC", 990, 6, 0)})
	require.NoError(t, err)
	_, err = e.w.Accept(ctx, e.account, "i2", []byte("r"), []pending.Leg{leg("src", 56, "USDT", -7, 18, 0)})
	require.NoError(t, err)
	policy := pending.GCPolicy{Retention: time.Hour, RecordTTL: 24 * time.Hour}

	_, err = e.w.Update(ctx, e.account, "i1", 1, nil, []pending.LegUpdate{pending.SetLeg(leg("src", 56, "USDT", -1000, 18, 500))})
	require.NoError(t, err)
	_, err = e.w.AdvanceAsOf(ctx, e.account, 56, 499)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Hour)
	n, err := e.w.GC(ctx, e.account, "i1", policy)
	require.NoError(t, err)
	require.Zero(t, n, "asOf 499 has not passed untilBlock 500")

	_, err = e.w.AdvanceAsOf(ctx, e.account, 56, 500)
	require.NoError(t, err)
	n, err = e.w.GC(ctx, e.account, "i1", pending.GCPolicy{Retention: 3 * time.Hour})
	require.NoError(t, err)
	require.Zero(t, n, "still within retention")

	n, err = e.w.GC(ctx, e.account, "i1", policy)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the settled debit goes; the open credit stays")
	view, err := e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.Len(t, view.Legs(), 2)
	ttl, err := e.rdb.PTTL(ctx, mustIntentKey(t, e.account, "i1")).Result()
	require.NoError(t, err)
	require.Less(t, ttl, time.Duration(0), "the record keeps no TTL while a leg is left")

	v, err := e.w.Update(ctx, e.account, "i1", 2, nil, []pending.LegUpdate{pending.SetLeg(leg("dst", 1, "USDC", 985, 6, 77))})
	require.NoError(t, err)
	_, err = e.w.AdvanceAsOf(ctx, e.account, 1, 80)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Hour)
	n, err = e.w.GC(ctx, e.account, "i1", policy)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	ttl, err = e.rdb.PTTL(ctx, mustIntentKey(t, e.account, "i1")).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 23*time.Hour, "the record expires once its last leg is gone")
	_, ver, err := e.w.Intent(ctx, e.account, "i1")
	require.NoError(t, err)
	require.Equal(t, v, ver)

	view, err = e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.Len(t, view.Legs(), 1)
	require.Equal(t, "i2", view.Legs()[0].IntentID, "another intent's open leg is never touched")
	require.Equal(t, "-7", amount(t, view, 56, "USDT"))
}

func TestReaderFailsOnMalformedLedger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.w.Accept(ctx, e.account, "i1", nil, []pending.Leg{leg("src", 56, "USDT", -1, 18, 0)})
	require.NoError(t, err)
	cases := []struct{ field, value string }{
		{"asof:56", "12x"},
		{"asof:x", "12"},
		{"i1:dst", `{"chainId":56}`},
		{"i9:dst", `{"chainId":56,"token":"USDT","amount":"5","decimals":6,"untilBlock":0,"intentId":"i9","state":"realized","updatedAt":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.field+"="+tc.value, func(t *testing.T) {
			require.NoError(t, e.rdb.HSet(ctx, mustKey(t, e.account), tc.field, tc.value).Err())
			t.Cleanup(func() { require.NoError(t, e.rdb.HDel(ctx, mustKey(t, e.account), tc.field).Err()) })
			_, err := e.r.Read(ctx, e.account, nil)
			require.ErrorIs(t, err, pending.ErrMalformed)
		})
	}
	_, err = e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
}

func TestAmountsBeyond64Bits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	l := leg("src", 56, "USDT", 0, 18, 0)
	l.Amount = huge
	_, err := e.w.Accept(ctx, e.account, "i1", nil, []pending.Leg{l, leg("fee", 56, "USDT", -1, 18, 0)})
	require.NoError(t, err)
	view, err := e.r.Read(ctx, e.account, nil)
	require.NoError(t, err)
	require.Equal(t, "-123456789012345678901234567891", amount(t, view, 56, "USDT"))
}

func mustKey(t *testing.T, account string) string {
	t.Helper()
	k, err := pending.LedgerKey(account)
	require.NoError(t, err)
	return k
}

func mustIntentKey(t *testing.T, account, id string) string {
	t.Helper()
	k, err := pending.IntentKey(account, id)
	require.NoError(t, err)
	return k
}

func TestGCKeepsALegWhoseBlockARewindUnpassed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.w.Accept(ctx, e.account, "i1", []byte("r"), []pending.Leg{leg("src", 56, "USDT", -1000, 18, 500)})
	require.NoError(t, err)
	_, err = e.w.AdvanceAsOf(ctx, e.account, 56, 510)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Hour)
	policy := pending.GCPolicy{Retention: time.Hour, RecordTTL: 24 * time.Hour}

	// A reorg rewinds asOf below the leg's block after GC read the ledger and before it removes:
	// the leg's block is no longer known to be passed, so it must stay.
	pending.SetBeforeGC(e.w, func() {
		_, _, err := e.w.RewindAsOf(ctx, e.account, 56, 499)
		require.NoError(t, err)
	})
	n, err := e.w.GC(ctx, e.account, "i1", policy)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, "-1000", amount(t, mustRead(t, e), 56, "USDT"))
	ttl, err := e.rdb.PTTL(ctx, mustIntentKey(t, e.account, "i1")).Result()
	require.NoError(t, err)
	require.Less(t, ttl, time.Duration(0), "a record whose leg stayed does not expire")

	// Once asOf passes the block again, the leg goes.
	pending.SetBeforeGC(e.w, nil)
	rewinds, err := e.w.Rewinds(ctx, e.account, 56)
	require.NoError(t, err)
	_, err = e.w.AdvanceAsOfSince(ctx, e.account, 56, rewinds, 505)
	require.NoError(t, err)
	n, err = e.w.GC(ctx, e.account, "i1", policy)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func mustRead(t *testing.T, e *env) pending.View {
	t.Helper()
	v, err := e.r.Read(context.Background(), e.account, nil)
	require.NoError(t, err)
	return v
}

package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func TestPublishDeduplicatesByID(t *testing.T) {
	b := newTestBus(t, nil, "test")
	ctx := ctxTimeout(t, 10*time.Second)

	first, err := b.Publish(ctx, watermark(1))
	require.NoError(t, err)
	require.False(t, first.Duplicate)
	require.NotZero(t, first.Seq)

	other, err := b.Publish(ctx, watermark(2))
	require.NoError(t, err)
	require.False(t, other.Duplicate)
	require.Equal(t, first.Seq+1, other.Seq)

	// Same fact again (same MsgID), even with another producer time: stored once.
	again := watermark(1)
	again.ProducedAt = again.ProducedAt.Add(time.Hour)
	dup, err := b.Publish(ctx, again)
	require.NoError(t, err)
	require.True(t, dup.Duplicate)
	require.Equal(t, first.Seq, dup.Seq, "a duplicate reports the sequence of the stored copy")

	msgs := readAll(t, b.Bus, Range{})
	require.Len(t, msgs, 2)
	require.Equal(t, "wm:"+testAccount+":1:1", msgs[0].MsgID)
	require.Equal(t, events.TypeLedgerWatermark, msgs[0].Headers.Get(events.HeaderType))
	require.Equal(t, "1", msgs[0].Headers.Get(events.HeaderVersion))
	require.Equal(t, "test", msgs[0].Headers.Get(events.HeaderProducer))

	require.Equal(t, 2.0, value(t, b.m.published.WithLabelValues("ledger")))
	require.Equal(t, 1.0, value(t, b.m.duplicates.WithLabelValues("ledger")))
}

func TestPublishCarriesCausation(t *testing.T) {
	b := newTestBus(t, nil, "test")
	ctx := ctxTimeout(t, 10*time.Second)
	ev := watermark(7)
	ev.CausationID = "snap-7"
	_, err := b.Publish(ctx, ev)
	require.NoError(t, err)
	msgs := readAll(t, b.Bus, Range{})
	require.Len(t, msgs, 1)
	require.Equal(t, "snap-7", msgs[0].Headers.Get(events.HeaderCausation))
	got, ok := msgs[0].Event.(*events.LedgerWatermark)
	require.True(t, ok)
	require.Equal(t, uint64(7), got.AsOf)
}

func TestPublishRejectsInvalidEvent(t *testing.T) {
	b := newTestBus(t, nil, "test")
	ctx := ctxTimeout(t, 10*time.Second)
	bad := watermark(1)
	bad.Account = "0xnot-an-address"
	_, err := b.Publish(ctx, bad)
	require.ErrorIs(t, err, events.ErrInvalid)

	_, err = b.PublishBatch(ctx, []events.Event{watermark(2), bad})
	require.ErrorIs(t, err, events.ErrInvalid)
	require.Empty(t, readAll(t, b.Bus, Range{}), "nothing of a batch with an invalid event is published")
}

func TestPublishBatch(t *testing.T) {
	b := newTestBus(t, nil, "test")
	ctx := ctxTimeout(t, 30*time.Second)
	const n = 5000 // above nats.go's 4000 pending acks, so the stall path runs
	evs := make([]events.Event, 0, n+1)
	for i := range n {
		evs = append(evs, watermark(uint64(i+1)))
	}
	evs = append(evs, watermark(1)) // a duplicate inside the batch
	res, err := b.PublishBatch(ctx, evs)
	require.NoError(t, err)
	require.Len(t, res, n+1)
	for i := range n {
		require.Equal(t, uint64(i+1), res[i].Seq, "stored in order")
		require.False(t, res[i].Duplicate)
	}
	require.True(t, res[n].Duplicate)
	require.Equal(t, uint64(1), res[n].Seq)
}

func TestPublishAfterClose(t *testing.T) {
	b := newTestBus(t, nil, "test")
	ctx := ctxTimeout(t, 10*time.Second)
	require.NoError(t, b.Close(ctx))
	_, err := b.Publish(ctx, watermark(1))
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, b.Close(ctx), "closing twice is fine")
}

package bus

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// The DLQ subjects are in the REBAL stream, so a dead letter that kept the original Nats-Msg-Id
// would be swallowed as a duplicate of the original. This is why the bus gives dead letters their
// own id and carries the original in HeaderDLQMsgID.
func TestDeadLetterIDs(t *testing.T) {
	b := newTestBus(t, nil, "planner")
	_, js := rawJS(t, b.srv.URL())
	ctx := ctxTimeout(t, 10*time.Second)
	orig, err := b.Publish(ctx, watermark(1))
	require.NoError(t, err)
	src := readAll(t, b.Bus, Range{})[0]

	t.Run("reusing the original id loses the dead letter", func(t *testing.T) {
		m := nats.NewMsg(DLQSubject("other"))
		m.Header.Set(jetstream.MsgIDHeader, src.MsgID)
		ack, err := js.PublishMsg(ctx, m)
		require.NoError(t, err)
		require.True(t, ack.Duplicate)
		require.Equal(t, orig.Seq, ack.Sequence)
	})

	t.Run("a message rejected twice lands once", func(t *testing.T) {
		first, err := b.deadLetter(ctx, "planner", src, "bad")
		require.NoError(t, err)
		require.False(t, first.Duplicate)
		second, err := b.deadLetter(ctx, "planner", src, "bad again, from another replica")
		require.NoError(t, err)
		require.True(t, second.Duplicate)
		require.Equal(t, first.Seq, second.Seq)

		dls := deadLetters(t, b.Bus, "planner")
		require.Len(t, dls, 1)
		require.Equal(t, "bad", dls[0].Reason)
		require.Equal(t, src.MsgID, dls[0].CausationID)
		require.Equal(t, src.Data, dls[0].Data)
		require.Equal(t, events.TypeLedgerWatermark, dls[0].OrigType)
		require.Equal(t, 1, dls[0].OrigVersion)
	})

	t.Run("another service's rejection is its own dead letter", func(t *testing.T) {
		res, err := b.deadLetter(ctx, "executor", src, "bad")
		require.NoError(t, err)
		require.False(t, res.Duplicate)
		require.Len(t, deadLetters(t, b.Bus, "executor"), 1)
	})

	t.Run("a dead letter in its JSON form decodes as an event", func(t *testing.T) {
		dl, err := DeadLetterOf(readAll(t, b.Bus, Range{Subjects: []string{DLQSubject("planner")}})[0])
		require.NoError(t, err)
		dl.Service = "tool"
		dl.ID = "refiled-1"
		_, err = b.Publish(ctx, dl)
		require.NoError(t, err)
		got := deadLetters(t, b.Bus, "tool")
		require.Len(t, got, 1)
		require.Equal(t, dl.Data, got[0].Data)
		require.Equal(t, "bad", got[0].Reason)
	})
}

package bus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func TestReadRange(t *testing.T) {
	b := newTestBus(t, nil, "planner")
	_, js := rawJS(t, b.srv.URL())
	ctx := ctxTimeout(t, 20*time.Second)

	// Seqs 1..20 watermarks, 21 a control command, 22 garbage, then (after `mid`) 23..40.
	for i := 1; i <= 20; i++ {
		_, err := b.Publish(ctx, watermark(uint64(i)))
		require.NoError(t, err)
	}
	ctl := pauseCommand("cmd-1")
	_, err := b.Publish(ctx, ctl)
	require.NoError(t, err)
	publishRaw(t, js, ledgerSubject(), map[string]string{events.HeaderType: "nonsense", events.HeaderVersion: "1"}, "garbage")
	mid := time.Now()
	for i := 23; i <= 40; i++ {
		_, err := b.Publish(ctx, watermark(uint64(i)))
		require.NoError(t, err)
	}

	seqs := func(ms []Message) []uint64 {
		var out []uint64
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	span := func(from, to uint64, skip ...uint64) []uint64 {
		var out []uint64
	next:
		for s := from; s <= to; s++ {
			for _, k := range skip {
				if s == k {
					continue next
				}
			}
			out = append(out, s)
		}
		return out
	}
	tests := []struct {
		name string
		r    Range
		want []uint64
	}{
		{"everything", Range{}, span(1, 40)},
		{"by sequence", Range{FromSeq: 10, ToSeq: 25}, span(10, 25)},
		{"by time to the end", Range{FromTime: mid}, span(23, 40)},
		{"by time to a sequence", Range{FromTime: mid, ToSeq: 30}, span(23, 30)},
		{"filtered", Range{FromSeq: 15, ToSeq: 30, Subjects: []string{events.SubjectLedger + ".>"}}, span(15, 30, 21)},
		{"filter whose last match is before ToSeq", Range{Subjects: []string{events.SubjectControl + ".>"}, ToSeq: 35}, []uint64{21}},
		{"filter without matches", Range{Subjects: []string{events.SubjectIntents + ".>"}}, nil},
		{"start beyond the end", Range{FromSeq: 41}, nil},
		{"time beyond the end", Range{FromTime: time.Now().Add(time.Hour)}, nil},
		{"end before start", Range{FromSeq: 30, ToSeq: 20}, nil},
		{"end past the last is the last", Range{FromSeq: 39, ToSeq: 1000}, span(39, 40)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(t, b.Bus, tc.r)
			require.Equal(t, tc.want, seqs(got))
		})
	}

	t.Run("replays leave no consumer behind", func(t *testing.T) {
		s, err := js.Stream(ctx, events.StreamName)
		require.NoError(t, err)
		require.Zero(t, s.CachedInfo().State.Consumers)
	})

	t.Run("decoded, with undecodable messages flagged", func(t *testing.T) {
		got := readAll(t, b.Bus, Range{FromSeq: 20, ToSeq: 23})
		require.Len(t, got, 4)
		require.Equal(t, uint64(20), got[0].Event.(*events.LedgerWatermark).AsOf)
		require.Equal(t, "maintenance", got[1].Event.(*events.ControlCommand).Reason)
		require.Nil(t, got[2].Event)
		require.ErrorIs(t, got[2].DecodeErr, events.ErrUnknownType)
		require.Equal(t, "garbage", string(got[2].Data))
		require.Equal(t, uint64(23), got[3].Event.(*events.LedgerWatermark).AsOf)
		require.False(t, got[3].Time.Before(mid))
	})

	t.Run("the callback's error stops the read", func(t *testing.T) {
		stop := errors.New("enough")
		var n int
		err := b.ReadRange(ctx, Range{}, func(Message) error {
			n++
			if n == 3 {
				return stop
			}
			return nil
		})
		require.ErrorIs(t, err, stop)
		require.Equal(t, 3, n)
	})

	t.Run("context ends the read", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		err := b.ReadRange(cctx, Range{}, func(Message) error { cancel(); return nil })
		// Either the read ended at the cancellation or it had already reached the end.
		if err != nil {
			require.ErrorIs(t, err, context.Canceled)
		}
	})
}

func TestReadRangeEmptyStream(t *testing.T) {
	b := newTestBus(t, nil, "planner")
	require.Empty(t, readAll(t, b.Bus, Range{}))
}

package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Range is a part of the stream to read, in stream order.
type Range struct {
	// FromSeq is the first sequence read. When zero, reading starts at FromTime, or at the start of
	// the stream if FromTime is zero too.
	FromSeq  uint64
	FromTime time.Time
	// ToSeq is the last sequence read (inclusive); zero means the last one stored when ReadRange
	// starts. Messages stored after that are not read.
	ToSeq uint64
	// Subjects filter the range; empty reads every subject.
	Subjects []string
}

// replayBatch is how many messages the ordered consumer keeps in flight; measured in
// BenchmarkReadRange, larger batches stop paying off around here.
const replayBatch = 2048

// ReadRange calls fn for each message of r in stream order, decoded (DecodeErr set when a message
// does not decode; a DLQ message decodes to its *events.DeadLetter). It reads through an ordered
// consumer, an ephemeral consumer the client restarts where it left off if a message goes missing,
// so the order holds across reconnects. fn's error stops the read and is returned wrapped.
func (b *Bus) ReadRange(ctx context.Context, r Range, fn func(Message) error) error {
	if b.closed.Load() {
		return ErrClosed
	}
	s, err := b.js.Stream(ctx, streamName)
	if err != nil {
		return fmt.Errorf("bus: replay: stream info: %w", err)
	}
	st := s.CachedInfo().State
	to := r.ToSeq
	if to == 0 || to > st.LastSeq {
		to = st.LastSeq
	}
	if st.Msgs == 0 || to < r.FromSeq || to < st.FirstSeq {
		return nil
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: r.Subjects, DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case r.FromSeq > 0:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = r.FromSeq
	case !r.FromTime.IsZero():
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		t := r.FromTime
		cfg.OptStartTime = &t
	}
	cons, err := b.js.OrderedConsumer(ctx, streamName, cfg)
	if err != nil {
		return fmt.Errorf("bus: replay: ordered consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(replayBatch))
	if err != nil {
		return fmt.Errorf("bus: replay: %w", err)
	}
	defer it.Stop()
	// Nothing pending at creation: the range is empty (below `to` everything is already stored).
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		return nil
	}
	for {
		jm, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("bus: replay up to %d: %w", to, err)
		}
		md, err := jm.Metadata()
		if err != nil {
			return fmt.Errorf("bus: replay: %w", err)
		}
		seq := md.Sequence.Stream
		if seq > to {
			return nil
		}
		msg := fromStreamMsg(jm.Subject(), seq, md.Timestamp, Header(jm.Headers()), jm.Data(), 1)
		msg.decode()
		if err := fn(msg); err != nil {
			return fmt.Errorf("bus: replay at %d: %w", seq, err)
		}
		if seq == to || md.NumPending == 0 {
			return nil
		}
	}
}

package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
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

// replayInactive is how long an abandoned replay consumer lives on the server.
const replayInactive = 30 * time.Second

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
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects: r.Subjects,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		// The server removes a consumer left behind by a crashed replay after this.
		InactiveThreshold: replayInactive,
	}
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
	defer func() {
		it.Stop()
		b.deleteConsumer(cons.CachedInfo())
	}()
	// Nothing pending at creation: the range is empty (below `to` everything is already stored).
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		return nil
	}
	// Fetching and decoding overlap: one goroutine pulls batches in order while this one decodes
	// a batch on every core and hands it to fn in order. Decoding (JSON and validation) costs more
	// than the server's delivery, so this is what makes replay keep up with the server.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []Message, 4)
	var readErr error
	go func() {
		defer close(batches)
		readErr = readBatches(rctx, it, to, batches)
	}()
	for batch := range batches {
		decodeAll(batch)
		for _, msg := range batch {
			if err := fn(msg); err != nil {
				cancel()
				for range batches {
				}
				return fmt.Errorf("bus: replay at %d: %w", msg.Seq, err)
			}
		}
	}
	return readErr
}

// decodeBatch is how many messages are decoded together; large enough to spread over cores,
// small enough to keep the first message's latency low.
const decodeBatch = 256

// readBatches pulls the range in order and sends it on out in batches. It returns nil at the end
// of the range.
func readBatches(ctx context.Context, it jetstream.MessagesContext, to uint64, out chan<- []Message) error {
	batch := make([]Message, 0, decodeBatch)
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case out <- batch:
			batch = make([]Message, 0, decodeBatch)
			return true
		case <-ctx.Done():
			return false
		}
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
			send()
			return nil
		}
		batch = append(batch, fromStreamMsg(jm.Subject(), seq, md.Timestamp, Header(jm.Headers()), jm.Data(), 1))
		if seq == to || md.NumPending == 0 {
			send()
			return nil
		}
		if len(batch) == decodeBatch && !send() {
			return fmt.Errorf("bus: replay up to %d: %w", to, ctx.Err())
		}
	}
}

// decodeAll decodes a batch, split over the available cores.
func decodeAll(batch []Message) {
	workers := min(runtime.GOMAXPROCS(0), len(batch)/32)
	if workers <= 1 {
		for i := range batch {
			batch[i].decode()
		}
		return
	}
	var wg sync.WaitGroup
	chunk := (len(batch) + workers - 1) / workers
	for lo := 0; lo < len(batch); lo += chunk {
		part := batch[lo:min(lo+chunk, len(batch))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range part {
				part[i].decode()
			}
		}()
	}
	wg.Wait()
}

// deleteConsumer removes a replay's ephemeral consumer at once: replays are frequent (every
// planner start, every what-if run) and the server caps consumers.
func (b *Bus) deleteConsumer(info *jetstream.ConsumerInfo) {
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.PublishTimeout)
	defer cancel()
	if err := b.js.DeleteConsumer(ctx, streamName, info.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		b.log.Debug().Err(err).Str("consumer", info.Name).Msg("replay consumer left to expire")
	}
}

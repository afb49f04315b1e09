package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// PublishResult is the stream's answer to a publish.
type PublishResult struct {
	// Seq is the stream sequence of the message; for a duplicate, that of the copy already stored.
	Seq uint64
	// Duplicate says the stream already held a message with this Nats-Msg-Id inside its
	// duplicate window, and stored nothing new. Not an error: republishing a fact is a no-op.
	Duplicate bool
}

// publishAttemptsWithoutDeadline bounds Publish's retries when the caller's context has no deadline.
const publishAttemptsWithoutDeadline = 6

// Publish validates and encodes ev, publishes it on ev.Subject() with Nats-Msg-Id ev.MsgID() and
// the type, version, producer and causation headers, and waits for the stream to store it.
// Transient failures are retried (the message id makes that safe) until ctx ends; with no
// deadline on ctx, a few attempts of Config.PublishTimeout each.
func (b *Bus) Publish(ctx context.Context, ev events.Event) (PublishResult, error) {
	m, err := encode(ev)
	if err != nil {
		return PublishResult{}, err
	}
	return b.publishMsg(ctx, m)
}

// encode turns an event into the message that carries it.
func encode(ev events.Event) (*nats.Msg, error) {
	body, hdr, err := events.Encode(ev)
	if err != nil {
		return nil, fmt.Errorf("bus: publish %T: %w", ev, err)
	}
	h := make(nats.Header, len(hdr)+1)
	for k, v := range hdr {
		h[k] = []string{v}
	}
	h[jetstream.MsgIDHeader] = []string{ev.MsgID()}
	return &nats.Msg{Subject: ev.Subject(), Data: body, Header: h}, nil
}

func (b *Bus) publishMsg(ctx context.Context, m *nats.Msg) (PublishResult, error) {
	// Handlers finishing during Close may still publish (and dead-letter); only the drain ends it.
	if b.draining.Load() {
		return PublishResult{}, ErrClosed
	}
	class := subjectClass(m.Subject)
	_, hasDeadline := ctx.Deadline()
	for attempt := 1; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if !hasDeadline {
			actx, cancel = context.WithTimeout(ctx, b.cfg.PublishTimeout)
		}
		ack, err := b.js.PublishMsg(actx, m)
		cancel()
		if err == nil {
			if ack.Duplicate {
				b.m.dupByClass[class].Inc()
			} else {
				b.m.pubByClass[class].Inc()
			}
			return PublishResult{Seq: ack.Sequence, Duplicate: ack.Duplicate}, nil
		}
		b.m.errByClass[class].Inc()
		if ctx.Err() != nil || !transient(err) || (!hasDeadline && attempt >= publishAttemptsWithoutDeadline) {
			return PublishResult{}, fmt.Errorf("bus: publish %s id %s (attempt %d): %w",
				m.Subject, m.Header.Get(jetstream.MsgIDHeader), attempt, err)
		}
		b.log.Debug().Err(err).Str("subject", m.Subject).Int("attempt", attempt).Msg("publish retry")
		if err := sleepCtx(ctx, retryPause(attempt)); err != nil {
			return PublishResult{}, fmt.Errorf("bus: publish %s id %s: %w", m.Subject, m.Header.Get(jetstream.MsgIDHeader), err)
		}
	}
}

// PublishBatch publishes events asynchronously, then waits for every acknowledgement; results
// are in the order of evs. Every event is validated before anything is sent. A publish stalled by
// too many pending acks waits Config.StallWait and is retried; an ack that fails transiently is
// retried synchronously. The first failure is returned with the results gathered so far.
func (b *Bus) PublishBatch(ctx context.Context, evs []events.Event) ([]PublishResult, error) {
	if b.draining.Load() {
		return nil, ErrClosed
	}
	msgs := make([]*nats.Msg, len(evs))
	for i, ev := range evs {
		m, err := encode(ev)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		msgs[i] = m
	}
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		for {
			f, err := b.js.PublishMsgAsync(m, jetstream.WithStallWait(b.cfg.StallWait))
			if err == nil {
				futures[i] = f
				break
			}
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				return nil, fmt.Errorf("bus: publish async %s: %w", m.Subject, err)
			}
			select {
			case <-b.js.PublishAsyncComplete():
			case <-ctx.Done():
				return nil, fmt.Errorf("bus: publish async %s: stalled: %w", m.Subject, ctx.Err())
			}
		}
	}
	results := make([]PublishResult, len(msgs))
	for i, f := range futures {
		class := subjectClass(msgs[i].Subject)
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				b.m.dupByClass[class].Inc()
			} else {
				b.m.pubByClass[class].Inc()
			}
			results[i] = PublishResult{Seq: ack.Sequence, Duplicate: ack.Duplicate}
		case err := <-f.Err():
			b.m.errByClass[class].Inc()
			if !transient(err) {
				return results[:i], fmt.Errorf("bus: publish %s id %s: %w", msgs[i].Subject, msgs[i].Header.Get(jetstream.MsgIDHeader), err)
			}
			r, err := b.publishMsg(ctx, msgs[i])
			if err != nil {
				return results[:i], err
			}
			results[i] = r
		case <-ctx.Done():
			return results[:i], fmt.Errorf("bus: publish batch: %w", ctx.Err())
		}
	}
	return results, nil
}

// transient reports whether a publish failure may succeed if tried again: the server was not
// reachable, did not answer in time, or JetStream was momentarily unavailable.
func transient(err error) bool {
	switch {
	case errors.Is(err, nats.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrNoStreamResponse),
		errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected):
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.Code == 503
}

func retryPause(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt-1, 5)
	return min(d, time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

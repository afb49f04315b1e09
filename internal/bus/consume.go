package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Handler handles one message. Its result is classified once, by the bus (see the package doc):
// nil acks, Retry or any other error redelivers later, Reject dead-letters. The context ends when
// HandlerTimeout passes or when Close runs out of time, not when Consume's context ends: a handler
// that has started is allowed to finish.
type Handler func(ctx context.Context, msg Message) error

// Defaults for ConsumerSpec's zero values.
const (
	DefaultAckWait    = 30 * time.Second
	DefaultMaxDeliver = 10
	DefaultPrefetch   = 64
)

// DefaultBackoff is the NakWithDelay schedule when the spec sets none: 1 s, 2 s, 4 s … up to 1 min.
var DefaultBackoff = Backoff{Base: time.Second, Max: time.Minute}

// ConsumerSpec describes a durable pull consumer on REBAL.
type ConsumerSpec struct {
	// Durable names the consumer; replicas of a service share it and split its messages.
	Durable string
	// Subjects filter the stream (e.g. rebal.v1.balances.>); at least one.
	Subjects []string
	// AckWait is how long the server waits for an ack before redelivering.
	AckWait time.Duration
	// MaxDeliver bounds deliveries; the last failing one goes to the DLQ.
	MaxDeliver int
	// Backoff gives the NakWithDelay delay for retried failures.
	Backoff Backoff
	// ProgressEvery is the InProgress heartbeat period of a running handler: AckWait/3 when zero,
	// none when negative.
	ProgressEvery time.Duration
	// Workers handle messages concurrently. 1 (the default) handles them one at a time in stream
	// order, which the planner's determinism needs.
	Workers int
	// Prefetch is how many messages the client buffers. Buffered messages count against AckWait
	// too, so keep Prefetch × handler time well under AckWait.
	Prefetch int
	// MaxAckPending caps unacked messages at the server (0: the server's default).
	MaxAckPending int
	// HandlerTimeout bounds one handler call (0: no bound).
	HandlerTimeout time.Duration
	// DeliverFrom applies when the durable is created: zero delivers the whole stream, a time
	// delivers what was stored from then on (time.Now() for new messages only). An existing
	// durable keeps where it is.
	DeliverFrom time.Time
}

func (s ConsumerSpec) withDefaults() ConsumerSpec {
	if s.AckWait == 0 {
		s.AckWait = DefaultAckWait
	}
	if s.MaxDeliver == 0 {
		s.MaxDeliver = DefaultMaxDeliver
	}
	if s.Backoff == (Backoff{}) {
		s.Backoff = DefaultBackoff
	}
	if s.ProgressEvery == 0 {
		s.ProgressEvery = s.AckWait / 3
	}
	if s.Workers == 0 {
		s.Workers = 1
	}
	if s.Prefetch == 0 {
		s.Prefetch = max(DefaultPrefetch, s.Workers)
	}
	return s
}

func (s ConsumerSpec) validate() error {
	if err := validName("durable", s.Durable); err != nil {
		return err
	}
	if len(s.Subjects) == 0 {
		return fmt.Errorf("%w: consumer %s: no subjects", ErrConfig, s.Durable)
	}
	for _, subj := range s.Subjects {
		if !strings.HasPrefix(subj, events.SubjectRoot+".") {
			return fmt.Errorf("%w: consumer %s: subject %q outside %s", ErrConfig, s.Durable, subj, events.SubjectAll)
		}
	}
	switch {
	case s.AckWait < 100*time.Millisecond:
		return fmt.Errorf("%w: consumer %s: ackWait %s below 100ms", ErrConfig, s.Durable, s.AckWait)
	case s.MaxDeliver < 1:
		return fmt.Errorf("%w: consumer %s: maxDeliver %d: deliveries must be bounded so that poison ends in the DLQ", ErrConfig, s.Durable, s.MaxDeliver)
	case s.Backoff.Base <= 0 || s.Backoff.Max < s.Backoff.Base:
		return fmt.Errorf("%w: consumer %s: backoff %s..%s", ErrConfig, s.Durable, s.Backoff.Base, s.Backoff.Max)
	case s.ProgressEvery >= s.AckWait:
		return fmt.Errorf("%w: consumer %s: progressEvery %s not below ackWait %s", ErrConfig, s.Durable, s.ProgressEvery, s.AckWait)
	case s.Workers < 1 || s.Prefetch < s.Workers:
		return fmt.Errorf("%w: consumer %s: workers %d, prefetch %d", ErrConfig, s.Durable, s.Workers, s.Prefetch)
	case s.HandlerTimeout < 0 || s.MaxAckPending < 0:
		return fmt.Errorf("%w: consumer %s: negative handlerTimeout or maxAckPending", ErrConfig, s.Durable)
	}
	return nil
}

type consumer struct {
	b    *Bus
	spec ConsumerSpec
	h    Handler
	m    *consumerMetrics
	log  zerolog.Logger
	// hctx is the parent of handler contexts: not cancelled with Consume's context, only by
	// Close's deadline.
	hctx context.Context
}

// Consume binds the durable consumer (creating or updating it) and handles its messages until ctx
// ends or Close is called; then it stops fetching, lets running handlers finish, gives back what
// it fetched but did not start, and returns nil. It returns an error only if it cannot start.
// Reconnects are handled underneath; a consumer deleted on the server is recreated from
// DeliverFrom (so handlers must be idempotent, which redelivery requires anyway).
func (b *Bus) Consume(ctx context.Context, spec ConsumerSpec, h Handler) error {
	spec = spec.withDefaults()
	if err := spec.validate(); err != nil {
		return err
	}
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		return ErrClosed
	}
	b.consumers.Add(1)
	b.mu.Unlock()
	defer b.consumers.Done()

	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	defer context.AfterFunc(b.abort, hcancel)()
	c := &consumer{b: b, spec: spec, h: h, hctx: hctx, m: b.m.forConsumer(spec.Durable),
		log: b.log.With().Str("consumer", spec.Durable).Logger()}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(b.stopFetch, cancel)()

	cons, err := c.bind(ctx)
	if err != nil {
		return err
	}
	defer b.watchLag(spec.Durable)()
	adv, err := b.nc.Subscribe(maxDeliveriesAdvisory(spec.Durable), c.onMaxDeliveries)
	if err != nil {
		return fmt.Errorf("bus: consumer %s: subscribe max-deliveries advisory: %w", spec.Durable, err)
	}
	defer func() { _ = adv.Unsubscribe() }()

	c.log.Info().Strs("subjects", spec.Subjects).Int("workers", spec.Workers).Msg("consuming")
	for {
		err := c.run(runCtx, cons)
		if runCtx.Err() != nil {
			c.log.Info().Msg("consumer stopped")
			return nil
		}
		c.log.Warn().Err(err).Msg("consumer interrupted; rebinding")
		if sleepCtx(runCtx, b.cfg.ReconnectWait) != nil {
			return nil
		}
		if cons2, err := c.bind(runCtx); err == nil {
			cons = cons2
		} else if runCtx.Err() == nil {
			c.log.Warn().Err(err).Msg("rebind failed")
		}
	}
}

func (c *consumer) bind(ctx context.Context) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:        c.spec.Durable,
		Description:    "rebalancer " + c.b.cfg.Name,
		FilterSubjects: c.spec.Subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.spec.AckWait,
		MaxDeliver:     c.spec.MaxDeliver,
		MaxAckPending:  c.spec.MaxAckPending,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	}
	if !c.spec.DeliverFrom.IsZero() {
		from := c.spec.DeliverFrom
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &from
	}
	// The start of an existing durable cannot change (the server refuses); keep it.
	if existing, err := c.b.js.Consumer(ctx, streamName, c.spec.Durable); err == nil {
		have := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartTime, cfg.OptStartSeq = have.DeliverPolicy, have.OptStartTime, have.OptStartSeq
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("bus: bind consumer %s: %w", c.spec.Durable, err)
	}
	cons, err := c.b.js.CreateOrUpdateConsumer(ctx, streamName, cfg)
	if err != nil {
		return nil, fmt.Errorf("bus: bind consumer %s: %w", c.spec.Durable, err)
	}
	return cons, nil
}

// run pulls and handles messages until ctx ends (then it drains and returns nil) or the
// iterator dies (it returns why).
func (c *consumer) run(ctx context.Context, cons jetstream.Consumer) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(c.spec.Prefetch))
	if err != nil {
		return fmt.Errorf("messages: %w", err)
	}
	c.b.setBound(c.spec.Durable, 1)
	defer c.b.setBound(c.spec.Durable, -1)

	var wg sync.WaitGroup
	work := make(chan jetstream.Msg)
	for range c.spec.Workers - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for jm := range work {
				c.process(jm)
			}
		}()
	}
	dispatch := func(jm jetstream.Msg) {
		if c.spec.Workers == 1 {
			c.process(jm)
			return
		}
		work <- jm
	}
	defer func() { close(work); wg.Wait() }()

	var held jetstream.Msg // fetched when the stop came: given back with the rest
	for {
		jm, err := it.Next(jetstream.NextContext(ctx))
		// ctx follows Close through an AfterFunc; look at the source too, so that nothing new
		// starts once Close has begun.
		if ctx.Err() != nil || c.b.stopFetch.Err() != nil {
			// Next may return a buffered message even after ctx ended; do not start it.
			held = jm
			break
		}
		if err == nil {
			dispatch(jm)
			continue
		}
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return err
		}
		c.log.Debug().Err(err).Msg("pull")
	}

	// Stop fetching; hand back what was fetched but not started so another replica takes it now
	// rather than after AckWait. A message on its last delivery is handled instead: giving it back
	// would exhaust it. This runs even when Close's budget is spent: a Nak costs nothing.
	it.Drain()
	giveBack := func(jm jetstream.Msg) {
		if md, err := jm.Metadata(); err == nil && md.NumDelivered >= uint64(c.spec.MaxDeliver) {
			dispatch(jm)
			return
		}
		_ = jm.Nak()
		c.m.handled[subjectClass(jm.Subject())][outcomeNak].Inc()
	}
	if held != nil {
		giveBack(held)
	}
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for {
		jm, err := it.Next(jetstream.NextContext(dctx))
		if err != nil {
			return nil
		}
		giveBack(jm)
	}
}

// process handles one delivery and settles it: decode, call, classify, ack / nak / dead-letter.
func (c *consumer) process(jm jetstream.Msg) {
	md, err := jm.Metadata()
	if err != nil {
		c.log.Error().Err(err).Str("subject", jm.Subject()).Msg("message without JetStream metadata; terminating")
		_ = jm.Term()
		return
	}
	msg := fromStreamMsg(jm.Subject(), md.Sequence.Stream, md.Timestamp, Header(jm.Headers()), jm.Data(), md.NumDelivered)
	msg.decode()
	class := subjectClass(msg.Subject)

	var out outcome
	if msg.DecodeErr != nil {
		out = outcome{action: actDLQ, reason: "undecodable: " + msg.DecodeErr.Error()}
	} else {
		ctx, cancel := c.hctx, context.CancelFunc(func() {})
		if c.spec.HandlerTimeout > 0 {
			ctx, cancel = context.WithTimeout(c.hctx, c.spec.HandlerTimeout)
		}
		stopProgress := c.progress(jm)
		start := time.Now()
		err := c.call(ctx, msg)
		c.m.duration[class].Observe(time.Since(start).Seconds())
		stopProgress()
		cancel()
		out = classify(err, msg.NumDelivered, c.spec.MaxDeliver, c.spec.Backoff)
		if err != nil {
			c.logDelivery(failureLevel(err, msg.NumDelivered), msg, err).Str("outcome", out.String()).Dur("delay", out.delay).Msg("handler failed")
		}
	}
	c.settle(jm, msg, class, out)
}

func (c *consumer) settle(jm jetstream.Msg, msg Message, class string, out outcome) {
	var err error
	switch out.action {
	case actAck:
		err = jm.Ack()
	case actRetry:
		err = jm.NakWithDelay(out.delay)
	case actDLQ:
		ctx, cancel := context.WithTimeout(c.hctx, 2*c.b.cfg.PublishTimeout)
		_, derr := c.b.deadLetter(ctx, c.b.cfg.Name, msg, out.reason)
		cancel()
		if derr != nil {
			// Never terminate what the DLQ has not stored: try again later.
			c.logDelivery(zerolog.ErrorLevel, msg, derr).Str("reason", out.reason).Msg("dead-letter publish failed; will retry")
			out = outcome{action: actRetry, delay: c.spec.Backoff.Delay(msg.NumDelivered)}
			err = jm.NakWithDelay(out.delay)
			break
		}
		c.logDelivery(zerolog.ErrorLevel, msg, nil).Str("reason", out.reason).Str("dlq", DLQSubject(c.b.cfg.Name)).Msg("dead-lettered")
		err = jm.TermWithReason("dead-lettered")
	}
	c.m.handled[class][out.String()].Inc()
	if err != nil {
		// The server will redeliver after AckWait; handlers are idempotent.
		c.logDelivery(zerolog.WarnLevel, msg, err).Str("outcome", out.String()).Msg("settle failed")
	}
}

// failureLevel keeps expected waits out of the warnings: a handler asking for a retry (Retry) is
// waiting for something to happen, which is normal, so it logs at debug, and at warn only at the
// 10th, 100th, 1000th... delivery, when the wait has become worth a look. Every other failure warns.
func failureLevel(err error, delivered uint64) zerolog.Level {
	if !errors.Is(err, ErrRetry) {
		return zerolog.WarnLevel
	}
	for n := uint64(10); n <= delivered; n *= 10 {
		if delivered == n {
			return zerolog.WarnLevel
		}
	}
	return zerolog.DebugLevel
}

func (c *consumer) logDelivery(level zerolog.Level, msg Message, err error) *zerolog.Event {
	ev := c.log.WithLevel(level).Str("subject", msg.Subject).Uint64("seq", msg.Seq).
		Str("msg_id", msg.MsgID).Uint64("delivered", msg.NumDelivered)
	if err != nil {
		ev = ev.Err(err)
	}
	return ev
}

// call runs the handler, turning a panic into an error the classifier dead-letters.
func (c *consumer) call(ctx context.Context, msg Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error().Str("subject", msg.Subject).Uint64("seq", msg.Seq).Interface("panic", r).
				Bytes("stack", debug.Stack()).Msg("handler panicked")
			err = &panicError{value: r}
		}
	}()
	return c.h(ctx, msg)
}

// progress sends InProgress every ProgressEvery while the handler runs, so a slow handler is not
// redelivered under it. The returned func stops it; no InProgress is sent after it returns.
func (c *consumer) progress(jm jetstream.Msg) (stop func()) {
	if c.spec.ProgressEvery <= 0 {
		return func() {}
	}
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(c.spec.ProgressEvery, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if err := jm.InProgress(); err != nil {
			c.log.Warn().Err(err).Str("subject", jm.Subject()).Msg("in-progress heartbeat")
		} else {
			c.m.inProgress.Inc()
		}
		t.Reset(c.spec.ProgressEvery)
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

func maxDeliveriesAdvisory(durable string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + streamName + "." + durable
}

// onMaxDeliveries dead-letters a message whose last delivery was never acknowledged: the process
// handling it died, or its handler outlived AckWait without heartbeats. Every replica of the
// service hears the advisory; the dead letter's message id makes them store it once.
func (c *consumer) onMaxDeliveries(m *nats.Msg) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if err := json.Unmarshal(m.Data, &adv); err != nil || adv.StreamSeq == 0 {
		c.log.Warn().Err(err).Msg("unreadable max-deliveries advisory")
		return
	}
	ctx, cancel := context.WithTimeout(c.hctx, 2*c.b.cfg.PublishTimeout)
	defer cancel()
	raw, err := c.getMsg(ctx, adv.StreamSeq)
	if err != nil {
		c.log.Error().Err(err).Uint64("seq", adv.StreamSeq).Msg("max deliveries exhausted, message unreadable: not dead-lettered")
		return
	}
	msg := fromStreamMsg(raw.Subject, raw.Sequence, raw.Time, Header(raw.Header), raw.Data, adv.Deliveries)
	reason := fmt.Sprintf("max deliveries (%d) exhausted without an ack: the handler's process stopped or it outlived AckWait", adv.Deliveries)
	if _, err := c.b.deadLetter(ctx, c.b.cfg.Name, msg, reason); err != nil {
		c.logDelivery(zerolog.ErrorLevel, msg, err).Msg("max deliveries exhausted: dead-letter publish failed")
		return
	}
	c.m.handled[subjectClass(msg.Subject)][outcomeDLQ].Inc()
	c.logDelivery(zerolog.ErrorLevel, msg, nil).Str("reason", reason).Msg("dead-lettered")
}

func (c *consumer) getMsg(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	s, err := c.b.js.Stream(ctx, streamName)
	if err != nil {
		return nil, err
	}
	return s.GetMsg(ctx, seq)
}

package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Bus is a connection to NATS with the REBAL stream declared. It is safe for concurrent use.
type Bus struct {
	cfg Config
	log zerolog.Logger
	nc  *nats.Conn
	js  jetstream.JetStream
	m   *metrics

	// stopFetch ends when Close starts: every Consume stops fetching and finishes what it holds.
	stopFetch       context.Context
	cancelStopFetch context.CancelFunc
	// abort ends when Close's budget runs out: handlers still running see their context end.
	abort       context.Context
	cancelAbort context.CancelFunc

	consumers sync.WaitGroup
	closed    atomic.Bool // Close has begun: no new Consume or ReadRange
	draining  atomic.Bool // the connection is draining: no new publishes
	connClose chan struct{}

	mu    sync.Mutex
	bound map[string]int // durable → Consume loops currently bound to it
}

// Connect connects to NATS, with reconnects that never give up, and declares the REBAL stream
// (see EnsureStream). Metrics are registered on reg when it is not nil.
func Connect(ctx context.Context, cfg Config, log zerolog.Logger, reg prometheus.Registerer) (*Bus, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Bus{
		cfg:       cfg,
		log:       log.With().Str("component", "bus").Logger(),
		m:         newMetrics(reg),
		connClose: make(chan struct{}),
		bound:     map[string]int{},
	}
	b.stopFetch, b.cancelStopFetch = context.WithCancel(context.Background())
	b.abort, b.cancelAbort = context.WithCancel(context.Background())

	opts, err := b.natsOptions()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect to %s: %w", redactURL(cfg.URL), err)
	}
	b.nc = nc
	b.m.connected.Set(1)
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: jetstream: %w", err)
	}
	b.js = js
	if err := b.EnsureStream(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	b.log.Info().Str("url", redactURL(nc.ConnectedUrlRedacted())).Str("stream", streamName).Msg("bus connected")
	return b, nil
}

func (b *Bus) natsOptions() ([]nats.Option, error) {
	cfg := b.cfg
	opts := []nats.Option{
		nats.Name("rebalancer-" + cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.m.connected.Set(0)
			if b.closed.Load() {
				return
			}
			b.log.Warn().Err(err).Msg("nats disconnected; reconnecting")
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.m.connected.Set(1)
			b.m.reconnects.Inc()
			b.log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("nats reconnected")
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			b.m.connected.Set(0)
			close(b.connClose)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := b.log.Error().Err(err)
			if sub != nil {
				ev = ev.Str("subject", sub.Subject)
			}
			ev.Msg("nats async error")
		}),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			// The error names the file, never its content.
			return nil, fmt.Errorf("%w: nkey seed file %s: %v", ErrConfig, cfg.NKeyFile, err) //nolint:errorlint // the cause is text only: never let callers unwrap to what the parser saw of the seed
		}
		opts = append(opts, o)
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	if cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	return opts, nil
}

// Connected reports whether the connection to NATS is up (for /readyz).
func (b *Bus) Connected() bool { return b.nc.IsConnected() }

// Bound reports whether a Consume on the durable consumer is running and bound (for /readyz).
func (b *Bus) Bound(durable string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bound[durable] > 0
}

func (b *Bus) setBound(durable string, delta int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bound[durable] += delta
}

// flushOnClose bounds the final flush of acks when Close's budget is already spent.
const flushOnClose = 500 * time.Millisecond

// Close shuts the bus down in order: every Consume stops fetching; handlers in flight finish
// (until ctx ends, when their contexts are cancelled); messages fetched but not started are given
// back; then the connection drains its pending publishes and acks and closes. Safe to call twice.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	first := b.closed.CompareAndSwap(false, true)
	b.mu.Unlock()
	if !first {
		return nil
	}
	b.cancelStopFetch()
	var errs []error
	done := make(chan struct{})
	go func() { b.consumers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		b.cancelAbort()
		errs = append(errs, fmt.Errorf("bus: close: handlers still running: %w", ctx.Err()))
		<-done // handlers now see a cancelled context; Consume returns as soon as they do
	}
	b.cancelAbort()
	b.draining.Store(true)
	// Push out the acks and naks just sent even if the budget is spent: losing them would leave
	// their messages to time out. Bounded, so an unreachable server cannot hold Close.
	if err := b.nc.FlushTimeout(flushOnClose); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		errs = append(errs, fmt.Errorf("bus: flush: %w", err))
	}
	if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		errs = append(errs, fmt.Errorf("bus: drain: %w", err))
		b.nc.Close()
	}
	select {
	case <-b.connClose:
	case <-ctx.Done():
		b.nc.Close()
		<-b.connClose
		errs = append(errs, fmt.Errorf("bus: drain: %w", ctx.Err()))
	}
	b.log.Info().Msg("bus closed")
	return errors.Join(errs...)
}

// redactURL hides user:password in a NATS URL list before it reaches a log or an error.
func redactURL(u string) string {
	parts := strings.Split(u, ",")
	for i, part := range parts {
		at := strings.LastIndexByte(part, '@')
		if at < 0 {
			continue
		}
		scheme := ""
		if s := strings.Index(part, "://"); s >= 0 && s < at {
			scheme = part[:s+3]
		}
		parts[i] = scheme + "[redacted]" + part[at:]
	}
	return strings.Join(parts, ",")
}

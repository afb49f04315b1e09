package bus

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// testAccount is a valid EIP-55 account for watermark events.
var testAccount = events.ChecksumAddress("0x00000000000000000000000000000000000000aa")

// watermark is a small valid event; asOf makes it (and its message id) unique.
func watermark(asOf uint64) *events.LedgerWatermark {
	return &events.LedgerWatermark{
		Meta:    events.NewMeta(events.TypeLedgerWatermark, fmt.Sprintf("wm-%d", asOf), "", "test", time.Unix(1700000000, 0)),
		Account: testAccount,
		ChainID: 1,
		AsOf:    asOf,
	}
}

// pauseCommand is a valid event outside the ledger subjects the tests consume.
func pauseCommand(id string) *events.ControlCommand {
	return &events.ControlCommand{
		Meta: events.NewMeta(events.TypeControlCommand, id, "", "operator", time.Unix(1700000000, 0)),
		Verb: events.VerbPause, Scope: events.ScopeAll, Reason: "maintenance", Operator: "alice",
	}
}

func ledgerSubject() string { return events.SubjectLedger + "." + testAccount }

type testBus struct {
	*Bus
	srv *localinfra.NATS
	reg *prometheus.Registry
}

// newTestBus starts an embedded NATS (unless srv is given) and connects a bus named name to it.
func newTestBus(t testing.TB, srv *localinfra.NATS, name string) *testBus {
	t.Helper()
	if srv == nil {
		srv = testenv.NATS(t)
	}
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := Connect(ctx, Config{URL: srv.URL(), Name: name, ReconnectWait: 50 * time.Millisecond}, testLogger(t), reg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return &testBus{Bus: b, srv: srv, reg: reg}
}

func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
	}
	return zerolog.Nop()
}

// rawJS is a plain nats.go JetStream client on srv, for what the bus must not be used to do
// (publish garbage, inspect consumers).
func rawJS(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return nc, js
}

// consume runs Consume in the background until the test ends and returns a channel that is
// closed when Consume has returned, with its error.
func consume(t testing.TB, b *Bus, spec ConsumerSpec, h Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Consume(ctx, spec, h) }()
	require.Eventually(t, func() bool { return b.Bound(spec.Durable) }, 10*time.Second, 5*time.Millisecond, "consumer %s never bound", spec.Durable)
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-errc })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// recorder collects what a handler saw.
type recorder struct {
	mu   sync.Mutex
	msgs []Message
}

func (r *recorder) add(m Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

func (r *recorder) all() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.msgs...)
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// readAll reads every message of the range through ReadRange.
func readAll(t testing.TB, b *Bus, r Range) []Message {
	t.Helper()
	var out []Message
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.ReadRange(ctx, r, func(m Message) error { out = append(out, m); return nil }))
	return out
}

// deadLetters reads the service's DLQ.
func deadLetters(t testing.TB, b *Bus, service string) []*events.DeadLetter {
	t.Helper()
	var out []*events.DeadLetter
	for _, m := range readAll(t, b, Range{Subjects: []string{DLQSubject(service)}}) {
		require.NoError(t, m.DecodeErr)
		dl, ok := m.Event.(*events.DeadLetter)
		require.True(t, ok, "DLQ message decoded to %T", m.Event)
		out = append(out, dl)
	}
	return out
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// value reads a counter or gauge.
func value(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// LastBySubject returns the newest message stored on subject (an exact subject, no wildcards),
// decoded like ReadRange's messages, or nil when the stream holds none. The balance watcher uses
// it at start-up to resume exactly where its last published range ended.
func (b *Bus) LastBySubject(ctx context.Context, subject string) (*Message, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	s, err := b.js.Stream(ctx, streamName)
	if err != nil {
		return nil, fmt.Errorf("bus: last on %s: stream: %w", subject, err)
	}
	raw, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bus: last on %s: %w", subject, err)
	}
	m := fromStreamMsg(raw.Subject, raw.Sequence, raw.Time, Header(raw.Header), raw.Data, 1)
	m.decode()
	return &m, nil
}

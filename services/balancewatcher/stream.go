package balancewatcher

import (
	"context"
	"fmt"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// BusStream adapts the bus to Stream.
type BusStream struct{ B *bus.Bus }

// Publish implements Stream.
func (s BusStream) Publish(ctx context.Context, ev events.Event) (bool, error) {
	r, err := s.B.Publish(ctx, ev)
	return r.Duplicate, err
}

// LastSnapshot implements Stream: the last message on the account's subject at the location.
func (s BusStream) LastSnapshot(ctx context.Context, loc events.Location, account string) (*events.BalanceSnapshot, error) {
	subject := (&events.BalanceSnapshot{Location: loc, Account: account}).Subject()
	m, err := s.B.LastBySubject(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("last snapshot on %s: %w", subject, err)
	}
	if m == nil {
		return nil, nil
	}
	if m.DecodeErr != nil {
		return nil, fmt.Errorf("last snapshot on %s (seq %d) does not decode: %w", subject, m.Seq, m.DecodeErr)
	}
	snap, ok := m.Event.(*events.BalanceSnapshot)
	if !ok {
		return nil, fmt.Errorf("last message on %s (seq %d) is a %T, not a snapshot", subject, m.Seq, m.Event)
	}
	return snap, nil
}

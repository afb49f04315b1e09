package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

const streamName = events.StreamName

// streamConfig is the REBAL stream as the bus declares it (DESIGN §4).
func (b *Bus) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        streamName,
		Description: "rebalancer: balances, intents, executions, ledger watermarks, control, dead letters",
		Subjects:    []string{events.SubjectAll},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      b.cfg.MaxAge,
		MaxBytes:    b.cfg.MaxBytes,
		MaxMsgs:     -1,
		Duplicates:  b.cfg.DuplicateWindow,
		Replicas:    b.cfg.Replicas,
		// Direct gets let replay tools read single messages from any replica.
		AllowDirect: true,
	}
}

// EnsureStream creates the REBAL stream, or updates an existing one to the declared configuration.
// It is idempotent. A stream that cannot be brought to the declared configuration by an update
// fails with ErrStreamConflict and the differences.
func (b *Bus) EnsureStream(ctx context.Context) error {
	want := b.streamConfig()
	s, err := b.js.Stream(ctx, streamName)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if _, err := b.js.CreateStream(ctx, want); err != nil {
			return streamErr("create", err)
		}
		b.log.Info().Str("stream", streamName).Int("replicas", want.Replicas).Msg("stream created")
		return nil
	case err != nil:
		return fmt.Errorf("bus: stream %s info: %w", streamName, err)
	}
	if diffs := immutableDiffs(s.CachedInfo().Config, want); len(diffs) > 0 {
		return fmt.Errorf("%w: stream %s exists with %s; an update cannot change that: "+
			"migrate or delete the stream (its messages go with it)", ErrStreamConflict, streamName, strings.Join(diffs, ", "))
	}
	if _, err := b.js.UpdateStream(ctx, want); err != nil {
		return streamErr("update", err)
	}
	return nil
}

// immutableDiffs lists what the existing stream has that an update cannot change, or that the
// bus cannot live with.
func immutableDiffs(have, want jetstream.StreamConfig) []string {
	var d []string
	if have.Storage != want.Storage {
		d = append(d, fmt.Sprintf("storage %s (want %s)", have.Storage, want.Storage))
	}
	if have.Retention != want.Retention {
		d = append(d, fmt.Sprintf("retention %s (want %s)", have.Retention, want.Retention))
	}
	if have.Sealed {
		d = append(d, "sealed")
	}
	return d
}

// streamErr marks an API refusal of the stream's configuration as a conflict; transport errors
// stay what they are.
func streamErr(op string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return fmt.Errorf("%w: %s stream %s: %s (code %d)", ErrStreamConflict, op, streamName, apiErr.Description, apiErr.ErrorCode)
	}
	return fmt.Errorf("bus: %s stream %s: %w", op, streamName, err)
}

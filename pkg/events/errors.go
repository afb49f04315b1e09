package events

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every validation error, so callers can route invalid events to the DLQ
// with errors.Is(err, events.ErrInvalid).
var ErrInvalid = errors.New("invalid event")

// ErrUnknownType means no decoder is registered for the (type, version) pair.
var ErrUnknownType = errors.New("unknown event type or version")

// FieldError names the field that is wrong and why.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return fmt.Sprintf("invalid event: %s: %s", e.Field, e.Problem) }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

package bus

import (
	"errors"
	"fmt"
	"time"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Retry asks for the message to be redelivered after d (0: after the consumer's backoff for its
// delivery count). Use it for transient failures: a dependency down, a lease not yet held.
func Retry(err error, d time.Duration) error {
	if err == nil {
		err = errors.New("retry requested")
	}
	return &retryError{err: err, after: d}
}

// Reject sends the message to the DLQ with err as the reason and terminates it: it is wrong and
// will not get better by trying again.
func Reject(err error) error {
	if err == nil {
		err = errors.New("rejected")
	}
	return &rejectError{err: err}
}

type retryError struct {
	err   error
	after time.Duration
}

func (e *retryError) Error() string   { return "retry: " + e.err.Error() }
func (e *retryError) Unwrap() []error { return []error{ErrRetry, e.err} }

type rejectError struct{ err error }

func (e *rejectError) Error() string   { return "reject: " + e.err.Error() }
func (e *rejectError) Unwrap() []error { return []error{ErrReject, e.err} }

// panicError is what a recovered handler panic becomes.
type panicError struct{ value any }

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// Backoff computes NakWithDelay delays: Base after the first delivery, doubling with every
// further delivery, never more than Max.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// Delay is the pause before redelivering a message that has been delivered n times.
func (b Backoff) Delay(n uint64) time.Duration {
	if n == 0 {
		n = 1
	}
	d := b.Base
	for i := uint64(1); i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

type action int

const (
	actAck action = iota
	actRetry
	actDLQ
)

// outcome is what the bus does with a delivery once its handler has returned.
type outcome struct {
	action action
	delay  time.Duration // actRetry
	reason string        // actDLQ
}

// classify maps a handler's result to an outcome, once, here at the bus edge. delivered is the
// delivery count of this delivery; on the last allowed delivery a retry becomes a dead letter.
func classify(err error, delivered uint64, maxDeliver int, bo Backoff) outcome {
	if err == nil {
		return outcome{action: actAck}
	}
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		return outcome{action: actDLQ, reason: err.Error()}
	case errors.Is(err, ErrReject), errors.Is(err, events.ErrInvalid), errors.Is(err, events.ErrUnknownType):
		return outcome{action: actDLQ, reason: err.Error()}
	}
	if maxDeliver > 0 && delivered >= uint64(maxDeliver) {
		return outcome{action: actDLQ, reason: fmt.Sprintf("max deliveries (%d) exhausted: %v", maxDeliver, err)}
	}
	var re *retryError
	if errors.As(err, &re) && re.after > 0 {
		return outcome{action: actRetry, delay: re.after}
	}
	return outcome{action: actRetry, delay: bo.Delay(delivered)}
}

// String is the outcome's metric label.
func (o outcome) String() string {
	switch o.action {
	case actAck:
		return outcomeAck
	case actRetry:
		return outcomeRetry
	default:
		return outcomeDLQ
	}
}

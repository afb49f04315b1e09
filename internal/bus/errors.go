package bus

import "errors"

var (
	// ErrStreamConflict means the server will not hold the REBAL stream as declared: it exists with
	// a configuration an update cannot change (storage type, retention policy), another stream owns
	// its subjects, or the server refuses the limits (replicas, storage). An operator has to act;
	// the bus refuses to run against a stream that does not keep its promises.
	ErrStreamConflict = errors.New("bus: stream configuration conflict")

	// ErrClosed is returned by calls on a Bus after Close.
	ErrClosed = errors.New("bus: closed")

	// ErrConfig wraps every configuration error Connect and Consume report.
	ErrConfig = errors.New("bus: bad configuration")

	// ErrRetry is wrapped by the errors Retry returns: the handler asks for a later redelivery.
	ErrRetry = errors.New("retry")

	// ErrReject is wrapped by the errors Reject returns: the message goes to the DLQ and is
	// terminated.
	ErrReject = errors.New("reject")

	// ErrNotDeadLetter means DeadLetterOf was given a message that is not on a DLQ subject or
	// lacks the DLQ headers.
	ErrNotDeadLetter = errors.New("bus: not a dead letter")
)

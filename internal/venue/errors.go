package venue

import "errors"

var (
	// ErrNotFound: a lookup by id or tx hash found nothing (yet).
	ErrNotFound = errors.New("venue: not found")
	// ErrUnknownOutcome: a request may or may not have taken effect; look it up before resubmitting.
	ErrUnknownOutcome = errors.New("venue: outcome unknown")
	// ErrUnsupported: the venue does not offer this coin, network or pair.
	ErrUnsupported = errors.New("venue: unsupported")
	// ErrInvalidAmount: an amount is missing, negative, outside the venue's limits or not representable.
	ErrInvalidAmount = errors.New("venue: invalid amount")
	// ErrRejected: the venue refused the request for a reason that will not change by retrying
	// (insufficient balance, filter failure, bad address).
	ErrRejected = errors.New("venue: rejected")
	// ErrBadIntentID: an intent id is not 64 lower-case hex digits.
	ErrBadIntentID = errors.New("venue: bad intent id")
)

package hyperliquid

import (
	"errors"
	"strings"
)

var (
	// ErrRateLimited is HTTP 429: back off; nothing was done.
	ErrRateLimited = errors.New("hyperliquid: rate limited")
	// ErrUnavailable is a transport failure or HTTP 5xx: for /exchange the outcome is unknown.
	ErrUnavailable = errors.New("hyperliquid: venue unavailable")
	// ErrBadRequest is HTTP 4xx other than 429: the venue could not read the request.
	ErrBadRequest = errors.New("hyperliquid: request refused")
	// ErrRejected is a venue answer {"status":"err"} or an order status error: nothing was done.
	ErrRejected = errors.New("hyperliquid: rejected")
	// ErrNotFound reports a pair or token absent from spotMeta.
	ErrNotFound = errors.New("hyperliquid: not found")
	// ErrUnknownOutcome reports an action whose result could not be established after resending the
	// same signed bytes and looking it up; the caller must look it up again later, never sign anew.
	ErrUnknownOutcome = errors.New("hyperliquid: outcome unknown")
	// ErrNoLiquidity reports a book too thin for the requested size within the price bound.
	ErrNoLiquidity = errors.New("hyperliquid: not enough liquidity")
	// ErrBelowMinimum reports an order or deposit below the venue's minimum.
	ErrBelowMinimum = errors.New("hyperliquid: below venue minimum")
	// ErrConfig reports an invalid configuration.
	ErrConfig = errors.New("hyperliquid: invalid config")
)

// VenueError is an {"status":"err","response":msg} answer or an order status error.
type VenueError struct{ Msg string }

func (e *VenueError) Error() string { return "hyperliquid: " + e.Msg }

// Unwrap makes errors.Is(err, ErrRejected) hold.
func (e *VenueError) Unwrap() error { return ErrRejected }

// duplicateNonce reports the venue's answer to a nonce it has already accepted: the same signed bytes
// were applied before (their response was lost).
func (e *VenueError) duplicateNonce() bool {
	return strings.Contains(e.Msg, "Invalid nonce") && strings.Contains(e.Msg, "duplicate")
}

// ambiguous reports whether err leaves an /exchange action's outcome unknown.
func ambiguous(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited)
}

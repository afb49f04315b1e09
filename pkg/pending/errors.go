package pending

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid means the caller passed something the ledger refuses to store: an account that is
	// not an address, a leg without a token, a number past 2^53-1, and the like. Nothing was written.
	ErrInvalid = errors.New("pending: invalid input")

	// ErrMalformed means the ledger in Redis holds a field or value this package cannot read. The
	// reader fails the whole read rather than skip it: a skipped leg is a miscounted balance.
	ErrMalformed = errors.New("pending: malformed ledger")

	// ErrNotFound means the intent has no record in Redis.
	ErrNotFound = errors.New("pending: intent not found")

	// ErrVersionConflict means a compare-and-set lost: the intent's version in Redis is not the one
	// the caller expected. Re-read the intent and decide again. Use errors.As with
	// *VersionConflictError for the versions.
	ErrVersionConflict = errors.New("pending: version conflict")

	// ErrRewound means AdvanceAsOfSince refused to advance: the chain's asOf was rewound (a reorg)
	// after the caller read the rewind count, so what it checked may be stale. Check again.
	ErrRewound = errors.New("pending: asOf rewound since it was checked")
)

// VersionConflictError is the typed form of ErrVersionConflict.
type VersionConflictError struct {
	IntentID string
	Expected uint64
	Current  uint64
}

func (e *VersionConflictError) Error() string {
	return fmt.Sprintf("pending: intent %s: version conflict: expected %d, found %d", e.IntentID, e.Expected, e.Current)
}

// Is makes errors.Is(err, ErrVersionConflict) hold.
func (e *VersionConflictError) Is(target error) bool { return target == ErrVersionConflict }

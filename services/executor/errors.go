package executor

import "errors"

var (
	// ErrConfig means the configuration cannot be used; Run refuses to start.
	ErrConfig = errors.New("executor: bad configuration")

	// ErrUnexecutable means an intent can never be carried out as given: unknown venue or route,
	// over a cap, a destination not allowlisted, past its deadline. It is rejected at accept with an
	// ExecutionUpdate that says why, and its legs never appear.
	ErrUnexecutable = errors.New("executor: intent not executable")

	// ErrLeaseLost means this replica no longer holds the (venue, account) lease: it must stop side
	// effects at once. Another replica carries on from the recorded state.
	ErrLeaseLost = errors.New("executor: lease lost")

	// ErrHalted means a kill switch or a pause covers the intent's venue: no side effect runs.
	ErrHalted = errors.New("executor: halted by control command")

	// ErrKilled is what a fault point returns to abort the instance (tests of crash safety).
	ErrKilled = errors.New("executor: killed at fault point")

	// ErrNotRecorded means a snapshot cannot advance asOf yet: a mining or landing at or below its
	// block is not recorded. The snapshot is retried.
	ErrNotRecorded = errors.New("executor: leg events below the snapshot not yet recorded")
)

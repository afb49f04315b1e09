package planner

import "errors"

// ErrNoRoute means a venue cannot carry a route (no deposit leg, no withdrawal leg or no book).
var ErrNoRoute = errors.New("venue has no such route")

// ErrUsage is a command-line mistake in an operator command.
var ErrUsage = errors.New("usage")

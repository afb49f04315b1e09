package hlsim

import "errors"

var (
	// ErrConfig reports an invalid simulator configuration.
	ErrConfig = errors.New("hlsim: invalid config")
	// ErrUnknownToken reports a token name or index the simulator does not list.
	ErrUnknownToken = errors.New("hlsim: unknown token")
)

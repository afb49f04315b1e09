package simchain

import "errors"

var (
	// ErrUnknownToken means the symbol is not configured on this chain.
	ErrUnknownToken = errors.New("simchain: unknown token")
	// ErrClosed means the chain was closed.
	ErrClosed = errors.New("simchain: closed")
	// ErrTxFailed means a transaction the simulator sent itself reverted.
	ErrTxFailed = errors.New("simchain: transaction reverted")
	// ErrInvalidConfig means a Config cannot be used.
	ErrInvalidConfig = errors.New("simchain: invalid config")
)

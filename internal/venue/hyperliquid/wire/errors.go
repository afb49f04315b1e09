package wire

import "errors"

var (
	// ErrBadDecimal reports a decimal string that is malformed or more precise than its unit.
	ErrBadDecimal = errors.New("wire: bad decimal")
	// ErrBadSignature reports a signature that cannot be parsed or recovered.
	ErrBadSignature = errors.New("wire: bad signature")
	// ErrUnknownAction reports an action type this package does not model.
	ErrUnknownAction = errors.New("wire: unknown action type")
	// ErrBadNetwork reports a network value that is neither mainnet nor testnet.
	ErrBadNetwork = errors.New("wire: network must be mainnet or testnet")
)

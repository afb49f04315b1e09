package chain

import "errors"

// Sentinels for errors.Is at decision points. An error from this package
// wraps one of the classes below together with the underlying cause.
var (
	// ErrRateLimited: the provider answered HTTP 429 or a JSON-RPC "limit
	// exceeded" error. Retried with backoff (honoring Retry-After); returned
	// when retries are exhausted.
	ErrRateLimited = errors.New("chain: rate limited")
	// ErrUnavailable: the endpoint could not be reached, dropped the
	// connection, answered 5xx or timed out. Retried on the next endpoint.
	ErrUnavailable = errors.New("chain: rpc unavailable")
	// ErrTimeout: the per-call timeout expired. Also an ErrUnavailable.
	ErrTimeout = errors.New("chain: rpc timeout")
	// ErrBlockUnavailable: the node does not have the requested block or its
	// state (behind the head, pruned, or not an archive node). Retried on the
	// next endpoint.
	ErrBlockUnavailable = errors.New("chain: block or state unavailable")
	// ErrRPC: the node rejected the request (a JSON-RPC error that retrying
	// will not fix, or HTTP 4xx).
	ErrRPC = errors.New("chain: rpc error")
	// ErrReverted: a call or transaction reverted.
	ErrReverted = errors.New("chain: execution reverted")
	// ErrWrongChain: an endpoint serves another chain id than configured. The
	// endpoint is never used again.
	ErrWrongChain = errors.New("chain: endpoint serves another chain")
	// ErrNoEndpoint: the configuration has no RPC URL.
	ErrNoEndpoint = errors.New("chain: no rpc endpoint")
	// ErrInvalidConfig: a configuration value cannot be used.
	ErrInvalidConfig = errors.New("chain: invalid config")
	// ErrBadResponse: the node answered something that does not decode.
	ErrBadResponse = errors.New("chain: bad response")
	// ErrNotFound: no such block, transaction or receipt (yet).
	ErrNotFound = errors.New("chain: not found")

	// ErrNonceConsumed: the nonce of a recorded transaction was used by
	// another transaction that is not ours, so ours can never be mined. The
	// step needs an operator (or a deliberate new step), never a silent
	// resign.
	ErrNonceConsumed = errors.New("chain: nonce consumed by another transaction")
	// ErrNonceTaken: TxStore.SaveTx refused a record for a new step because
	// its nonce is not above the highest nonce recorded for its (chain,
	// account): another Sender (another process) reserved it first. Nothing
	// was stored, so the caller may derive a new nonce and sign again.
	ErrNonceTaken = errors.New("chain: nonce already recorded for another step")
	// ErrStepConflict: the store holds a transaction for this step key that
	// differs from the one asked for (another chain, sender or call).
	ErrStepConflict = errors.New("chain: step key already used for another transaction")
	// ErrNoKey: no private key was found where one was configured.
	ErrNoKey = errors.New("chain: no private key")
)

// retryable tells whether an error class is worth another attempt.
func retryable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrBlockUnavailable)
}

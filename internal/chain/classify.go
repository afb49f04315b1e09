package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/rpc"
)

// Error is what a failed RPC operation returns: the class (one of the
// sentinels), the operation, the endpoint (without credentials) and the cause.
// errors.Is matches both the class and the cause.
type Error struct {
	Op       string
	Endpoint string
	Class    error
	Err      error
	// RetryAfter is the provider's Retry-After on a 429, if it sent one.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s via %s: %v: %v", e.Op, e.Endpoint, e.Class, e.Err)
}

// Unwrap exposes both the class and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return []error{e.Class, e.Err} }

// rateLimitError carries a 429's Retry-After out of the HTTP transport, which
// the rpc package would otherwise drop with the headers.
type rateLimitError struct {
	retryAfter time.Duration
	status     string
}

func (e *rateLimitError) Error() string { return "http " + e.status }

// retryAfterTransport turns a 429 answer into a rateLimitError that keeps its
// Retry-After header.
type retryAfterTransport struct{ next http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	e := &rateLimitError{status: resp.Status}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && secs >= 0 {
			e.retryAfter = time.Duration(secs) * time.Second
		} else if at, err := http.ParseTime(s); err == nil {
			e.retryAfter = time.Until(at)
		}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	return nil, e
}

// classify maps an error from go-ethereum's rpc/ethclient to one of the
// sentinels. callCtx is the per-attempt context: its deadline expiring is a
// timeout of this endpoint, not of the caller.
func classify(op, endpoint string, err error, callCtx context.Context) error {
	if err == nil {
		return nil
	}
	var done *Error
	if errors.As(err, &done) {
		return err // already classified where it was detected
	}
	// net/http quotes the full URL in its errors, provider key included.
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	e := &Error{Op: op, Endpoint: endpoint, Err: err}
	var (
		rl      *rateLimitError
		httpErr rpc.HTTPError
		rpcErr  rpc.Error
		netErr  net.Error
	)
	switch {
	case errors.Is(err, ethereum.NotFound):
		e.Class = ErrNotFound
	case errors.As(err, &rl):
		e.Class, e.RetryAfter = ErrRateLimited, rl.retryAfter
	case errors.As(err, &httpErr):
		switch {
		case httpErr.StatusCode == http.StatusTooManyRequests:
			e.Class = ErrRateLimited
		case httpErr.StatusCode >= 500:
			e.Class = ErrUnavailable
		case httpErr.StatusCode == http.StatusUnauthorized || httpErr.StatusCode == http.StatusForbidden ||
			httpErr.StatusCode == http.StatusNotFound || httpErr.StatusCode == http.StatusMethodNotAllowed:
			// This endpoint's key or path is wrong: another endpoint may serve.
			e.Class = ErrUnavailable
		default:
			e.Class = ErrRPC
		}
	case errors.As(err, &rpcErr):
		e.Class = classifyRPC(rpcErr.ErrorCode(), err.Error())
	case errors.Is(err, context.DeadlineExceeded) || callCtx.Err() != nil:
		// The caller's own context was checked first (Client.attempt), so
		// this is the per-call timeout of this endpoint.
		e.Class = fmt.Errorf("%w: %w", ErrUnavailable, ErrTimeout)
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "connection reset"), strings.Contains(err.Error(), "connection refused"):
		e.Class = ErrUnavailable
	default:
		// Unknown transport-level failures are treated as the endpoint's:
		// trying the next one is the safe choice.
		e.Class = ErrUnavailable
	}
	return e
}

// classifyRPC maps JSON-RPC error codes and the messages providers use.
func classifyRPC(code int, msg string) error {
	m := strings.ToLower(msg)
	switch {
	case code == 3 || strings.Contains(m, "execution reverted") || strings.Contains(m, "revert"):
		return ErrReverted
	case code == -32005 || code == 429 || strings.Contains(m, "rate limit") || strings.Contains(m, "too many requests") ||
		strings.Contains(m, "limit exceeded") || strings.Contains(m, "exceeded the quota"):
		return ErrRateLimited
	case strings.Contains(m, "header not found") || strings.Contains(m, "unknown block") ||
		strings.Contains(m, "missing trie node") || strings.Contains(m, "historical state") ||
		strings.Contains(m, "state is not available") || strings.Contains(m, "block not found"):
		return ErrBlockUnavailable
	case code == -32601 || strings.Contains(m, "method not found") || strings.Contains(m, "not supported"):
		// This endpoint does not serve the method (providers disable some):
		// another endpoint may.
		return ErrUnavailable
	case strings.Contains(m, "indexing is in progress") || strings.Contains(m, "transaction not found") ||
		strings.Contains(m, "receipt not found"):
		// geth answers a receipt query this way while its index catches up.
		return ErrNotFound
	case code == -32603 || strings.Contains(m, "internal error") || strings.Contains(m, "timeout") ||
		strings.Contains(m, "request timed out"):
		return ErrUnavailable
	default:
		return ErrRPC
	}
}

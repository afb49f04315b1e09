package binance

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrConfig: the adapter's configuration is incomplete or inconsistent.
	ErrConfig = errors.New("binance: invalid config")
	// ErrCredentials: the API key or secret could not be loaded.
	ErrCredentials = errors.New("binance: credentials")
	// ErrAuth: Binance refused the key or the signature (-2014, -2015, -1022, -1002).
	ErrAuth = errors.New("binance: authentication refused")
	// ErrClockSkew: the request's timestamp fell outside recvWindow (-1021) even after a resync.
	ErrClockSkew = errors.New("binance: timestamp outside recvWindow")
	// ErrRateLimited: HTTP 429 or 418; the request was not executed.
	ErrRateLimited = errors.New("binance: rate limited")
	// ErrServer: HTTP 5xx; the outcome of a write is unknown.
	ErrServer = errors.New("binance: server error")
)

// RateLimitError is returned by the transport for HTTP 429 and 418 (an IP ban), which go-binance
// would otherwise turn into an APIError without the status and Retry-After.
type RateLimitError struct {
	Status int
	Until  time.Time
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("binance: HTTP %d, retry after %s", e.Status, e.Until.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// StatusError is returned by the transport for HTTP 5xx: whether a write took effect is unknown.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string { return fmt.Sprintf("binance: HTTP %d: %s", e.Status, e.Body) }

// Is makes errors.Is(err, ErrServer) true.
func (e *StatusError) Is(target error) bool { return target == ErrServer }

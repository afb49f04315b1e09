package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	bn "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// Name is the venue's name in events and the ledger.
const Name = "binance"

// Client is the Binance adapter for one account. Build it with New; it is safe for concurrent use.
type Client struct {
	cfg  Config
	tr   *transport
	http *http.Client

	offsetMs atomic.Int64 // local − server, in ms, as go-binance's TimeOffset
	seq      atomic.Uint64

	mu      sync.Mutex
	rules   *rules
	rulesAt time.Time
	addrs   map[venue.Key]string
}

// New builds a client, syncs its clock with the server's and reads the symbol's rules.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, addrs: map[venue.Key]string{}}
	c.tr = &transport{
		base: cfg.Transport, now: cfg.Now, maxWait: cfg.MaxWait, m: venue.NewMetrics(cfg.Metrics), apiLimit: cfg.WeightLimit, sapiLim: cfg.SAPIWeightLimit,
		sleep: func(req *http.Request, d time.Duration) error { return cfg.Sleep(req.Context(), d) },
	}
	c.http = &http.Client{Transport: c.tr, Timeout: cfg.Timeout}
	if err := c.SyncTime(ctx); err != nil {
		return nil, err
	}
	if _, err := c.symbolRules(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Name implements venue.Venue.
func (c *Client) Name() string { return Name }

// Weights reports the used request weights the transport has seen.
func (c *Client) Weights() Weights { return c.tr.weights() }

// lib returns a fresh go-binance client for one call. go-binance writes its UsedWeight and
// OrderCount fields on every response without a lock; a client per call keeps those writes
// private, while the transport (shared, locked) keeps the real accounting.
func (c *Client) lib() *bn.Client {
	l := bn.NewClient(c.cfg.Credentials.APIKey, c.cfg.Credentials.secret)
	l.BaseURL = c.cfg.BaseURL
	l.HTTPClient = c.http
	l.TimeOffset = c.offsetMs.Load()
	l.Logger = log.New(io.Discard, "", 0)
	return l
}

func (c *Client) recvWindow() bn.RequestOption {
	return bn.WithRecvWindow(c.cfg.RecvWindow.Milliseconds())
}

// SyncTime measures the offset between the local clock and the server's (GET /api/v3/time) and
// uses it for every signed request's timestamp. New calls it; call it periodically (hourly) too.
// go-binance stamps requests with the real clock, so this uses time.Now, not Config.Now.
func (c *Client) SyncTime(ctx context.Context) error {
	t0 := time.Now()
	server, err := c.lib().NewServerTimeService().Do(ctx)
	if err != nil {
		return fmt.Errorf("server time: %w", err)
	}
	t1 := time.Now()
	mid := t0.Add(t1.Sub(t0) / 2)
	c.offsetMs.Store(mid.UnixMilli() - server)
	return nil
}

// Offset is the last measured local − server clock difference.
func (c *Client) Offset() time.Duration { return time.Duration(c.offsetMs.Load()) * time.Millisecond }

// apiCode returns Binance's error code, or 0 when err is not an API error.
func apiCode(err error) int64 {
	var ae *common.APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// ambiguous reports whether a write that failed with err may still have taken effect.
func ambiguous(err error) bool {
	if errors.Is(err, ErrServer) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return !errors.Is(err, ErrRateLimited)
	}
	switch apiCode(err) {
	case -1000, -1001, -1006, -1007, -1008:
		return true
	}
	// A body go-binance could not decode after a 2xx also leaves the outcome unknown.
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te)
}

func (c *Client) mapAuth(err error) error {
	switch apiCode(err) {
	case -1002, -1022, -2014, -2015:
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return err
}

const maxAttempts = 4

// read runs an idempotent request, retrying rate limits (after the transport's wait), clock
// skew (after a resync), 5xx and network errors with backoff.
func (c *Client) read(ctx context.Context, what string, f func(l *bn.Client) error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f(c.lib())
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || attempt == maxAttempts {
			return fmt.Errorf("%s: %w", what, c.mapAuth(c.skew(err)))
		}
		switch {
		case apiCode(err) == -1021:
			if serr := c.SyncTime(ctx); serr != nil {
				return fmt.Errorf("%s: %w", what, serr)
			}
		case errors.Is(err, ErrRateLimited):
			c.cfg.Log.Warn().Str("op", what).Err(err).Msg("binance rate limited; waiting")
			// The transport holds the next request until Retry-After has passed.
		case ambiguous(err):
			if serr := c.cfg.Sleep(ctx, backoff); serr != nil {
				return fmt.Errorf("%s: %w", what, serr)
			}
			backoff *= 2
		default:
			return fmt.Errorf("%s: %w", what, c.mapAuth(err))
		}
	}
}

// write runs a request with a side effect. It retries only answers that prove the request was not
// executed (429/418, -1021); any other failure that may have taken effect wraps
// venue.ErrUnknownOutcome, and the caller must look the action up before resubmitting.
func (c *Client) write(ctx context.Context, what string, f func(l *bn.Client) error) error {
	for attempt := 1; ; attempt++ {
		err := f(c.lib())
		if err == nil {
			return nil
		}
		switch {
		case attempt < maxAttempts && apiCode(err) == -1021:
			if serr := c.SyncTime(ctx); serr != nil {
				return fmt.Errorf("%s: %w", what, serr)
			}
			continue
		case attempt < maxAttempts && errors.Is(err, ErrRateLimited) && ctx.Err() == nil:
			c.cfg.Log.Warn().Str("op", what).Err(err).Msg("binance rate limited; waiting")
			continue
		case errors.Is(err, ErrRateLimited):
			return fmt.Errorf("%s: %w", what, err)
		case ambiguous(err):
			return fmt.Errorf("%s: %w: %w", what, venue.ErrUnknownOutcome, err)
		}
		return fmt.Errorf("%s: %w", what, c.mapAuth(c.skew(err)))
	}
}

func (c *Client) skew(err error) error {
	if apiCode(err) == -1021 {
		return fmt.Errorf("%w: %w", ErrClockSkew, err)
	}
	return err
}

// Start keeps the client fresh until ctx ends: it resyncs the clock and re-reads the symbol's
// rules every Config.RefreshEvery. A failed refresh is logged and retried at the next interval;
// the last good values stay in use.
func (c *Client) Start(ctx context.Context) error {
	t := time.NewTicker(c.cfg.RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := c.SyncTime(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Log.Warn().Err(err).Msg("binance time sync failed")
		}
		c.mu.Lock()
		c.rulesAt = time.Time{}
		c.mu.Unlock()
		if _, err := c.symbolRules(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Log.Warn().Err(err).Msg("binance rules refresh failed")
		}
	}
}

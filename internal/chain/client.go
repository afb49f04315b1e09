package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/rs/zerolog"
)

// Client reads one EVM chain and sends transactions to it through one or
// more JSON-RPC endpoints, with retries, backoff and fail-over. It is safe
// for concurrent use.
type Client struct {
	cfg     Config
	eps     []*endpoint
	pref    atomic.Int64 // index of the endpoint to try first: the last that worked
	log     zerolog.Logger
	metrics *Metrics
}

type endpoint struct {
	name     string // redacted URL
	rpc      *rpc.Client
	eth      *ethclient.Client
	verified atomic.Bool // chain id checked
	wrong    atomic.Bool // serves another chain: never used again
}

// Option configures a Client.
type Option func(*options)

type options struct {
	log        zerolog.Logger
	httpClient *http.Client
	metrics    *Metrics
}

// WithLogger sets the logger (default: none).
func WithLogger(l zerolog.Logger) Option { return func(o *options) { o.log = l } }

// WithHTTPClient sets the HTTP client whose transport reaches the endpoints
// (default: a client with keep-alives and no overall timeout; CallTimeout
// bounds each call).
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.httpClient = hc } }

// Dial prepares a client for cfg. HTTP endpoints are contacted lazily; each
// endpoint's chain id is verified on first use.
func Dial(ctx context.Context, cfg Config, opts ...Option) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	o := options{log: zerolog.Nop()}
	for _, opt := range opts {
		opt(&o)
	}
	base := http.DefaultTransport
	if o.httpClient != nil && o.httpClient.Transport != nil {
		base = o.httpClient.Transport
	}
	hc := &http.Client{Transport: retryAfterTransport{next: base}}
	if o.httpClient != nil {
		hc.Timeout = o.httpClient.Timeout
	}
	c := &Client{cfg: cfg, log: o.log.With().Uint64("chain", cfg.ChainID).Logger(), metrics: o.metrics}
	for _, u := range cfg.RPCURLs {
		rc, err := rpc.DialOptions(ctx, u, rpc.WithHTTPClient(hc))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("chain %d: dial %s: %w", cfg.ChainID, redactURL(u), err)
		}
		c.eps = append(c.eps, &endpoint{name: redactURL(u), rpc: rc, eth: ethclient.NewClient(rc)})
	}
	return c, nil
}

// Close releases the endpoints' connections.
func (c *Client) Close() {
	for _, ep := range c.eps {
		ep.rpc.Close()
	}
}

// ChainID is the configured chain id.
func (c *Client) ChainID() uint64 { return c.cfg.ChainID }

// Config is the configuration in use, defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// do runs fn against the endpoints until it succeeds, fails with an error
// retrying cannot fix, or the attempts are spent. It moves to the next
// endpoint after each retryable failure and backs off after each full round.
func (c *Client) do(ctx context.Context, op string, fn func(ctx context.Context, ep *endpoint) error) error {
	n := len(c.eps)
	start := int(c.pref.Load())
	var last error
	round := 0
	for attempt := 0; attempt < c.cfg.Retry.Attempts; attempt++ {
		if attempt > 0 && attempt%n == 0 {
			if c.allWrong() {
				return last
			}
			if err := c.cfg.Retry.Sleep(ctx, c.backoff(round, last)); err != nil {
				return errors.Join(last, err)
			}
			round++
		}
		idx := (start + attempt) % n
		ep := c.eps[idx]
		if ep.wrong.Load() {
			last = &Error{Op: op, Endpoint: ep.name, Class: ErrWrongChain, Err: errors.New("skipped")}
			continue
		}
		err := c.attempt(ctx, op, ep, fn)
		if err == nil {
			if idx != start {
				c.log.Info().Str("endpoint", ep.name).Str("op", op).Msg("rpc fail-over")
			}
			c.pref.Store(int64(idx))
			return nil
		}
		if errors.Is(err, ErrWrongChain) {
			last = err
			continue
		}
		if !retryable(err) {
			return err
		}
		last = err
		c.log.Debug().Err(err).Str("endpoint", ep.name).Str("op", op).Int("attempt", attempt).Msg("rpc retry")
		if ctx.Err() != nil {
			return errors.Join(last, ctx.Err())
		}
	}
	if last == nil {
		last = &Error{Op: op, Endpoint: "-", Class: ErrUnavailable, Err: errors.New("no usable endpoint")}
	}
	return last
}

// allWrong tells whether every endpoint serves another chain.
func (c *Client) allWrong() bool {
	for _, ep := range c.eps {
		if !ep.wrong.Load() {
			return false
		}
	}
	return true
}

func (c *Client) attempt(ctx context.Context, op string, ep *endpoint, fn func(ctx context.Context, ep *endpoint) error) (err error) {
	start := time.Now()
	defer func() { c.metrics.observe(c.cfg.ChainID, ep.name, op, time.Since(start), err) }()
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	if !ep.verified.Load() {
		id, err := ep.eth.ChainID(callCtx)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w", op, ctx.Err())
			}
			return classify(op+": chain id", ep.name, err, callCtx)
		}
		if !id.IsUint64() || id.Uint64() != c.cfg.ChainID {
			ep.wrong.Store(true)
			c.log.Error().Str("endpoint", ep.name).Stringer("served", id).Msg("rpc endpoint serves another chain; disabled")
			return &Error{Op: op, Endpoint: ep.name, Class: ErrWrongChain, Err: fmt.Errorf("serves chain %s", id)}
		}
		ep.verified.Store(true)
	}
	err = fn(callCtx, ep)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, ctx.Err()) // the caller gave up: not the endpoint's fault
	}
	return classify(op, ep.name, err, callCtx)
}

// backoff is the wait after a full round: exponential with jitter, at least
// the provider's Retry-After, at most MaxDelay.
func (c *Client) backoff(round int, last error) time.Duration {
	d := c.cfg.Retry.BaseDelay << min(round, 20)
	if d > c.cfg.Retry.MaxDelay || d <= 0 {
		d = c.cfg.Retry.MaxDelay
	}
	// Jitter in [d/2, d] keeps many clients from retrying in step.
	d = d/2 + rand.N(d/2+1) //nolint:gosec // jitter spreads retries; it guards nothing
	var e *Error
	if errors.As(last, &e) && e.RetryAfter > d {
		d = e.RetryAfter
	}
	return min(d, c.cfg.Retry.MaxDelay)
}

// blockArg renders a block number for JSON-RPC.
func blockArg(n uint64) *big.Int { return new(big.Int).SetUint64(n) }

// Verify contacts every endpoint now and checks its chain id, for start-up
// and readiness checks. It fails if any endpoint serves another chain (a
// configuration error to fix, even though reads would skip it) or if none
// answers; endpoints that are only unreachable are reported in the log.
func (c *Client) Verify(ctx context.Context) error {
	var (
		ok   int
		errs []error
	)
	for _, ep := range c.eps {
		err := c.attempt(ctx, "verify", ep, func(context.Context, *endpoint) error { return nil })
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrWrongChain):
			return err
		default:
			c.log.Warn().Err(err).Str("endpoint", ep.name).Msg("rpc endpoint unreachable at verify")
			errs = append(errs, err)
		}
	}
	if ok == 0 {
		return errors.Join(errs...)
	}
	return nil
}

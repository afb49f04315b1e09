package hyperliquid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// Config configures the adapter.
type Config struct {
	// BaseURL is the API root, e.g. https://api.hyperliquid.xyz. It never selects the network.
	BaseURL string
	// Network is mainnet or testnet, chosen explicitly.
	Network wire.Network
	// Key signs for the account. Agent (API) wallets cannot transfer or withdraw: use the master key.
	Key Key
	// Nonces issues the signer's nonces (persisted).
	Nonces Nonces
	// Base and Quote name the spot pair's tokens as spotMeta lists them (USDT0, USDC).
	Base, Quote string
	// MinNotional is the venue's minimum order value in the quote token (10); it is not in spotMeta.
	MinNotional string
	// WithdrawFee is withdraw3's fee in USDC (1); it is not in any info response.
	WithdrawFee string
	// WeightPerMinute is the request weight the adapter allows itself per minute (1200, the venue's
	// per-IP limit; set lower when several processes share an IP).
	WeightPerMinute int
	// MetaTTL is how long spotMeta and the fee rates are reused before they are read again (5m):
	// spotMeta weighs 20 and changes only when the venue lists tokens or changes tick rules.
	MetaTTL time.Duration
	// Timeout bounds one HTTP request (10s).
	Timeout time.Duration
	// Resends is how many times an ambiguous /exchange request is resent with the same bytes (3).
	Resends int
	// LookupLag is how long an action that may have landed is looked up before it is trusted to be
	// absent (2s): the venue's state can trail its answer.
	LookupLag time.Duration
	// HTTP is the client (a new one with Timeout).
	HTTP *http.Client
	// Now and Sleep are the clock (time.Now, a timer honouring ctx).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Log   zerolog.Logger
	// User, when Key is not set, is the account a read-only client reads (see NewReadOnly).
	User common.Address
	// Metrics receives rebal_venue_requests_total and rebal_venue_errors_total (nil: none).
	Metrics prometheus.Registerer
}

// Client is the Hyperliquid venue adapter. Build it with New; it is safe for concurrent use.
type Client struct {
	cfg     Config
	limiter *limiter
	meta    atomic.Pointer[Meta]
	cacheMu sync.Mutex
	metaAt  time.Time
	fees    *Fees
	feesAt  time.Time
	m       *venue.Metrics
}

// New builds a client and resolves spot metadata (pair, token indices, decimals) from the venue.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if !cfg.Network.Valid() {
		return nil, fmt.Errorf("%w: %w", ErrConfig, wire.ErrBadNetwork)
	}
	if cfg.BaseURL == "" || (!cfg.Key.valid() && cfg.User == (common.Address{})) || cfg.Nonces == nil {
		return nil, fmt.Errorf("%w: BaseURL, Key (or User, read-only) and Nonces are required", ErrConfig)
	}
	if cfg.Base == "" {
		cfg.Base = "USDT0"
	}
	if cfg.Quote == "" {
		cfg.Quote = "USDC"
	}
	if cfg.MinNotional == "" {
		cfg.MinNotional = "10"
	}
	if cfg.WithdrawFee == "" {
		cfg.WithdrawFee = "1"
	}
	if cfg.WeightPerMinute == 0 {
		cfg.WeightPerMinute = 1200
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MetaTTL == 0 {
		cfg.MetaTTL = 5 * time.Minute
	}
	if cfg.Resends == 0 {
		cfg.Resends = 3
	}
	if cfg.LookupLag == 0 {
		cfg.LookupLag = 2 * time.Second
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	c := &Client{cfg: cfg, limiter: &limiter{limit: cfg.WeightPerMinute, now: cfg.Now, sleep: cfg.Sleep}, m: venue.NewMetrics(cfg.Metrics)}
	if err := c.Refresh(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Address is the account the client trades for.
func (c *Client) Address() string {
	if !c.cfg.Key.valid() {
		return c.cfg.User.Hex()
	}
	return c.cfg.Key.Address().Hex()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// rawPost sends body to path after reserving weight and decodes a 200 answer into out (post, in
// metrics.go, counts it).
func (c *Client) rawPost(ctx context.Context, path string, weight int, body []byte, out any) error {
	if err := c.limiter.wait(ctx, weight); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.cfg.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%w: read body: %w", ErrUnavailable, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return ErrRateLimited
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: HTTP %d", ErrUnavailable, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: HTTP %d: %s", ErrBadRequest, resp.StatusCode, truncate(b))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%w: decode %s answer: %w", ErrBadRequest, path, err)
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

// info posts an /info request, retrying rate limits and unavailability (reads are idempotent).
func (c *Client) info(ctx context.Context, req map[string]any, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	typ, _ := req["type"].(string)
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err = c.post(ctx, "/info", infoWeight(typ), body, out)
		if err == nil || !ambiguous(err) || attempt >= 4 || ctx.Err() != nil {
			if err != nil {
				return fmt.Errorf("info %s: %w", typ, err)
			}
			return nil
		}
		if serr := c.cfg.Sleep(ctx, backoff); serr != nil {
			return fmt.Errorf("info %s: %w", typ, err)
		}
		backoff *= 2
	}
}

func infoWeight(typ string) int {
	switch typ {
	case "l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus":
		return 2
	}
	return 20
}

// exchangeAnswer is the /exchange envelope: response is an object on success and a string on error.
type exchangeAnswer struct {
	Status   string          `json:"status"`
	Response json.RawMessage `json:"response"`
}

// send posts signed bytes to /exchange once.
func (c *Client) send(ctx context.Context, body []byte, weight int) (json.RawMessage, error) {
	var ans exchangeAnswer
	if err := c.post(ctx, "/exchange", weight, body, &ans); err != nil {
		return nil, err
	}
	if ans.Status != "ok" {
		var msg string
		if json.Unmarshal(ans.Response, &msg) != nil {
			msg = truncate(ans.Response)
		}
		c.m.Error(venueName, "/exchange", venue.ClassRejected)
		return nil, &VenueError{Msg: msg}
	}
	return ans.Response, nil
}

// limiter keeps the adapter within its request weight per minute.
type limiter struct {
	limit int
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	mu    sync.Mutex
	spent []spend
}

type spend struct {
	at     time.Time
	weight int
}

func (l *limiter) wait(ctx context.Context, weight int) error {
	if weight > l.limit {
		return errors.New("hyperliquid: request weight above the per-minute limit")
	}
	for {
		l.mu.Lock()
		now := l.now()
		kept := l.spent[:0]
		total := 0
		for _, s := range l.spent {
			if now.Sub(s.at) < time.Minute {
				kept = append(kept, s)
				total += s.weight
			}
		}
		l.spent = kept
		if total+weight <= l.limit {
			l.spent = append(l.spent, spend{at: now, weight: weight})
			l.mu.Unlock()
			return nil
		}
		wait := time.Minute - now.Sub(l.spent[0].at)
		l.mu.Unlock()
		if err := l.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

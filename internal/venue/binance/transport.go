package binance

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// transport sees what go-binance hides: HTTP 429/418 with Retry-After, 5xx, and the used-weight
// headers. It turns 429/418 into RateLimitError and 5xx into StatusError, and makes every later
// request wait (up to MaxWait) while a back-off is in force or the minute's weight is nearly
// spent. It is shared by every request of one client and guards its state with a mutex.
type transport struct {
	base    http.RoundTripper
	now     func() time.Time
	sleep   func(req *http.Request, d time.Duration) error
	maxWait time.Duration
	// m counts requests and errors (metrics.go).
	m        *venue.Metrics
	apiLimit int
	sapiLim  int

	mu         sync.Mutex
	until      time.Time // no request before this
	apiUsed    int
	sapiUsed   int
	usedWindow time.Time
	limited    int // 429/418 seen
}

func (t *transport) roundTrip(req *http.Request) (*http.Response, error) {
	if wait := t.wait(); wait > 0 {
		if wait > t.maxWait {
			return nil, &RateLimitError{Status: http.StatusTooManyRequests, Until: t.now().Add(wait)}
		}
		if err := t.sleep(req, wait); err != nil {
			return nil, err
		}
	}
	res, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.observe(req, res)
	switch {
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusTeapot:
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
		_ = res.Body.Close()
		until := t.now().Add(retryAfter(res.Header))
		t.mu.Lock()
		if until.After(t.until) {
			t.until = until
		}
		t.limited++
		t.mu.Unlock()
		return nil, &RateLimitError{Status: res.StatusCode, Until: until}
	case res.StatusCode >= 500:
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		_ = res.Body.Close()
		return nil, &StatusError{Status: res.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	return res, nil
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return time.Second
}

func (t *transport) wait() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if now.Before(t.until) {
		return t.until.Sub(now)
	}
	return 0
}

// observe records the used weight; above 90% of a limit, requests wait for the next minute.
func (t *transport) observe(req *http.Request, res *http.Response) {
	api := headerInt(res.Header, "X-Mbx-Used-Weight-1m")
	sapi := max(headerInt(res.Header, "X-Sapi-Used-Ip-Weight-1m"), headerInt(res.Header, "X-Sapi-Used-Uid-Weight-1m"))
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	win := now.Truncate(time.Minute)
	if !win.Equal(t.usedWindow) {
		t.usedWindow, t.apiUsed, t.sapiUsed = win, 0, 0
	}
	if api >= 0 {
		t.apiUsed = api
	}
	if sapi >= 0 {
		t.sapiUsed = sapi
	}
	if (t.apiUsed*10 >= t.apiLimit*9) || (t.sapiUsed*10 >= t.sapiLim*9) {
		next := win.Add(time.Minute)
		if next.After(t.until) {
			t.until = next
		}
	}
}

func headerInt(h http.Header, name string) int {
	v := h.Get(name)
	if v == "" {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return -1
	}
	return n
}

// Weights reports the last seen used weights of the current minute and how many 429/418 answers
// the client has received.
type Weights struct {
	API, SAPI, RateLimited int
	BackoffUntil           time.Time
}

func (t *transport) weights() Weights {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Weights{API: t.apiUsed, SAPI: t.sapiUsed, RateLimited: t.limited, BackoffUntil: t.until}
}

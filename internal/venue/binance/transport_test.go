package binance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a manual clock whose sleeps advance it.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(_ *http.Request, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return nil
}

func TestTransport(t *testing.T) {
	type answer struct {
		status int
		header map[string]string
	}
	tests := []struct {
		name    string
		answers []answer
		// after the answers, what the next request does
		wantErr   error
		wantSleep time.Duration // the wait before the last request (0: none)
		maxWait   time.Duration
	}{
		{
			name:    "429 with Retry-After makes the next request wait",
			answers: []answer{{status: 429, header: map[string]string{"Retry-After": "7"}}},
			wantErr: ErrRateLimited, wantSleep: 7 * time.Second,
		},
		{
			name:    "418 ban is honoured the same way",
			answers: []answer{{status: 418, header: map[string]string{"Retry-After": "120"}}},
			wantErr: ErrRateLimited, wantSleep: 120 * time.Second, maxWait: 5 * time.Minute,
		},
		{
			name:    "a ban longer than MaxWait fails fast",
			answers: []answer{{status: 418, header: map[string]string{"Retry-After": "600"}}},
			wantErr: ErrRateLimited, wantSleep: -1,
		},
		{
			name:      "used weight above 90% waits for the next minute",
			answers:   []answer{{status: 200, header: map[string]string{"X-MBX-USED-WEIGHT-1M": "5500"}}},
			wantSleep: 30 * time.Second, // the clock starts at hh:mm:30
		},
		{
			name:      "sapi weight counts too",
			answers:   []answer{{status: 200, header: map[string]string{"X-SAPI-USED-UID-WEIGHT-1M": "11000"}}},
			wantSleep: 30 * time.Second,
		},
		{
			name:    "weight below the threshold does not wait",
			answers: []answer{{status: 200, header: map[string]string{"X-MBX-USED-WEIGHT-1M": "5000"}}},
		},
		{
			name:    "5xx is a StatusError",
			answers: []answer{{status: 503}},
			wantErr: ErrServer,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			i := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				a := answer{status: 200}
				if i < len(tc.answers) {
					a = tc.answers[i]
				}
				i++
				for k, v := range a.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(a.status)
				_, _ = w.Write([]byte(`{}`))
			}))
			t.Cleanup(srv.Close)
			clk := &fakeClock{t: time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)}
			maxWait := tc.maxWait
			if maxWait == 0 {
				maxWait = 30 * time.Second
			}
			tr := &transport{base: http.DefaultTransport, now: clk.now, sleep: clk.sleep, maxWait: maxWait, apiLimit: 6000, sapiLim: 12000}
			cl := &http.Client{Transport: tr}
			get := func() (*http.Response, error) {
				req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
				require.NoError(t, err)
				return cl.Do(req)
			}
			res, err := get()
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
				res.Body.Close()
			}
			res, err = get()
			switch {
			case tc.wantSleep < 0:
				var rl *RateLimitError
				require.True(t, errors.As(err, &rl), "want RateLimitError, got %v", err)
				require.Empty(t, clk.slept)
				mu.Lock()
				require.Equal(t, 1, i, "the request was not sent")
				mu.Unlock()
			case tc.wantSleep > 0:
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, []time.Duration{tc.wantSleep}, clk.slept)
			default:
				require.NoError(t, err)
				res.Body.Close()
				require.Empty(t, clk.slept)
			}
		})
	}
}

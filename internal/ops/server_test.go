package ops_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/ops"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
)

func start(t *testing.T, checks ...ops.Check) string {
	t.Helper()
	s := ops.New(ops.Config{Addr: "127.0.0.1:0", CheckTimeout: 200 * time.Millisecond}, zerolog.Nop())
	for _, c := range checks {
		s.AddCheck(c)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "rebal_test_total", Help: "test"})
	s.Registry().MustRegister(c)
	c.Add(3)
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return "http://" + s.Addr()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestReadyzReportsEachCheck(t *testing.T) {
	t.Parallel()
	natsUp := true
	base := start(t,
		ops.Condition("nats", func() bool { return natsUp }, "not connected"),
		ops.Check{Name: "slow", Fn: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		ops.Check{Name: "boom", Fn: func(context.Context) error { panic("bad check") }},
	)
	code, body := get(t, base+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	var got struct {
		Ready  bool
		Checks []ops.CheckResult
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.False(t, got.Ready)
	require.Len(t, got.Checks, 3)
	byName := map[string]ops.CheckResult{}
	for _, c := range got.Checks {
		byName[c.Name] = c
	}
	require.True(t, byName["nats"].OK)
	require.Contains(t, byName["slow"].Error, "timed out")
	require.Contains(t, byName["boom"].Error, "panicked")

	code, _ = get(t, base+"/livez")
	require.Equal(t, http.StatusOK, code, "livez ignores failing dependencies")
}

func TestReadyzRedisAndMetricsAndPprof(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	base := start(t, ops.RedisPing(r.Client(t)))
	code, body := get(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code, body)

	code, body = get(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "rebal_test_total 3")
	require.Contains(t, body, "go_goroutines")

	code, body = get(t, base+"/debug/pprof/")
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.Contains(body, "goroutine"))
}

func TestReadyzFailsWhenRedisDown(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t, testenv.WithAOF())
	base := start(t, ops.RedisPing(r.Client(t)))
	r.Server.Stop()
	code, body := get(t, base+"/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, `"name":"redis"`)
}

package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
)

// Redis is a Redis server for one test.
type Redis struct {
	// URL is the server's redis:// URL.
	URL string
	// Server is the child process, nil when the test runs against REDIS_URL (which cannot be
	// restarted or killed by a test).
	Server *localinfra.Redis
}

// RedisOption changes how Redis starts the server.
type RedisOption func(*localinfra.RedisOptions)

// WithAOF turns on the append-only file, for tests that restart Redis and expect data to survive.
func WithAOF() RedisOption { return func(o *localinfra.RedisOptions) { o.AppendOnly = true } }

// StartRedis starts a private redis-server for the test, or uses REDIS_URL when it is set and no
// option asks for a private server. Tests that share REDIS_URL must keep to their own keys: use
// UniqueName for account names and key prefixes.
func StartRedis(tb testing.TB, opts ...RedisOption) *Redis {
	tb.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" && len(opts) == 0 {
		return &Redis{URL: u}
	}
	o := localinfra.RedisOptions{Dir: tb.TempDir()}
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	srv, err := localinfra.StartRedis(ctx, o)
	if errors.Is(err, localinfra.ErrNoRedisServer) {
		tb.Fatalf("testenv: %v (run `make test`, which installs it where it can)", err)
	}
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return &Redis{URL: srv.URL(), Server: srv}
}

// Client returns a go-redis client for the server, closed when the test ends.
func (r *Redis) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(r.URL)
	if err != nil {
		tb.Fatalf("testenv: parse redis url: %v", err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// UniqueName returns prefix plus random hex, for keys that must not collide with parallel tests
// sharing one server.
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

package devnet

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/alicebob/miniredis/v2"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
)

// RedisSource says where devnet's Redis came from.
type RedisSource string

// Where Redis comes from, in order of preference.
const (
	RedisFromEnv      RedisSource = "REDIS_URL"
	RedisServer       RedisSource = "redis-server"
	RedisEmbedded     RedisSource = "embedded"
	redisEmbeddedNote             = "no REDIS_URL and no redis-server on PATH: using the embedded Redis-protocol server (in memory; the ledger is lost when devnet stops)"
)

// startRedis finds a Redis: REDIS_URL, else a redis-server child process with AOF in dir, else an
// embedded Redis-protocol server (enough of Redis for the ledger's commands and Lua scripts). The
// returned stop function is safe to call once.
func startRedis(ctx context.Context, dir string, log zerolog.Logger) (url string, src RedisSource, stop func(), err error) {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u, RedisFromEnv, func() {}, nil
	}
	srv, err := localinfra.StartRedis(ctx, localinfra.RedisOptions{Dir: dir, AppendOnly: true})
	switch {
	case err == nil:
		return srv.URL(), RedisServer, func() { _ = srv.Close() }, nil
	case !errors.Is(err, localinfra.ErrNoRedisServer):
		return "", "", nil, err
	}
	log.Warn().Msg(redisEmbeddedNote)
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return "", "", nil, fmt.Errorf("embedded redis: %w", err)
	}
	return "redis://" + m.Addr() + "/0", RedisEmbedded, m.Close, nil
}

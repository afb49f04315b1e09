package executor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// Lease is this replica's claim to be the one writer of a (venue, account): a Redis key set with
// NX and a short TTL, holding a fencing token from a counter and the replica's id. It is renewed
// every TTL/3 with a compare-and-expire; a replica that fails to renew stops side effects as soon
// as its last successful renewal is older than TTL minus a safety margin, before the key can
// expire for the others.
type Lease struct {
	rdb     redis.UniversalClient
	key     string
	fenceK  string
	replica string
	ttl     time.Duration
	now     func() time.Time
	log     zerolog.Logger

	mu      sync.Mutex
	value   string
	fence   uint64
	validTo time.Time // local clock: side effects allowed strictly before
	lost    chan struct{}
}

var acquireScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
local f = redis.call('INCR', KEYS[2])
local v = f .. ':' .. ARGV[1]
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return v
`)

var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

func newLease(rdb redis.UniversalClient, account, venue, replica string, ttl time.Duration, now func() time.Time, log zerolog.Logger) *Lease {
	return &Lease{rdb: rdb, key: leaseKey(account, venue), fenceK: fenceKey(account, venue), replica: replica, ttl: ttl, now: now,
		log: log.With().Str("lease", venue+"/"+account).Logger()}
}

// margin is the part of the TTL a holder gives up to clock drift and Redis latency.
func (l *Lease) margin() time.Duration { return l.ttl / 4 }

// Held returns the fencing token while the lease is valid, and false otherwise.
func (l *Lease) Held() (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.value == "" || !l.now().Before(l.validTo) {
		return 0, false
	}
	return l.fence, true
}

// Lost returns a channel closed when the lease held now is lost (nil when none is held).
func (l *Lease) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// tryOnce acquires the lease if free, or renews it if held; it reports whether it is held.
func (l *Lease) tryOnce(ctx context.Context) bool {
	start := l.now()
	l.mu.Lock()
	held := l.value
	l.mu.Unlock()
	ms := strconv.FormatInt(l.ttl.Milliseconds(), 10)
	if held != "" {
		n, err := renewScript.Run(ctx, l.rdb, []string{l.key}, held, ms).Int()
		if err == nil && n == 1 {
			l.mu.Lock()
			l.validTo = start.Add(l.ttl - l.margin())
			l.mu.Unlock()
			return true
		}
		if err == nil || !l.stillValid() {
			l.drop(fmt.Sprintf("renew failed: %v", err))
		}
		return false
	}
	v, err := acquireScript.Run(ctx, l.rdb, []string{l.key, l.fenceK}, l.replica, ms).Text()
	if err != nil {
		return false
	}
	f, id, ok := strings.Cut(v, ":")
	if !ok || id != l.replica {
		return false
	}
	fence, _ := strconv.ParseUint(f, 10, 64)
	l.mu.Lock()
	l.value, l.fence, l.validTo, l.lost = v, fence, start.Add(l.ttl-l.margin()), make(chan struct{})
	l.mu.Unlock()
	l.log.Info().Uint64("fence", fence).Msg("lease acquired")
	return true
}

func (l *Lease) stillValid() bool { _, ok := l.Held(); return ok }

func (l *Lease) drop(why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.value == "" {
		return
	}
	if why == "released" {
		// Giving the lease back on shutdown is the normal end, not an alarm.
		l.log.Info().Uint64("fence", l.fence).Msg("lease released; side effects stop")
	} else {
		l.log.Warn().Uint64("fence", l.fence).Str("why", why).Msg("lease lost; side effects stop")
	}
	l.value, l.validTo = "", time.Time{}
	close(l.lost)
	l.lost = nil
}

// Start keeps the lease: it acquires it when free and renews it every TTL/3 until ctx ends. It
// does not release the lease on return (a crashed replica cannot either); Release does.
func (l *Lease) Start(ctx context.Context) error {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		l.tryOnce(ctx)
		if _, ok := l.Held(); !ok {
			l.drop("expired")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Release gives the lease up at a graceful shutdown so another replica takes over at once.
func (l *Lease) Release(ctx context.Context) {
	l.mu.Lock()
	v := l.value
	l.mu.Unlock()
	if v == "" {
		return
	}
	l.drop("released")
	_ = releaseScript.Run(ctx, l.rdb, []string{l.key}, v).Err()
}

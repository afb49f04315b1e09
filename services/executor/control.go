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

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Control is the kill switch and pause state. A command on rebal.v1.control.> is written to Redis
// (rebal:v1:exec:control, field <scope>:kill or <scope>:pause = "<stream seq>:<0|1>", a newer
// sequence always winning), so it survives restarts of the executor and of NATS and reaches every
// replica; each replica re-reads it every refresh period (200ms) and checks it before every side
// effect. A replica that cannot read it for staleAfter treats every venue as halted: it fails
// closed.
type Control struct {
	rdb        redis.UniversalClient
	now        func() time.Time
	log        zerolog.Logger
	refresh    time.Duration
	staleAfter time.Duration

	mu     sync.Mutex
	state  map[string]bool // "<scope>:kill", "<scope>:pause" → on
	readAt time.Time
}

func newControl(rdb redis.UniversalClient, now func() time.Time, log zerolog.Logger) *Control {
	return &Control{rdb: rdb, now: now, log: log, refresh: 200 * time.Millisecond, staleAfter: 2 * time.Second, state: map[string]bool{}}
}

var controlScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local seq = tonumber(string.match(cur, '^(%d+):'))
  if seq and seq >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
return 1
`)

// apply records a control command seen at stream sequence seq.
func (c *Control) apply(ctx context.Context, cmd *events.ControlCommand, seq uint64) error {
	field, on := "", "0"
	switch cmd.Verb {
	case events.VerbKill:
		field, on = cmd.Scope+":kill", "1"
	case events.VerbUnkill:
		field = cmd.Scope + ":kill"
	case events.VerbPause:
		field, on = cmd.Scope+":pause", "1"
	case events.VerbResume:
		field = cmd.Scope + ":pause"
	default:
		return bus.Reject(fmt.Errorf("control: unknown verb %q", cmd.Verb))
	}
	if err := controlScript.Run(ctx, c.rdb, []string{controlKey}, field, strconv.FormatUint(seq, 10), on).Err(); err != nil {
		return fmt.Errorf("control: record %s %s: %w", cmd.Verb, cmd.Scope, err)
	}
	c.log.Warn().Str("verb", string(cmd.Verb)).Str("scope", cmd.Scope).Str("reason", cmd.Reason).Str("operator", cmd.Operator).
		Uint64("seq", seq).Msg("control command recorded")
	return c.load(ctx)
}

// load reads the control state from Redis.
func (c *Control) load(ctx context.Context) error {
	m, err := c.rdb.HGetAll(ctx, controlKey).Result()
	if err != nil {
		return fmt.Errorf("control: read: %w", err)
	}
	st := make(map[string]bool, len(m))
	for k, v := range m {
		st[k] = strings.HasSuffix(v, ":1")
	}
	c.mu.Lock()
	c.state, c.readAt = st, c.now()
	c.mu.Unlock()
	return nil
}

// Halted reports whether side effects on venue must not run, and why.
func (c *Control) Halted(venue string) (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readAt.IsZero() || c.now().Sub(c.readAt) > c.staleAfter {
		return true, "control state unknown"
	}
	for _, k := range []string{events.ScopeAll + ":kill", venue + ":kill", events.ScopeAll + ":pause", venue + ":pause"} {
		if c.state[k] {
			return true, k
		}
	}
	return false, ""
}

// Start re-reads the control state every refresh period until ctx ends.
func (c *Control) Start(ctx context.Context) error {
	t := time.NewTicker(c.refresh)
	defer t.Stop()
	for {
		if err := c.load(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn().Err(err).Msg("control state not refreshed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

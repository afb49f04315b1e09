package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
)

// RedisPrepared keeps Hyperliquid's signed-before-sent actions in Redis, so that any executor
// replica that takes the lease over resends the same bytes instead of signing a second action.
type RedisPrepared struct {
	R      redis.UniversalClient
	Prefix string // e.g. "rebal:v1:hl:<account>:prepared:"
}

var _ hyperliquid.PreparedStore = RedisPrepared{}

// Load implements hyperliquid.PreparedStore.
func (s RedisPrepared) Load(ctx context.Context, key string) (hyperliquid.Prepared, bool, error) {
	b, err := s.R.Get(ctx, s.Prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return hyperliquid.Prepared{}, false, nil
	}
	if err != nil {
		return hyperliquid.Prepared{}, false, fmt.Errorf("load prepared %s: %w", key, err)
	}
	var p hyperliquid.Prepared
	if err := json.Unmarshal(b, &p); err != nil {
		return hyperliquid.Prepared{}, false, fmt.Errorf("load prepared %s: %w", key, err)
	}
	return p, true, nil
}

// Save implements hyperliquid.PreparedStore.
func (s RedisPrepared) Save(ctx context.Context, key string, p hyperliquid.Prepared) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := s.R.Set(ctx, s.Prefix+key, b, 0).Err(); err != nil {
		return fmt.Errorf("save prepared %s: %w", key, err)
	}
	return nil
}

// Delete implements hyperliquid.PreparedStore.
func (s RedisPrepared) Delete(ctx context.Context, key string) error {
	return s.R.Del(ctx, s.Prefix+key).Err()
}

// nextNonce hands out max(now in ms, last + 1) atomically, which is what Hyperliquid wants: unique,
// increasing, and close to the wall clock.
var nextNonce = redis.NewScript(`
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local now = tonumber(ARGV[1])
local n = now
if last >= n then n = last + 1 end
redis.call('SET', KEYS[1], tostring(n))
return tostring(n)
`)

// RedisNonces issues a Hyperliquid signer's nonces from Redis: unique and increasing across
// restarts and across replicas (one key per signer).
type RedisNonces struct {
	R   redis.UniversalClient
	Key string
	Now func() time.Time
}

var _ hyperliquid.Nonces = RedisNonces{}

// Next implements hyperliquid.Nonces.
func (n RedisNonces) Next(ctx context.Context) (uint64, error) {
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	s, err := nextNonce.Run(ctx, n.R, []string{n.Key}, now().UnixMilli()).Text()
	if err != nil {
		return 0, fmt.Errorf("hyperliquid nonce: %w", err)
	}
	var v uint64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return 0, fmt.Errorf("hyperliquid nonce %q: %w", s, err)
	}
	return v, nil
}

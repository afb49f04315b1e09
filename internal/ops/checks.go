package ops

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// RedisPing is a readiness check that PINGs Redis within the check's timeout.
func RedisPing(c redis.UniversalClient) Check {
	return Check{Name: "redis", Fn: func(ctx context.Context) error { return c.Ping(ctx).Err() }}
}

// Condition is a readiness check on a boolean the service keeps (NATS connected, consumer bound).
func Condition(name string, ok func() bool, why string) Check {
	return Check{Name: name, Fn: func(context.Context) error {
		if ok() {
			return nil
		}
		return errors.New(why)
	}}
}

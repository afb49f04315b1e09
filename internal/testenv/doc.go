// Package testenv gives tests real infrastructure without Docker: an embedded nats-server with
// JetStream on a free port with a temporary store, and a real redis-server on a free port (or the
// server at REDIS_URL when that is set). Every server is stopped and its files removed by t.Cleanup,
// and nothing is shared between tests, so packages run in parallel without colliding.
//
// When redis-server is missing the test fails with what to install; it never skips silently.
// `make test` installs redis-server first where it can (scripts/ensure-redis.sh).
package testenv

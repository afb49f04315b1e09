// Package localinfra starts the infrastructure the rebalancer needs on one machine: an embedded
// nats-server with JetStream and a redis-server child process. Tests use it through
// internal/testenv; `rebalancer devnet` uses it directly.
//
// Both servers listen on 127.0.0.1 on a free port chosen by the kernel, keep their data in a
// directory the caller owns, and can be stopped and started again on the same port and data, which is
// how tests restart NATS or Redis in the middle of a run. Nothing here reads or writes the machine's
// system services.
package localinfra

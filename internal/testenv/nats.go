package testenv

import (
	"testing"

	"github.com/rebalancer-dev/rebalancer/internal/localinfra"
)

// NATS starts an embedded nats-server with JetStream for the test. The server and its store are
// removed when the test ends. Use its URL() to connect and Restart() to bounce it mid-test.
func NATS(tb testing.TB) *localinfra.NATS {
	tb.Helper()
	n, err := localinfra.StartNATS(localinfra.NATSOptions{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(n.Stop)
	return n
}

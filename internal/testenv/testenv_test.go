package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/testenv"
)

func TestNATSJetStreamAndRestart(t *testing.T) {
	t.Parallel()
	srv := testenv.NATS(t)
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	require.NoError(t, err)
	defer nc.Close()
	js, err := nc.JetStream()
	require.NoError(t, err)
	_, err = js.AddStream(&nats.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: nats.FileStorage})
	require.NoError(t, err)
	_, err = js.Publish("t.a", []byte("one"))
	require.NoError(t, err)

	require.NoError(t, srv.Restart())
	require.Eventually(t, nc.IsConnected, 5*time.Second, 10*time.Millisecond)
	info, err := js.StreamInfo("T")
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "the file store must survive a restart")
}

func TestRedisAOFSurvivesKill(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t, testenv.WithAOF())
	c := r.Client(t)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, r.Server.Restart(ctx))
	got, err := c.Get(ctx, "k").Result()
	require.NoError(t, err)
	require.Equal(t, "v", got)
}

func TestRedisServersAreIsolated(t *testing.T) {
	t.Parallel()
	a := testenv.StartRedis(t, testenv.WithAOF())
	b := testenv.StartRedis(t, testenv.WithAOF())
	require.NotEqual(t, a.URL, b.URL)
	ctx := context.Background()
	require.NoError(t, a.Client(t).Set(ctx, "k", "a", 0).Err())
	require.ErrorContains(t, b.Client(t).Get(ctx, "k").Err(), "nil")
}

package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func TestControlPublishesACommand(t *testing.T) {
	srv := testenv.NATS(t)
	var out, errOut bytes.Buffer
	ctx := context.Background()
	require.NoError(t, run(ctx, []string{"control", "kill", "--nats", srv.URL(), "--reason", "withdrawals look wrong", "--operator", "alice"}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "kill all published")

	b, err := bus.Connect(ctx, bus.Config{URL: srv.URL(), Name: "reader"}, zerolog.Nop(), nil)
	require.NoError(t, err)
	defer func() { _ = b.Close(ctx) }()
	m, err := b.LastBySubject(ctx, "rebal.v1.control.kill")
	require.NoError(t, err)
	require.NotNil(t, m)
	cmd, ok := m.Event.(*events.ControlCommand)
	require.True(t, ok)
	require.Equal(t, "alice", cmd.Operator)
	require.Equal(t, events.ScopeAll, cmd.Scope)

	err = run(ctx, []string{"control", "kill", "--nats", srv.URL()}, &out, &errOut)
	require.ErrorIs(t, err, errUsage, "a kill without a reason is refused")
	err = run(ctx, []string{"control", "explode", "--nats", srv.URL(), "--reason", "x"}, &out, &errOut)
	require.ErrorIs(t, err, errUsage)
}

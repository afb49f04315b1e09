package bus

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func TestLastBySubject(t *testing.T) {
	b := newTestBus(t, nil, "balancewatcher")
	ctx := ctxTimeout(t, 10*time.Second)

	m, err := b.LastBySubject(ctx, ledgerSubject())
	require.NoError(t, err)
	require.Nil(t, m, "nothing stored yet")

	for i := uint64(1); i <= 3; i++ {
		_, err := b.Publish(ctx, watermark(i))
		require.NoError(t, err)
	}
	_, err = b.Publish(ctx, pauseCommand("cmd-1")) // newer, on another subject
	require.NoError(t, err)

	m, err = b.LastBySubject(ctx, ledgerSubject())
	require.NoError(t, err)
	require.NotNil(t, m)
	require.Equal(t, uint64(3), m.Seq)
	require.NoError(t, m.DecodeErr)
	require.Equal(t, uint64(3), m.Event.(*events.LedgerWatermark).AsOf)
}

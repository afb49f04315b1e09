package hyperliquid_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestReadOnlyReadsBalancesByAddress reads an account's balances with its address only, and
// checks that an action fails before anything reaches the venue.
func TestReadOnlyReadsBalancesByAddress(t *testing.T) {
	sim, url := newSim(t, envOpts{})
	user := common.HexToAddress("0x00000000000000000000000000000000000000a1")
	require.NoError(t, sim.Credit(user, "USDC", usd("1234.5")))
	reg := prometheus.NewRegistry()
	v, err := hyperliquid.NewReadOnly(context.Background(), hyperliquid.Config{BaseURL: url, Network: wire.Mainnet, Metrics: reg}, user, hyperliquid.VenueConfig{})
	require.NoError(t, err)

	snap, err := v.Balances(context.Background())
	require.NoError(t, err)
	require.Equal(t, user.Hex(), snap.Account)
	var spot *big.Int
	for _, b := range snap.Balances {
		if b.Token == "USDC" && b.Wallet == "spot" {
			spot = b.Free.Units
		}
	}
	require.NotNil(t, spot)
	require.Equal(t, usd("1234.5").String(), spot.String())

	_, err = v.Swap(context.Background(), venue.SwapRequest{IntentID: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90", Step: "order",
		From: "USDC", To: "USDT", In: venue.NewAmount(usd("20"), 8), MinOut: venue.NewAmount(usd("19"), 8)})
	require.ErrorIs(t, err, hyperliquid.ErrReadOnly)
	require.Zero(t, sim.Count(hlsim.EvOrder, user, ""), "nothing was sent")

	require.Positive(t, counterValue(t, reg, "rebal_venue_requests_total", map[string]string{"venue": "hyperliquid", "endpoint": "/info"}))
}

// TestVenueErrorsCountedByClass injects a rate limit and a server error on an info read: the read
// succeeds on retry and each failure is counted under its class.
func TestVenueErrorsCountedByClass(t *testing.T) {
	sim, url := newSim(t, envOpts{})
	user := common.HexToAddress("0x00000000000000000000000000000000000000a2")
	reg := prometheus.NewRegistry()
	v, err := hyperliquid.NewReadOnly(context.Background(), hyperliquid.Config{BaseURL: url, Network: wire.Mainnet, Metrics: reg}, user, hyperliquid.VenueConfig{})
	require.NoError(t, err)
	sim.InjectFault(hlsim.Fault{Endpoint: "info", Type: "spotClearinghouseState", Kind: hlsim.FaultRateLimit, Times: 1})
	sim.InjectFault(hlsim.Fault{Endpoint: "info", Type: "clearinghouseState", Kind: hlsim.FaultServerError, Times: 2})
	_, err = v.Balances(context.Background())
	require.NoError(t, err)
	errs := func(class string) float64 {
		return counterValue(t, reg, "rebal_venue_errors_total", map[string]string{"venue": "hyperliquid", "endpoint": "/info", "class": class})
	}
	require.Equal(t, 1.0, errs("rate_limited"))
	require.Equal(t, 2.0, errs("server"))
	require.Zero(t, errs("rejected"))
}

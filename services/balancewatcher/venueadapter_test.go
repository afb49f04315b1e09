package balancewatcher_test

import (
	"context"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/services/balancewatcher"
)

// TestVenueSnapshotsFromTheHyperliquidAdapter publishes Hyperliquid balances read through the
// real adapter from the simulator, which speaks the venue's wire protocol.
func TestVenueSnapshotsFromTheHyperliquidAdapter(t *testing.T) {
	t.Parallel()
	levels := []hlsim.Level{{Px: "1.0001", Sz: "1000"}}
	tokens, pairs := hlsim.MainnetLikeTokens(common.Address{1}, common.Address{2}, levels, levels)
	sim, err := hlsim.New(hlsim.Config{Network: wire.Mainnet, Tokens: tokens, Pairs: pairs}, zerolog.Nop())
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	acct := crypto.PubkeyToAddress(key.PublicKey)
	require.NoError(t, sim.Credit(acct, "USDC", big.NewInt(123_45000000))) // 123.45 USDC in HyperCore's 8 decimals

	nonces, err := hyperliquid.NewFileNonces(t.TempDir()+"/nonce", nil)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := hyperliquid.New(ctx, hyperliquid.Config{BaseURL: srv.URL, Network: wire.Mainnet, Key: hyperliquid.NewKey(key), Nonces: nonces, Timeout: 2 * time.Second})
	require.NoError(t, err)
	store, err := hyperliquid.NewFilePreparedStore(t.TempDir())
	require.NoError(t, err)
	v, err := hyperliquid.NewVenue(client, hyperliquid.VenueConfig{Store: store})
	require.NoError(t, err)

	f := newFixture(t, 0)
	reader := balancewatcher.VenueAccounts{Name: events.VenueHyperliquid, Accounts: map[common.Address]venue.Balancer{acct: v}}
	f.start(balancewatcher.Config{Accounts: []common.Address{acct}, Venues: []string{events.VenueHyperliquid}, VenueInterval: 10 * time.Millisecond}, reader)

	var got *events.BalanceSnapshot
	require.Eventually(t, func() bool {
		snaps := byAccount(f.snapshots(), events.VenueLocation(events.VenueHyperliquid))[acct.Hex()]
		if len(snaps) == 0 {
			return false
		}
		got = snaps[len(snaps)-1]
		return true
	}, 10*time.Second, 10*time.Millisecond)
	usdc := balanceOf(got, "USDC")
	require.NotNil(t, usdc, "balances: %+v", got.Balances)
	var dec uint8
	for _, b := range got.Balances {
		if b.Token == "USDC" {
			dec = b.Decimals
		}
	}
	// 123.45 USDC whatever decimals the adapter reports it in.
	want := new(big.Int).Mul(big.NewInt(12345), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(dec)-2), nil))
	require.Equal(t, want.String(), usdc.String())
}

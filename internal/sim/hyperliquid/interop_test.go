package hlsim_test

import (
	"context"
	"math/big"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	hl "github.com/sonirico/go-hyperliquid"
	"github.com/stretchr/testify/require"

	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// TestThirdPartyClientInterop drives the simulator with go-hyperliquid, a client written against the
// real venue: its own signing, its own JSON. The library signs as testnet for any URL other than its
// mainnet constant, so the simulator runs as testnet here.
func TestThirdPartyClientInterop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tokens, pairs := hlsim.MainnetLikeTokens(common.Address{1}, common.Address{2},
		[]hlsim.Level{{Px: "0.9995", Sz: "1000"}}, []hlsim.Level{{Px: "1.0001", Sz: "1000"}})
	sim, err := hlsim.New(hlsim.Config{Network: wire.Testnet, Tokens: tokens, Pairs: pairs}, zerolog.Nop())
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	user := crypto.PubkeyToAddress(key.PublicKey)
	require.NoError(t, sim.Credit(user, "USDC", big.NewInt(100_000_000_000))) // 1000 USDC

	ex := hl.NewExchange(ctx, key, srv.URL, &hl.Meta{}, "", user.Hex(), nil, nil)
	info := hl.NewInfo(ctx, srv.URL, true, &hl.Meta{}, nil, nil)

	spot, err := info.SpotMeta(ctx)
	require.NoError(t, err)
	require.Len(t, spot.Universe, 1)
	require.Equal(t, "@166", spot.Universe[0].Name)

	book, err := info.L2Snapshot(ctx, "@166")
	require.NoError(t, err)
	require.Len(t, book.Levels, 2)

	cloid := "0x000000000000000000000000000000aa"
	st, err := ex.Order(ctx, hl.CreateOrderRequest{Coin: "@166", IsBuy: true, Price: 1.0001, Size: 20,
		OrderType: hl.OrderType{Limit: &hl.LimitOrderType{Tif: hl.TifIoc}}, ClientOrderID: &cloid}, nil)
	require.NoError(t, err)
	require.NotNil(t, st.Filled, "%+v", st)
	require.Equal(t, 1, sim.Count(hlsim.EvOrder, user, cloid))

	byCloid, err := info.QueryOrderByCloid(ctx, user.Hex(), cloid)
	require.NoError(t, err)
	require.Equal(t, "filled", string(byCloid.Order.Status))

	state, err := info.SpotUserState(ctx, user.Hex())
	require.NoError(t, err)
	require.Len(t, state.Balances, 2)

	_, err = ex.UsdClassTransfer(ctx, 5, true)
	require.NoError(t, err)
	require.Equal(t, big.NewInt(500_000_000), sim.PerpBalance(user))
}

func TestServeStopsWithContext(t *testing.T) {
	tokens, pairs := hlsim.MainnetLikeTokens(common.Address{1}, common.Address{2}, nil, nil)
	sim, err := hlsim.New(hlsim.Config{Network: wire.Mainnet, Tokens: tokens, Pairs: pairs}, zerolog.Nop())
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Serve(ctx, ln) }()
	info := hl.NewInfo(context.Background(), "http://"+ln.Addr().String(), true, &hl.Meta{}, nil, nil)
	spot, err := info.SpotMeta(context.Background())
	require.NoError(t, err)
	require.Len(t, spot.Tokens, 2)
	cancel()
	require.NoError(t, <-done)
}

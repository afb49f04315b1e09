package hyperliquid_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// BenchmarkPlaceIOC is one order end to end over loopback HTTP: the cloid look-up, signing with a
// persisted nonce, the order, the status and fills look-ups.
func BenchmarkPlaceIOC(b *testing.B) {
	tokens, pairs := hlsim.MainnetLikeTokens(common.Address{1}, common.Address{2},
		[]hlsim.Level{{Px: "0.9995", Sz: "100000000"}}, []hlsim.Level{{Px: "1.0001", Sz: "100000000"}})
	sim, url := newSim(b, envOpts{tokens: tokens, pairs: pairs, weight: 1 << 30})
	key, _ := crypto.GenerateKey()
	user := crypto.PubkeyToAddress(key.PublicKey)
	if err := sim.Credit(user, "USDC", usd("100000000")); err != nil {
		b.Fatal(err)
	}
	c := newClient(b, url, key, wire.Mainnet, func(cfg *hyperliquid.Config) { cfg.WeightPerMinute = 1 << 30 })
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.PlaceIOC(ctx, hyperliquid.OrderRequest{IntentID: fmt.Sprint("bench-", i), IsBuy: true,
			Size: usd("10"), LimitPx: rat("1.0001")})
		if err != nil || res.Status != hyperliquid.OrderFilled {
			b.Fatal(err, res.Status)
		}
	}
}

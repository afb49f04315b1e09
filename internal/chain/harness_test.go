package chain

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
)

// fixture is a simulated chain with 4 tokens and 3 funded accounts, reached
// over HTTP JSON-RPC.
type fixture struct {
	sim      *simchain.Chain
	tokens   []common.Address
	symbols  []string
	keys     []*ecdsa.PrivateKey
	accounts []common.Address
}

var fixtureSymbols = []string{"USDC", "USDT", "DAI", "PYUSD"}

func newFixture(t testing.TB, autoMine bool) *fixture {
	t.Helper()
	f := &fixture{symbols: fixtureSymbols}
	for _, label := range []string{"relayer-a", "relayer-b", "relayer-c"} {
		k := simchain.DevKey(label)
		f.keys = append(f.keys, k)
		f.accounts = append(f.accounts, crypto.PubkeyToAddress(k.PublicKey))
	}
	var specs []simchain.TokenSpec
	for i, sym := range f.symbols {
		bal := map[common.Address]*big.Int{}
		for j, a := range f.accounts {
			bal[a] = big.NewInt(int64(1_000_000 * (i + 1) * (j + 1)))
		}
		dec := uint8(6)
		if i == 2 {
			dec = 18
		}
		specs = append(specs, simchain.TokenSpec{Symbol: sym, Decimals: dec, Balances: bal})
	}
	sim, err := simchain.New(simchain.Config{ChainID: 8453, Name: "base", AutoMine: autoMine, Tokens: specs, Funded: f.accounts})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	f.sim = sim
	for _, sym := range f.symbols {
		f.tokens = append(f.tokens, sim.TokenAddress(sym))
	}
	return f
}

// client dials the fixture's endpoints with fast retries; mod adjusts the
// config.
func (f *fixture) client(t testing.TB, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		ChainID: f.sim.ChainID(), Name: "base", RPCURLs: f.sim.Endpoints(), Multicall: contracts.MulticallAddress,
		CallTimeout: 5 * time.Second,
		Retry:       RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := Dial(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// transfer moves amount of token i from account `from` to account `to` and
// returns the block it was mined in.
func (f *fixture) transfer(t testing.TB, i, from, to int, amount int64) uint64 {
	t.Helper()
	rcpt, err := f.sim.Transfer(context.Background(), f.keys[from], f.symbols[i], f.accounts[to], big.NewInt(amount))
	require.NoError(t, err)
	return rcpt.BlockNumber.Uint64()
}

// recordingSleep records the backoff waits instead of waiting.
type recordingSleep struct{ waits []time.Duration }

func (r *recordingSleep) sleep(ctx context.Context, d time.Duration) error {
	r.waits = append(r.waits, d)
	return ctx.Err()
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

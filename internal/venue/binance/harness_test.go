package binance_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	simbinance "github.com/rebalancer-dev/rebalancer/internal/sim/binance"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/binance"
)

const (
	apiKey    = "contract-test-key"
	apiSecret = "contract-test-secret-value-0123456789"
	// An intent id as the planner makes them (64 lower-case hex digits).
	intentA = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	intentB = "b1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
)

var (
	ethUSDC = venue.Key{Token: "USDC", ChainID: simchain.Ethereum}
	ethUSDT = venue.Key{Token: "USDT", ChainID: simchain.Ethereum}
	bscUSDC = venue.Key{Token: "USDC", ChainID: simchain.BSC}
	bscUSDT = venue.Key{Token: "USDT", ChainID: simchain.BSC}
)

// env is a simulated Binance over two simulated chains (Ethereum, 6-decimal stablecoins, and
// BSC, 18 decimals) and an adapter pointed at it through go-binance.
type env struct {
	t      *testing.T
	sim    *simbinance.Sim
	eth    *simchain.Chain
	bsc    *simchain.Chain
	user   common.Address // the relayer: deposits from, withdraws to
	client *binance.Client
	logs   *syncBuffer
	skew   *atomic.Int64 // the server clock's skew, ns
	sleeps *sleepLog
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sleepLog records the adapter's waits and sleeps a bounded real time, so back-off is observable
// without slowing tests to Binance's real windows.
type sleepLog struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	l.all = append(l.all, d)
	l.mu.Unlock()
	t := time.NewTimer(min(d, 5*time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (l *sleepLog) longest() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m time.Duration
	for _, d := range l.all {
		m = max(m, d)
	}
	return m
}

type envOption func(*simbinance.Config, *binance.Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	hot := simchain.DevKey("binance-hot-wallet")
	hotAddr := simchain.DevAddress("binance-hot-wallet")
	user := simchain.DevAddress("relayer")
	start := func(id uint64) *simchain.Chain {
		cfg, ok := simchain.DefaultChain(id)
		require.True(t, ok)
		cfg.AutoMine = true
		cfg.Funded = []common.Address{hotAddr, user}
		for i, tok := range cfg.Tokens {
			unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(tok.Decimals)), nil)
			cfg.Tokens[i].Balances = map[common.Address]*big.Int{
				hotAddr: new(big.Int).Mul(big.NewInt(1_000_000), unit),
				user:    new(big.Int).Mul(big.NewInt(100_000), unit),
			}
		}
		c, err := simchain.New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	e := &env{t: t, eth: start(simchain.Ethereum), bsc: start(simchain.BSC), user: user, logs: &syncBuffer{},
		skew: &atomic.Int64{}, sleeps: &sleepLog{}}
	ctx := context.Background()
	coins := func(c *simchain.Chain, fee string) []simbinance.CoinNetwork {
		var out []simbinance.CoinNetwork
		for _, tok := range c.Tokens() {
			out = append(out, simbinance.CoinNetwork{Coin: tok.Symbol, Token: tok.Address, Decimals: tok.Decimals,
				WithdrawFee: fee, WithdrawMin: "10", WithdrawMax: "1000000", Multiple: "0.000001",
				DepositEnable: true, WithdrawEnable: true})
		}
		return out
	}
	scfg := simbinance.Config{
		Accounts: []simbinance.Account{{APIKey: apiKey, Secret: apiSecret}},
		Networks: []simbinance.Network{
			{Name: "ETH", ChainID: simchain.Ethereum, RPCURL: e.eth.RPCURL(), MinConfirm: 2, UnlockConfirm: 4, Coins: coins(e.eth, "1.5")},
			{Name: "BSC", ChainID: simchain.BSC, RPCURL: e.bsc.RPCURL(), MinConfirm: 2, UnlockConfirm: 4, Coins: coins(e.bsc, "0.8")},
		},
		HotWallet: hot,
		Now:       func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) },
	}
	tokens := func(c *simchain.Chain) []binance.Token {
		var out []binance.Token
		for _, tok := range c.Tokens() {
			out = append(out, binance.Token{Symbol: tok.Symbol, Decimals: tok.Decimals, Address: tok.Address.Hex()})
		}
		return out
	}
	acfg := binance.Config{
		Credentials: binance.NewCredentials(apiKey, apiSecret),
		Networks: []binance.Network{
			{Name: "ETH", ChainID: simchain.Ethereum, Tokens: tokens(e.eth)},
			{Name: "BSC", ChainID: simchain.BSC, Tokens: tokens(e.bsc)},
		},
		LookupLag: 300 * time.Millisecond,
		Sleep:     e.sleeps.sleep,
		Log:       zerolog.New(e.logs),
	}
	for _, o := range opts {
		o(&scfg, &acfg)
	}
	sim, err := simbinance.New(scfg)
	require.NoError(t, err)
	url, err := sim.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	e.sim = sim
	acfg.BaseURL = url
	client, err := binance.New(ctx, acfg)
	require.NoError(t, err)
	e.client = client
	return e
}

// tick runs one round of the simulator's chain work.
func (e *env) tick() {
	e.t.Helper()
	require.NoError(e.t, e.sim.Tick(context.Background()))
}

// units converts a decimal string to base units with the route's decimals.
func units(t *testing.T, s string, decimals uint8) *big.Int {
	t.Helper()
	a, err := venue.ParseAmount(s, decimals)
	require.NoError(t, err)
	return a.Units
}

func amount(t *testing.T, s string, decimals uint8) venue.Amount {
	t.Helper()
	a, err := venue.ParseAmount(s, decimals)
	require.NoError(t, err)
	return a
}

func commonHexToAddress(s string) common.Address { return common.HexToAddress(s) }

func commonHexToHash(s string) common.Hash { return common.HexToHash(s) }

func writeFile(path, v string) error { return os.WriteFile(path, []byte(v), 0o600) }

// intentID is a hash-shaped intent id, as the planner derives them (DESIGN §6).
func intentID(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("intent-%d", i)))
	return hex.EncodeToString(sum[:])
}

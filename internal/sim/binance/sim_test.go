package simbinance

import (
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bn "github.com/adshao/go-binance/v2"
	bncommon "github.com/adshao/go-binance/v2/common"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
)

const (
	testKey    = "test-api-key"
	testSecret = "test-api-secret"
)

// clock is the server's clock: real time plus an adjustable skew.
type clock struct{ skew atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(time.Duration(c.skew.Load())) }

func newSim(t *testing.T, mutate func(*Config)) (*Sim, *clock) {
	t.Helper()
	clk := &clock{}
	cfg := Config{
		Accounts: []Account{{APIKey: testKey, Secret: testSecret, Spot: map[string]string{"USDC": "10000", "USDT": "10000"}}},
		Now:      clk.now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	_, err = s.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, clk
}

func libClient(s *Sim, key, secret string) *bn.Client {
	c := bn.NewClient(key, secret)
	c.BaseURL = s.URL()
	return c
}

func apiCode(t *testing.T, err error) int64 {
	t.Helper()
	require.Error(t, err)
	var ae *bncommon.APIError
	require.ErrorAs(t, err, &ae, "want an APIError, got %v", err)
	return ae.Code
}

func TestSignedRequestsAreVerified(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	tests := []struct {
		name     string
		key      string
		secret   string
		offsetMs int64 // go-binance subtracts it from the timestamp
		recv     int64
		code     int64
	}{
		{name: "valid", key: testKey, secret: testSecret, code: 0},
		{name: "wrong secret", key: testKey, secret: "not-the-secret", code: -1022},
		{name: "unknown key", key: "someone-else", secret: testSecret, code: -2015},
		{name: "empty key", key: "", secret: testSecret, code: -2014},
		{name: "stale beyond default recvWindow", key: testKey, secret: testSecret, offsetMs: 6000, code: -1021},
		{name: "stale but inside a wider recvWindow", key: testKey, secret: testSecret, offsetMs: 6000, recv: 10000, code: 0},
		{name: "ahead of the server by more than 1s", key: testKey, secret: testSecret, offsetMs: -2000, code: -1021},
		{name: "recvWindow above 60000", key: testKey, secret: testSecret, recv: 70000, code: -1131},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := libClient(s, tc.key, tc.secret)
			c.TimeOffset = tc.offsetMs
			var opts []bn.RequestOption
			if tc.recv > 0 {
				opts = append(opts, bn.WithRecvWindow(tc.recv))
			}
			acct, err := c.NewGetAccountService().Do(ctx, opts...)
			if tc.code == 0 {
				require.NoError(t, err)
				require.NotEmpty(t, acct.Balances)
				return
			}
			require.Equal(t, tc.code, apiCode(t, err))
		})
	}
}

func TestSignatureCoversTheBody(t *testing.T) {
	s, _ := newSim(t, nil)
	// A signed POST whose body was altered after signing is refused: go-binance signs query+body.
	c := libClient(s, testKey, testSecret)
	res, err := c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeSell).Type(bn.OrderTypeMarket).
		Quantity("10").NewClientOrderID("body-ok").Do(context.Background())
	require.NoError(t, err)
	require.Equal(t, bn.OrderStatusTypeFilled, res.Status)

	req, err := http.NewRequest(http.MethodPost, s.URL()+"/api/v3/order?timestamp=1&signature=00",
		strings.NewReader("symbol=USDCUSDT&side=SELL&type=MARKET&quantity=10"))
	require.NoError(t, err)
	req.Header.Set("X-MBX-APIKEY", testKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var body struct{ Code int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, -1022, body.Code)
	require.Equal(t, 1, s.Count(ActionOrder, ""))
}

func TestClientOrderIDIsOnlyUniqueWhileOpen(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	c := libClient(s, testKey, testSecret)
	place := func(id string, typ bn.OrderType, price string) (*bn.CreateOrderResponse, error) {
		svc := c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeSell).Type(typ).Quantity("10").NewClientOrderID(id)
		if typ == bn.OrderTypeLimit {
			svc = svc.TimeInForce(bn.TimeInForceTypeGTC).Price(price)
		}
		return svc.Do(ctx)
	}
	// A filled MARKET order does not block its id: Binance accepts a second order with it.
	_, err := place("filled-id", bn.OrderTypeMarket, "")
	require.NoError(t, err)
	_, err = place("filled-id", bn.OrderTypeMarket, "")
	require.NoError(t, err)
	require.Equal(t, 2, s.Count(ActionOrder, "filled-id"))

	// An open GTC order does: -2010 "Duplicate order sent."
	open, err := place("open-id", bn.OrderTypeLimit, "1.5")
	require.NoError(t, err)
	require.Equal(t, bn.OrderStatusTypeNew, open.Status)
	_, err = place("open-id", bn.OrderTypeLimit, "1.5")
	require.Equal(t, int64(-2010), apiCode(t, err))
	// Two sells of 10 at 0.9999 less the 0.1% taker fee in USDT; 10 USDC held by the open order.
	require.Equal(t, "10019.97800200", s.Balance(testKey, "spot", "USDT"))
	require.Equal(t, "9970.00000000", s.Balance(testKey, "spot", "USDC"))

	// The lookup by client id finds the latest order that used it.
	got, err := c.NewGetOrderService().Symbol("USDCUSDT").OrigClientOrderID("filled-id").Do(ctx)
	require.NoError(t, err)
	require.Equal(t, bn.OrderStatusTypeFilled, got.Status)
	_, err = c.NewGetOrderService().Symbol("USDCUSDT").OrigClientOrderID("never-used").Do(ctx)
	require.Equal(t, int64(-2013), apiCode(t, err))

	// Cancelling frees the id and the held funds.
	_, err = c.NewCancelOrderService().Symbol("USDCUSDT").OrigClientOrderID("open-id").Do(ctx)
	require.NoError(t, err)
	require.Equal(t, "9980.00000000", s.Balance(testKey, "spot", "USDC"))
	_, err = place("open-id", bn.OrderTypeLimit, "1.5")
	require.NoError(t, err)
}

func TestOrderFiltersAndBalance(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	c := libClient(s, testKey, testSecret)
	tests := []struct {
		name  string
		build func() *bn.CreateOrderService
		code  int64
	}{
		{name: "quantity off the step", code: -1013, build: func() *bn.CreateOrderService {
			return c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeSell).Type(bn.OrderTypeMarket).Quantity("10.5")
		}},
		{name: "price off the tick", code: -1013, build: func() *bn.CreateOrderService {
			return c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeSell).Type(bn.OrderTypeLimit).
				TimeInForce(bn.TimeInForceTypeIOC).Quantity("10").Price("0.99995")
		}},
		{name: "below min notional", code: -1013, build: func() *bn.CreateOrderService {
			return c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeSell).Type(bn.OrderTypeMarket).Quantity("4")
		}},
		{name: "insufficient balance", code: -2010, build: func() *bn.CreateOrderService {
			return c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeSell).Type(bn.OrderTypeMarket).Quantity("20000")
		}},
		{name: "unknown symbol", code: -1121, build: func() *bn.CreateOrderService {
			return c.NewCreateOrderService().Symbol("BTCUSDT").Side(bn.SideTypeSell).Type(bn.OrderTypeMarket).Quantity("1")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.build().Do(ctx)
			require.Equal(t, tc.code, apiCode(t, err))
		})
	}
	require.Equal(t, 0, s.Count(ActionOrder, ""))

	// A market buy by quote amount walks the asks: 1000 USDT at 1.0001 buys 999 USDC (step 1).
	res, err := c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeBuy).Type(bn.OrderTypeMarket).
		QuoteOrderQty("1000").NewClientOrderID("buy-1").Do(ctx)
	require.NoError(t, err)
	require.Equal(t, "999.00000000", res.ExecutedQuantity)
	require.Equal(t, "999.09990000", res.CummulativeQuoteQuantity)
	require.Len(t, res.Fills, 1)
	require.Equal(t, "0.99900000", res.Fills[0].Commission)
	require.Equal(t, "USDC", res.Fills[0].CommissionAsset)
	require.Equal(t, "10998.00100000", s.Balance(testKey, "spot", "USDC"))
	require.Equal(t, "9000.90010000", s.Balance(testKey, "spot", "USDT"))
}

func TestWeightsAndBan(t *testing.T) {
	s, _ := newSim(t, func(c *Config) { c.APIWeightLimit = 45; c.BanAfter = 2 })
	type answer struct {
		status int
		header http.Header
		code   int
	}
	get := func() answer {
		t.Helper()
		resp, err := http.Get(s.URL() + "/api/v3/exchangeInfo?symbol=USDCUSDT")
		require.NoError(t, err)
		defer resp.Body.Close()
		var body struct{ Code int }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return answer{status: resp.StatusCode, header: resp.Header, code: body.Code}
	}
	r1 := get()
	require.Equal(t, http.StatusOK, r1.status)
	require.Equal(t, "20", r1.header.Get("X-MBX-USED-WEIGHT-1M"))
	r2 := get()
	require.Equal(t, "40", r2.header.Get("X-MBX-USED-WEIGHT-1M"))
	r3 := get()
	require.Equal(t, http.StatusTooManyRequests, r3.status)
	require.NotEmpty(t, r3.header.Get("Retry-After"))
	require.Equal(t, -1003, r3.code)
	// Ignoring Retry-After: another 429, then an IP ban.
	require.Equal(t, http.StatusTooManyRequests, get().status)
	require.Equal(t, http.StatusTeapot, get().status)
	require.Equal(t, http.StatusTeapot, get().status)
}

func TestFaults(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	c := libClient(s, testKey, testSecret)
	order := func(id string) error {
		_, err := c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeSell).Type(bn.OrderTypeMarket).
			Quantity("10").NewClientOrderID(id).Do(ctx)
		return err
	}
	tests := []struct {
		name      string
		fault     Fault
		wantOrder int
	}{
		{name: "5xx before acting", fault: Fault{Kind: FaultStatusBefore, Status: 502}, wantOrder: 0},
		{name: "5xx after acting", fault: Fault{Kind: FaultStatusAfter}, wantOrder: 1},
		{name: "dropped after acting", fault: Fault{Kind: FaultDropAfter}, wantOrder: 1},
		{name: "429", fault: Fault{Kind: FaultRateLimit, RetryAfter: 3}, wantOrder: 0},
		{name: "latency only", fault: Fault{Kind: FaultLatency, Latency: 20 * time.Millisecond}, wantOrder: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := strings.ReplaceAll(tc.name, " ", "-")
			f := tc.fault
			f.Method, f.Path = http.MethodPost, "/api/v3/order"
			s.Inject(f)
			err := order(id)
			if tc.fault.Kind == FaultLatency {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			require.Equal(t, tc.wantOrder, s.Count(ActionOrder, id))
			// The fault is consumed: the next request goes through.
			require.NoError(t, order(id+"-after"))
		})
	}
}

func TestStartCreditsDepositsAndPaysWithdrawals(t *testing.T) {
	hot := simchain.DevKey("simbinance-test-hot")
	user := simchain.DevKey("simbinance-test-user")
	cfg, ok := simchain.DefaultChain(simchain.Arbitrum)
	require.True(t, ok)
	cfg.AutoMine = true
	cfg.BlockInterval = 20 * time.Millisecond
	cfg.Funded = []common.Address{simchain.DevAddress("simbinance-test-hot"), simchain.DevAddress("simbinance-test-user")}
	for i := range cfg.Tokens {
		cfg.Tokens[i].Balances = map[common.Address]*big.Int{
			cfg.Funded[0]: big.NewInt(1_000_000_000_000), cfg.Funded[1]: big.NewInt(1_000_000_000),
		}
	}
	ch, err := simchain.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ch.Close() })
	n, ok := DevnetNetwork(ch)
	require.True(t, ok)
	require.Equal(t, "ARBITRUM", n.Name)

	s, _ := newSim(t, func(c *Config) {
		c.Networks = []Network{n}
		c.HotWallet = hot
		c.PollInterval = 10 * time.Millisecond
		c.Accounts[0].Spot = nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	// USDT0 on Arbitrum is Binance's USDT: 125 of it (6 decimals) arrives and unlocks.
	_, err = ch.Transfer(ctx, user, "USDT0", s.DepositAddress(testKey), big.NewInt(125_000_000))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.Count(ActionDepositUnlock, "") == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "125.00000000", s.Balance(testKey, "spot", "USDT"))

	c := libClient(s, testKey, testSecret)
	_, err = c.NewCreateWithdrawService().Coin("USDT").Network("ARBITRUM").Address(cfg.Funded[1].Hex()).
		Amount("100").WithdrawOrderID("w-1").Do(ctx)
	require.NoError(t, err)
	var tx string
	require.Eventually(t, func() bool {
		ws, err := c.NewListWithdrawsService().WithdrawOrderId("w-1").Do(ctx)
		if err != nil || len(ws) != 1 || ws[0].Status != 6 {
			return false
		}
		tx = ws[0].TxID
		return true
	}, 10*time.Second, 10*time.Millisecond)
	got, err := ch.BalanceOf(ctx, "USDT0", cfg.Funded[1])
	require.NoError(t, err)
	// 1000 − 125 deposited + (100 − 1 fee) withdrawn.
	require.Equal(t, big.NewInt(974_000_000), got)
	rcpt, err := ch.Client().TransactionReceipt(ctx, common.HexToHash(tx))
	require.NoError(t, err)
	require.Equal(t, uint64(1), rcpt.Status)

	// The server keeps no de-duplication: the same withdrawOrderId is accepted again.
	_, err = c.NewCreateWithdrawService().Coin("USDT").Network("ARBITRUM").Address(cfg.Funded[1].Hex()).
		Amount("20").WithdrawOrderID("w-1").Do(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, s.Count(ActionWithdraw, "w-1"))

	// Suspended network: -4019.
	s.SuspendWithdrawals("USDT", "ARBITRUM", true)
	_, err = c.NewCreateWithdrawService().Coin("USDT").Network("ARBITRUM").Address(cfg.Funded[1].Hex()).
		Amount("20").WithdrawOrderID("w-2").Do(ctx)
	require.Equal(t, int64(-4019), apiCode(t, err))
}

func TestDepositReMinedByAReorgIsCreditedOnce(t *testing.T) {
	user := simchain.DevKey("simbinance-reorg-user")
	cfg, ok := simchain.DefaultChain(simchain.Arbitrum)
	require.True(t, ok)
	cfg.AutoMine = true
	cfg.BlockInterval = 20 * time.Millisecond
	cfg.Funded = []common.Address{simchain.DevAddress("simbinance-reorg-user")}
	for i := range cfg.Tokens {
		cfg.Tokens[i].Balances = map[common.Address]*big.Int{cfg.Funded[0]: big.NewInt(1_000_000_000)}
	}
	ch, err := simchain.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ch.Close() })
	n, ok := DevnetNetwork(ch)
	require.True(t, ok)
	s, _ := newSim(t, func(c *Config) {
		c.Networks = []Network{n}
		c.HotWallet = simchain.DevKey("simbinance-reorg-hot")
		c.PollInterval = 10 * time.Millisecond
		c.Accounts[0].Spot = nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	require.Eventually(t, func() bool { return ch.Head() >= 3 }, 10*time.Second, 10*time.Millisecond)
	rcpt, err := ch.Transfer(ctx, user, "USDT0", s.DepositAddress(testKey), big.NewInt(125_000_000))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.Count(ActionDepositUnlock, "") == 1 }, 10*time.Second, 10*time.Millisecond)

	// Rewind the chain below the deposit's block (debug_setHead: the blocks above go, and their
	// transactions with them), let the new branch grow past the old block, then send the same signed
	// bytes again: the deposit is mined again under the same hash at a later block, below what the
	// simulator has already scanned. (Forking with Reorg can rebuild byte-identical blocks when
	// their timestamps repeat, which is no reorg at all.)
	tx, _, err := ch.Client().TransactionByHash(ctx, rcpt.TxHash)
	require.NoError(t, err)
	old := rcpt.BlockNumber.Uint64()
	require.NoError(t, ch.Client().Client().CallContext(ctx, nil, "debug_setHead", hexutil.Uint64(old-1)))
	require.Eventually(t, func() bool { return ch.Head() > old }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, ch.Client().SendTransaction(ctx, tx))
	require.Eventually(t, func() bool {
		again, err := ch.Client().TransactionReceipt(ctx, rcpt.TxHash)
		return err == nil && again.BlockNumber.Uint64() > old
	}, 30*time.Second, 20*time.Millisecond, "the deposit is re-mined on the new branch, at a later block")
	// Let the simulator scan the new branch several times.
	head := ch.Head()
	require.Eventually(t, func() bool { return ch.Head() > head+5 }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)

	require.Equal(t, 1, s.Count(ActionDepositSeen, ""), "one deposit, whatever block it is mined in")
	require.Equal(t, 1, s.Count(ActionDepositCredit, ""))
	require.Equal(t, "125.00000000", s.Balance(testKey, "spot", "USDT"))
}

// TestHoldActsAfterTheClientHasGone holds an order and a withdrawal past their clients: each is
// visible in Holds on arrival, not applied while held, and applied once the hold ends even though
// its client gave up, exactly once; the next request is not held.
func TestHoldActsAfterTheClientHasGone(t *testing.T) {
	s, _ := newSim(t, func(c *Config) {
		c.Networks = []Network{{Name: "ARBITRUM", ChainID: 42161, Coins: []CoinNetwork{{Coin: "USDT", Decimals: 6,
			WithdrawFee: "0.1", WithdrawMin: "10", WithdrawMax: "1000000", DepositEnable: true, WithdrawEnable: true}}}}
	})
	c := libClient(s, testKey, testSecret)
	tests := []struct {
		name, path string
		kind       ActionKind
		send       func(ctx context.Context, id string) error
	}{
		{"order", "/api/v3/order", ActionOrder, func(ctx context.Context, id string) error {
			_, err := c.NewCreateOrderService().Symbol("USDCUSDT").Side(bn.SideTypeSell).Type(bn.OrderTypeMarket).
				Quantity("10").NewClientOrderID(id).Do(ctx)
			return err
		}},
		{"withdrawal", "/sapi/v1/capital/withdraw/apply", ActionWithdraw, func(ctx context.Context, id string) error {
			_, err := c.NewCreateWithdrawService().Coin("USDT").Network("ARBITRUM").
				Address("0x000000000000000000000000000000000000bEEF").Amount("20").WithdrawOrderID(id).Do(ctx)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const hold = 300 * time.Millisecond
			before := len(s.Holds())
			s.Inject(Fault{Method: http.MethodPost, Path: tc.path, Kind: FaultHold, Latency: hold})
			id := "held-" + tc.name
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sent := make(chan error, 1)
			go func() { sent <- tc.send(ctx, id) }()
			held := func() (Hold, bool) {
				for _, h := range s.Holds() {
					if h.ClientID == id {
						return h, true
					}
				}
				return Hold{}, false
			}
			require.Eventually(t, func() bool { _, ok := held(); return ok }, 5*time.Second, time.Millisecond)
			h, _ := held()
			require.Equal(t, tc.path, h.Path)
			require.False(t, h.Applied, "applied during the hold")
			require.Zero(t, s.Count(tc.kind, id), "acted during the hold")
			cancel() // the client goes away; the venue has the request
			require.ErrorIs(t, <-sent, context.Canceled)
			require.Eventually(t, func() bool { h, _ := held(); return h.Applied }, 5*time.Second, time.Millisecond)
			h, _ = held()
			require.Empty(t, h.Err)
			require.GreaterOrEqual(t, s.cfg.Now().Sub(h.Arrived), hold)
			require.Equal(t, 1, s.Count(tc.kind, id))
			// The fault is consumed: the next request is answered at once.
			require.NoError(t, tc.send(context.Background(), id+"-after"))
			require.Equal(t, 1, s.Count(tc.kind, id+"-after"))
			require.Len(t, s.Holds(), before+1)
		})
	}
}

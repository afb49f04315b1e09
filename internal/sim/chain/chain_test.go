package simchain

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
)

func newChain(t *testing.T, cfg Config) *Chain {
	t.Helper()
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func dial(t *testing.T, url string) *ethclient.Client {
	t.Helper()
	cl, err := ethclient.Dial(url)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func call(t *testing.T, cl *ethclient.Client, to common.Address, data []byte) []byte {
	t.Helper()
	out, err := cl.CallContract(context.Background(), ethereum.CallMsg{To: &to, Data: data}, nil)
	require.NoError(t, err)
	return out
}

func TestDefaultChainsServeRealChainIDsAndTokens(t *testing.T) {
	holder := DevAddress("relayer")
	for _, cfg := range DefaultChains() {
		t.Run(cfg.Name, func(t *testing.T) {
			t.Parallel()
			want := map[string]*big.Int{}
			for i := range cfg.Tokens {
				amt := new(big.Int).Mul(big.NewInt(int64(1000+i)), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cfg.Tokens[i].Decimals)), nil))
				cfg.Tokens[i].Balances = map[common.Address]*big.Int{holder: amt}
				want[cfg.Tokens[i].Symbol] = amt
			}
			c := newChain(t, cfg)
			cl := dial(t, c.RPCURL())
			ctx := context.Background()

			id, err := cl.ChainID(ctx)
			require.NoError(t, err)
			require.Equal(t, cfg.ChainID, id.Uint64())

			erc20 := contracts.NewTestToken()
			for _, spec := range cfg.Tokens {
				addr := c.TokenAddress(spec.Symbol)
				require.Equal(t, spec.Address, addr)
				sym, err := erc20.UnpackSymbol(call(t, cl, addr, erc20.PackSymbol()))
				require.NoError(t, err)
				require.Equal(t, spec.Symbol, sym)
				name, err := erc20.UnpackName(call(t, cl, addr, erc20.PackName()))
				require.NoError(t, err)
				require.Equal(t, spec.Symbol, name)
				dec, err := erc20.UnpackDecimals(call(t, cl, addr, erc20.PackDecimals()))
				require.NoError(t, err)
				require.Equal(t, spec.Decimals, dec)
				minter, err := erc20.UnpackMinter(call(t, cl, addr, erc20.PackMinter()))
				require.NoError(t, err)
				require.Equal(t, MinterAddress(), minter)
				bal, err := erc20.UnpackBalanceOf(call(t, cl, addr, erc20.PackBalanceOf(holder)))
				require.NoError(t, err)
				require.Equal(t, want[spec.Symbol].String(), bal.String())
				supply, err := erc20.UnpackTotalSupply(call(t, cl, addr, erc20.PackTotalSupply()))
				require.NoError(t, err)
				require.Equal(t, want[spec.Symbol].String(), supply.String())
			}
			code, err := cl.CodeAt(ctx, contracts.MulticallAddress, nil)
			require.NoError(t, err)
			require.Equal(t, contracts.MulticallRuntimeCode(), code)
		})
	}
}

func TestBSCStablecoinsHave18Decimals(t *testing.T) {
	cfg, ok := DefaultChain(BSC)
	require.True(t, ok)
	for _, tok := range cfg.Tokens {
		require.Equal(t, uint8(18), tok.Decimals, tok.Symbol)
	}
	eth, ok := DefaultChain(Ethereum)
	require.True(t, ok)
	for _, tok := range eth.Tokens {
		require.Equal(t, uint8(6), tok.Decimals, tok.Symbol)
	}
}

func TestMintTransferBurn(t *testing.T) {
	alice, bob := DevKey("alice"), DevAddress("bob")
	aliceAddr := crypto.PubkeyToAddress(alice.PublicKey)
	c := newChain(t, Config{ChainID: 31337, Tokens: []TokenSpec{{Symbol: "USDC", Decimals: 6}}, Funded: []common.Address{aliceAddr}})
	ctx := context.Background()
	require.NotEqual(t, common.Address{}, c.TokenAddress("USDC"))
	require.Equal(t, deterministicTokenAddress(31337, "USDC"), c.TokenAddress("USDC"))

	before := c.Head()
	require.NoError(t, c.Mint(ctx, "USDC", aliceAddr, big.NewInt(5_000_000)))
	require.Equal(t, before+1, c.Head(), "Mint mines before returning")
	bal, err := c.BalanceOf(ctx, "USDC", aliceAddr)
	require.NoError(t, err)
	require.Equal(t, int64(5_000_000), bal.Int64())

	rcpt, err := c.Transfer(ctx, alice, "USDC", bob, big.NewInt(1_250_000))
	require.NoError(t, err)
	require.Len(t, rcpt.Logs, 1)
	require.Equal(t, contracts.TransferTopic, rcpt.Logs[0].Topics[0])
	bal, err = c.BalanceOf(ctx, "USDC", bob)
	require.NoError(t, err)
	require.Equal(t, int64(1_250_000), bal.Int64())

	_, err = c.Transfer(ctx, alice, "USDC", bob, big.NewInt(10_000_000))
	require.Error(t, err, "more than the balance")

	require.NoError(t, c.Burn(ctx, "USDC", bob, big.NewInt(250_000)))
	bal, err = c.BalanceOf(ctx, "USDC", bob)
	require.NoError(t, err)
	require.Equal(t, int64(1_000_000), bal.Int64())

	require.ErrorIs(t, c.Mint(ctx, "DAI", bob, big.NewInt(1)), ErrUnknownToken)
	_, err = c.BalanceOf(ctx, "DAI", bob)
	require.ErrorIs(t, err, ErrUnknownToken)
}

func TestMintOnlyByMinter(t *testing.T) {
	alice := DevKey("alice")
	aliceAddr := crypto.PubkeyToAddress(alice.PublicKey)
	c := newChain(t, Config{ChainID: 31337, Tokens: []TokenSpec{{Symbol: "USDC", Decimals: 6}}, Funded: []common.Address{aliceAddr}})
	ctx := context.Background()
	data := contracts.NewTestToken().PackMint(aliceAddr, big.NewInt(1))
	// Estimation reverts before anything is sent.
	_, err := c.SendAndMine(ctx, alice, c.TokenAddress("USDC"), nil, data)
	require.Error(t, err)
	bal, err := c.BalanceOf(ctx, "USDC", aliceAddr)
	require.NoError(t, err)
	require.Zero(t, bal.Sign())
}

// signTransfer builds a signed ERC20 transfer for sending over RPC.
func signTransfer(t *testing.T, c *Chain, cl *ethclient.Client, symbol string, to common.Address, amount int64) *types.Transaction {
	t.Helper()
	key := DevKey("alice")
	from := crypto.PubkeyToAddress(key.PublicKey)
	ctx := context.Background()
	nonce, err := cl.PendingNonceAt(ctx, from)
	require.NoError(t, err)
	head, err := cl.HeaderByNumber(ctx, nil)
	require.NoError(t, err)
	tokenAddr := c.TokenAddress(symbol)
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: new(big.Int).SetUint64(c.ChainID()), Nonce: nonce,
		GasTipCap: big.NewInt(1e9), GasFeeCap: new(big.Int).Add(big.NewInt(1e9), new(big.Int).Mul(head.BaseFee, big.NewInt(2))),
		Gas: 100_000, To: &tokenAddr, Data: contracts.NewTestToken().PackTransfer(to, big.NewInt(amount)),
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(tx.ChainId()), key)
	require.NoError(t, err)
	return signed
}

func TestAutoMineAnswersAfterTheBlock(t *testing.T) {
	alice := DevAddress("alice")
	c := newChain(t, Config{ChainID: 10, AutoMine: true, Funded: []common.Address{alice},
		Tokens: []TokenSpec{{Symbol: "USDC", Decimals: 6, Balances: map[common.Address]*big.Int{alice: big.NewInt(100)}}}})
	cl := dial(t, c.RPCURL())
	ctx := context.Background()
	for i := range 3 {
		tx := signTransfer(t, c, cl, "USDC", DevAddress("bob"), 10)
		require.NoError(t, cl.SendTransaction(ctx, tx))
		// No waiting: the answer came after the block was sealed.
		rcpt, err := cl.TransactionReceipt(ctx, tx.Hash())
		require.NoError(t, err)
		require.Equal(t, types.ReceiptStatusSuccessful, rcpt.Status)
		require.Equal(t, uint64(i+1), rcpt.BlockNumber.Uint64(), "one block per transaction, no empty ones")
	}
	bal, err := c.BalanceOf(ctx, "USDC", DevAddress("bob"))
	require.NoError(t, err)
	require.Equal(t, int64(30), bal.Int64())
}

func TestManualModeMinesOnlyOnCommit(t *testing.T) {
	alice := DevAddress("alice")
	c := newChain(t, Config{ChainID: 10, Funded: []common.Address{alice},
		Tokens: []TokenSpec{{Symbol: "USDC", Decimals: 6, Balances: map[common.Address]*big.Int{alice: big.NewInt(100)}}}})
	cl := dial(t, c.RPCURL())
	ctx := context.Background()
	tx := signTransfer(t, c, cl, "USDC", DevAddress("bob"), 10)
	require.NoError(t, cl.SendTransaction(ctx, tx))
	_, err := cl.TransactionReceipt(ctx, tx.Hash())
	// geth answers "not found" or, while its indexer catches up, "indexing in
	// progress": both mean no receipt yet.
	require.Error(t, err)
	require.Equal(t, uint64(0), c.Head())
	require.Equal(t, uint64(1), c.Commit())
	rcpt, err := cl.TransactionReceipt(ctx, tx.Hash())
	require.NoError(t, err)
	require.Equal(t, uint64(1), rcpt.BlockNumber.Uint64())
}

func TestBlockInterval(t *testing.T) {
	c := newChain(t, Config{ChainID: 137, BlockInterval: 5 * time.Millisecond})
	cl := dial(t, c.RPCURL())
	require.Eventually(t, func() bool {
		n, err := cl.BlockNumber(context.Background())
		return err == nil && n >= 3
	}, 10*time.Second, 5*time.Millisecond)
}

func TestFaults(t *testing.T) {
	c := newChain(t, Config{ChainID: 1})
	cl := dial(t, c.RPCURL())
	ctx := context.Background()
	f := c.Faults()

	t.Run("rate limit", func(t *testing.T) {
		f.RateLimit(2, 1)
		for range 2 {
			_, err := cl.BlockNumber(ctx)
			var httpErr rpc.HTTPError
			require.True(t, errors.As(err, &httpErr), "got %v", err)
			require.Equal(t, http.StatusTooManyRequests, httpErr.StatusCode)
		}
		_, err := cl.BlockNumber(ctx)
		require.NoError(t, err, "limit lifts after n requests")
	})
	t.Run("http 502", func(t *testing.T) {
		f.FailHTTP(1, http.StatusBadGateway)
		_, err := cl.BlockNumber(ctx)
		var httpErr rpc.HTTPError
		require.True(t, errors.As(err, &httpErr), "got %v", err)
		require.Equal(t, http.StatusBadGateway, httpErr.StatusCode)
		_, err = cl.BlockNumber(ctx)
		require.NoError(t, err)
	})
	t.Run("rpc error", func(t *testing.T) {
		f.FailRPC("eth_blockNumber", 1, -32005, "limit exceeded")
		_, err := cl.BlockNumber(ctx)
		var rpcErr rpc.Error
		require.True(t, errors.As(err, &rpcErr), "got %v", err)
		require.Equal(t, -32005, rpcErr.ErrorCode())
		_, err = cl.ChainID(ctx)
		require.NoError(t, err, "other methods unaffected")
		_, err = cl.BlockNumber(ctx)
		require.NoError(t, err)
	})
	t.Run("outage", func(t *testing.T) {
		f.SetDown(true)
		_, err := cl.BlockNumber(ctx)
		require.Error(t, err)
		var httpErr rpc.HTTPError
		require.False(t, errors.As(err, &httpErr), "an outage is a transport error, not an HTTP answer")
		f.SetDown(false)
		_, err = cl.BlockNumber(ctx)
		require.NoError(t, err)
	})
	t.Run("latency", func(t *testing.T) {
		f.SetLatency(30 * time.Millisecond)
		defer f.SetLatency(0)
		start := time.Now()
		_, err := cl.BlockNumber(ctx)
		require.NoError(t, err)
		require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
		short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		defer cancel()
		_, err = cl.BlockNumber(short)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("counters", func(t *testing.T) {
		f.ResetCounters()
		_, err := cl.BlockNumber(ctx)
		require.NoError(t, err)
		batch := []rpc.BatchElem{{Method: "eth_chainId", Result: new(string)}, {Method: "eth_chainId", Result: new(string)}}
		require.NoError(t, cl.Client().BatchCallContext(ctx, batch))
		require.Equal(t, int64(2), f.Requests())
		require.Equal(t, int64(1), f.Calls("eth_blockNumber"))
		require.Equal(t, int64(2), f.Calls("eth_chainId"))
	})
}

func TestSecondEndpointHasItsOwnFaults(t *testing.T) {
	c := newChain(t, Config{ChainID: 8453})
	second, err := c.AddEndpoint()
	require.NoError(t, err)
	require.Equal(t, []string{c.RPCURL(), second}, c.Endpoints())
	c.Faults().SetDown(true)
	_, err = dial(t, c.RPCURL()).BlockNumber(context.Background())
	require.Error(t, err)
	c.Commit()
	n, err := dial(t, second).BlockNumber(context.Background())
	require.NoError(t, err)
	require.Equal(t, uint64(1), n)
	require.Equal(t, int64(1), c.FaultsAt(1).Requests())
}

func TestReorgChangesHashAtHeight(t *testing.T) {
	alice := DevKey("alice")
	aliceAddr := crypto.PubkeyToAddress(alice.PublicKey)
	c := newChain(t, Config{ChainID: 42161, Funded: []common.Address{aliceAddr},
		Tokens: []TokenSpec{{Symbol: "USDC", Decimals: 6, Balances: map[common.Address]*big.Int{aliceAddr: big.NewInt(100)}}}})
	cl := dial(t, c.RPCURL())
	ctx := context.Background()
	for range 3 {
		c.Commit()
	}
	rcpt, err := c.Transfer(ctx, alice, "USDC", DevAddress("bob"), big.NewInt(7)) // block 4
	require.NoError(t, err)
	require.Equal(t, uint64(4), rcpt.BlockNumber.Uint64())
	c.Commit() // 5
	old := map[uint64]common.Hash{}
	for n := uint64(1); n <= 5; n++ {
		h, err := cl.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		require.NoError(t, err)
		old[n] = h.Hash()
	}
	head, err := c.Reorg(3) // replace 3, 4, 5 with 3', 4', 5', 6'
	require.NoError(t, err)
	require.Equal(t, uint64(6), head)
	for n := uint64(1); n <= 5; n++ {
		h, err := cl.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		require.NoError(t, err)
		if n < 3 {
			require.Equal(t, old[n], h.Hash(), "block %d below the fork point is kept", n)
		} else {
			require.NotEqual(t, old[n], h.Hash(), "block %d was replaced", n)
		}
	}
	// The dropped transfer went back to the pool and was mined again in the
	// new branch, as on a real chain.
	again, err := cl.TransactionReceipt(ctx, rcpt.TxHash)
	require.NoError(t, err)
	require.NotEqual(t, rcpt.BlockHash, again.BlockHash)
	bal, err := c.BalanceOf(ctx, "USDC", DevAddress("bob"))
	require.NoError(t, err)
	require.Equal(t, int64(7), bal.Int64())

	_, err = c.Reorg(100)
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestConcurrentCommitMintAndRPC(t *testing.T) {
	alice := DevAddress("alice")
	c := newChain(t, Config{ChainID: 56, AutoMine: true, BlockInterval: time.Millisecond, Funded: []common.Address{alice},
		Tokens: []TokenSpec{{Symbol: "USDT", Decimals: 18, Balances: map[common.Address]*big.Int{alice: big.NewInt(1000)}}}})
	cl := dial(t, c.RPCURL())
	ctx := context.Background()
	done := make(chan error, 2)
	go func() {
		for range 10 {
			if err := c.Mint(ctx, "USDT", DevAddress("carol"), big.NewInt(1)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	go func() {
		for range 10 {
			c.Commit()
		}
		done <- nil
	}()
	for range 5 {
		tx := signTransfer(t, c, cl, "USDT", DevAddress("bob"), 1)
		require.NoError(t, cl.SendTransaction(ctx, tx))
		rcpt, err := cl.TransactionReceipt(ctx, tx.Hash())
		require.NoError(t, err)
		require.Equal(t, types.ReceiptStatusSuccessful, rcpt.Status)
	}
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	bal, err := c.BalanceOf(ctx, "USDT", DevAddress("carol"))
	require.NoError(t, err)
	require.Equal(t, int64(10), bal.Int64())
}

func TestCloseReleasesThePort(t *testing.T) {
	c, err := New(Config{ChainID: 999, BlockInterval: time.Millisecond, AutoMine: true})
	require.NoError(t, err)
	url := c.RPCURL()
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "Close is idempotent")
	cl, err := ethclient.Dial(url)
	require.NoError(t, err) // HTTP dial is lazy
	defer cl.Close()
	_, err = cl.BlockNumber(context.Background())
	require.Error(t, err)
}

func TestInvalidConfig(t *testing.T) {
	cases := map[string]Config{
		"no chain id":        {},
		"repeated symbol":    {ChainID: 1, Tokens: []TokenSpec{{Symbol: "USDC"}, {Symbol: "USDC"}}},
		"empty symbol":       {ChainID: 1, Tokens: []TokenSpec{{Symbol: ""}}},
		"token on multicall": {ChainID: 1, Tokens: []TokenSpec{{Symbol: "X", Address: contracts.MulticallAddress}}},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := New(cfg)
			require.ErrorIs(t, err, ErrInvalidConfig)
		})
	}
}

func TestTransfersAndFundETH(t *testing.T) {
	alice := DevKey("alice")
	aliceAddr := crypto.PubkeyToAddress(alice.PublicKey)
	deposit := DevAddress("venue-deposit")
	c := newChain(t, Config{ChainID: 1, Funded: []common.Address{aliceAddr}, Tokens: []TokenSpec{
		{Symbol: "USDC", Decimals: 6, Balances: map[common.Address]*big.Int{aliceAddr: big.NewInt(100)}},
		{Symbol: "USDT", Decimals: 6, Balances: map[common.Address]*big.Int{aliceAddr: big.NewInt(100)}},
	}})
	ctx := context.Background()
	_, err := c.Transfer(ctx, alice, "USDC", deposit, big.NewInt(10))
	require.NoError(t, err)
	_, err = c.Transfer(ctx, alice, "USDT", DevAddress("other"), big.NewInt(20))
	require.NoError(t, err)
	_, err = c.Transfer(ctx, alice, "USDT", deposit, big.NewInt(30))
	require.NoError(t, err)

	all, err := c.Transfers(ctx, 0, c.Head())
	require.NoError(t, err)
	require.Len(t, all, 3)
	mine, err := c.Transfers(ctx, 0, c.Head(), deposit)
	require.NoError(t, err)
	require.Len(t, mine, 2)
	require.Equal(t, "USDC", mine[0].Symbol)
	require.Equal(t, int64(10), mine[0].Amount.Int64())
	require.Equal(t, "USDT", mine[1].Symbol)
	require.Equal(t, aliceAddr, mine[1].From)
	require.Equal(t, int64(30), mine[1].Amount.Int64())

	// A venue's hot wallet created later gets gas, then can pay out.
	hot := DevKey("venue-hot")
	hotAddr := crypto.PubkeyToAddress(hot.PublicKey)
	require.NoError(t, c.FundETH(ctx, hotAddr, big.NewInt(1e18)))
	wei, err := c.NativeBalance(ctx, hotAddr)
	require.NoError(t, err)
	require.Equal(t, int64(1e18), wei.Int64())
	require.NoError(t, c.Mint(ctx, "USDC", hotAddr, big.NewInt(5)))
	_, err = c.Transfer(ctx, hot, "USDC", aliceAddr, big.NewInt(5))
	require.NoError(t, err)
}

func TestStartAll(t *testing.T) {
	relayer := DevAddress("relayer")
	cfgs := DefaultChains()
	for i := range cfgs {
		cfgs[i] = WithDevnetDefaults(cfgs[i], time.Hour)
		cfgs[i].Funded = []common.Address{relayer}
	}
	set, err := StartAll(cfgs)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, set.Close()) })
	require.Len(t, set, len(cfgs))
	bsc := set.ByID(BSC)
	require.NotNil(t, bsc)
	require.Equal(t, USDTBSC, bsc.TokenAddress("USDT"))
	require.Nil(t, set.ByID(12345))
	wei, err := set.ByID(HyperEVM).NativeBalance(context.Background(), relayer)
	require.NoError(t, err)
	require.Positive(t, wei.Sign())

	_, err = StartAll([]Config{{ChainID: 7}, {ChainID: 7}})
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestListenAddr(t *testing.T) {
	// Find a free port, release it, and ask the chain to listen there.
	probe := newChain(t, Config{ChainID: 2})
	addr := strings.TrimPrefix(probe.RPCURL(), "http://")
	require.NoError(t, probe.Close())
	c := newChain(t, Config{ChainID: 3, ListenAddr: addr})
	require.Equal(t, "http://"+addr, c.RPCURL())
	id, err := dial(t, c.RPCURL()).ChainID(context.Background())
	require.NoError(t, err)
	require.Equal(t, uint64(3), id.Uint64())

	_, err = New(Config{ChainID: 4, ListenAddr: addr})
	require.Error(t, err, "the address is taken")
}

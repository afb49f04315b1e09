package hyperliquid_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"

	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
	hlsim "github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

type chainEnv struct {
	*env
	arb, evm *simchain.Chain
	payer    *ecdsa.PrivateKey
}

func e6(s string) *big.Int { // a decimal in 6-decimal ERC20 units
	v := usd(s)
	return v.Quo(v, big.NewInt(100))
}

func newChainEnv(t *testing.T, mutate ...func(*hyperliquid.Config)) *chainEnv {
	return newChainEnvDelay(t, 0, mutate...)
}

func newChainEnvDelay(t *testing.T, delay uint64, mutate ...func(*hyperliquid.Config)) *chainEnv {
	t.Helper()
	ctx := ctxT(t)
	user, err := crypto.GenerateKey()
	require.NoError(t, err)
	bridge, err := crypto.GenerateKey()
	require.NoError(t, err)
	payer, err := crypto.GenerateKey()
	require.NoError(t, err)
	userAddr := crypto.PubkeyToAddress(user.PublicKey)

	start := func(id uint64, funded ...common.Address) *simchain.Chain {
		cfg, ok := simchain.DefaultChain(id)
		require.True(t, ok)
		cfg.AutoMine = true
		cfg.Funded = funded
		c, err := simchain.New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	arb := start(simchain.Arbitrum, userAddr, crypto.PubkeyToAddress(bridge.PublicKey))
	evm := start(simchain.HyperEVM, userAddr, crypto.PubkeyToAddress(payer.PublicKey))

	tokens, pairs := hlsim.MainnetLikeTokens(evm.TokenAddress("USDC"), evm.TokenAddress("USDT0"), defaultBids, defaultAsks)
	sim, url := newSim(t, envOpts{tokens: tokens, pairs: pairs,
		arbitrum: &hlsim.Arbitrum{RPCURL: arb.RPCURL(), USDC: arb.TokenAddress("USDC"), BridgeKey: bridge},
		hyperEVM: &hlsim.HyperEVM{RPCURL: evm.RPCURL(), PayerKey: payer}, delay: delay})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Start(runCtx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return sim.CoreDepositWallet() != common.Address{} }, 10*time.Second, 10*time.Millisecond)

	// The simulator's HyperEVM payer holds the tokens that spotSends deliver.
	require.NoError(t, evm.Mint(ctx, "USDT0", crypto.PubkeyToAddress(payer.PublicKey), e6("100000")))
	require.NoError(t, evm.Mint(ctx, "USDC", crypto.PubkeyToAddress(payer.PublicKey), e6("100000")))

	e := &env{sim: sim, url: url, key: user, user: userAddr}
	require.NoError(t, sim.Credit(userAddr, "USDC", usd("1000")))
	e.client = newClient(t, url, user, wire.Mainnet, mutate...)
	return &chainEnv{env: e, arb: arb, evm: evm, payer: payer}
}

func (c *chainEnv) awaitDeposit(t *testing.T, tx common.Hash) hyperliquid.Deposit {
	t.Helper()
	var dep hyperliquid.Deposit
	require.Eventually(t, func() bool {
		d, found, err := c.client.FindDeposit(context.Background(), tx, 0)
		require.NoError(t, err)
		dep = d
		return found
	}, 10*time.Second, 20*time.Millisecond)
	return dep
}

func TestBridge2DepositAndWithdraw3(t *testing.T) {
	c := newChainEnv(t)
	ctx := ctxT(t)
	require.NoError(t, c.arb.Mint(ctx, "USDC", c.user, e6("100")))

	// A deposit above the minimum is credited to the perp balance.
	rcpt, err := c.arb.SendAndMine(ctx, c.key, c.arb.TokenAddress("USDC"), nil, hyperliquid.TransferCalldata(c.sim.Bridge2(), e6("20")))
	require.NoError(t, err)
	dep := c.awaitDeposit(t, rcpt.TxHash)
	require.True(t, dep.Perp)
	require.Equal(t, usd("20"), dep.Amount)
	w, err := c.client.PerpWithdrawable(ctx)
	require.NoError(t, err)
	require.Equal(t, usd("20"), w)

	// Below 5 USDC it is lost, as on the venue.
	_, err = c.arb.SendAndMine(ctx, c.key, c.arb.TokenAddress("USDC"), nil, hyperliquid.TransferCalldata(c.sim.Bridge2(), e6("4")))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.sim.Count(hlsim.EvDepositLost, c.user, "") == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, usd("20"), c.sim.PerpBalance(c.user))

	// withdraw3 whose response is dropped after it took effect: one withdrawal, paid once, net of the fee.
	before, err := c.arb.BalanceOf(ctx, "USDC", c.user)
	require.NoError(t, err)
	c.sim.InjectFault(hlsim.Fault{Endpoint: "exchange", Type: "withdraw3", Kind: hlsim.FaultDropResponse, Times: 1})
	p, err := c.client.PrepareWithdraw(ctx, c.user, usd("15"))
	require.NoError(t, err)
	res, err := c.client.SubmitTransfer(ctx, p)
	require.NoError(t, err)
	require.Equal(t, usd("15"), res.Amount)
	want := new(big.Int).Add(before, e6("14"))
	require.Eventually(t, func() bool {
		b, err := c.arb.BalanceOf(ctx, "USDC", c.user)
		require.NoError(t, err)
		return b.Cmp(want) == 0
	}, 10*time.Second, 10*time.Millisecond)
	// Resending the same bytes later changes nothing.
	_, err = c.client.SubmitTransfer(ctx, p)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.sim.PendingPayouts() == 0 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, c.sim.Count(hlsim.EvWithdraw, c.user, ""))
	require.Equal(t, 1, c.sim.Count(hlsim.EvPayout, c.user, ""))
	b, err := c.arb.BalanceOf(ctx, "USDC", c.user)
	require.NoError(t, err)
	require.Equal(t, want, b)
}

func TestSpotSendToHyperEVM(t *testing.T) {
	c := newChainEnv(t)
	ctx := ctxT(t)
	require.NoError(t, c.sim.Credit(c.user, "USDT0", usd("50")))
	c.sim.InjectFault(hlsim.Fault{Endpoint: "exchange", Type: "spotSend", Kind: hlsim.FaultDropResponse, Times: 1})
	// 30.00000099 USDT0 on HyperCore (8 decimals) is sent as 30 (HyperEVM has 6).
	p, err := c.client.PrepareSpotSendToEVM(ctx, "USDT0", new(big.Int).Add(usd("30"), big.NewInt(99)))
	require.NoError(t, err)
	require.Equal(t, usd("30"), p.Amount)
	res, err := c.client.SubmitTransfer(ctx, p)
	require.NoError(t, err)
	require.Equal(t, usd("30"), res.Amount)
	require.Eventually(t, func() bool {
		b, err := c.evm.BalanceOf(ctx, "USDT0", c.user)
		require.NoError(t, err)
		return b.Cmp(e6("30")) == 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, usd("20"), c.sim.SpotBalance(c.user, "USDT0"))
	require.Equal(t, 1, c.sim.Count(hlsim.EvSpotSend, c.user, ""))
}

func TestHyperEVMDeposits(t *testing.T) {
	c := newChainEnv(t)
	ctx := ctxT(t)
	require.NoError(t, c.evm.Mint(ctx, "USDT0", c.user, e6("100")))
	require.NoError(t, c.evm.Mint(ctx, "USDC", c.user, e6("100")))
	m := c.client.Meta()

	t.Run("USDT0 to its system address", func(t *testing.T) {
		rcpt, err := c.evm.SendAndMine(ctx, c.key, c.evm.TokenAddress("USDT0"), nil, hyperliquid.TransferCalldata(m.Base.SystemAddress(), e6("25")))
		require.NoError(t, err)
		dep := c.awaitDeposit(t, rcpt.TxHash)
		require.Equal(t, "USDT0", dep.Token)
		require.Equal(t, usd("25"), dep.Amount)
		require.Equal(t, usd("25"), c.sim.SpotBalance(c.user, "USDT0"))
	})
	t.Run("USDC through CoreDepositWallet", func(t *testing.T) {
		wallet := c.sim.CoreDepositWallet()
		usdc := c.evm.TokenAddress("USDC")
		before := c.sim.SpotBalance(c.user, "USDC")
		_, err := c.evm.SendAndMine(ctx, c.key, usdc, nil, hyperliquid.ApproveCalldata(wallet, e6("40")))
		require.NoError(t, err)
		rcpt, err := c.evm.SendAndMine(ctx, c.key, wallet, nil, hyperliquid.DepositCalldata(e6("40"), hyperliquid.SpotDex))
		require.NoError(t, err)
		// The receipt proves only that the EVM side ran; the credit is confirmed on HyperCore.
		dep := c.awaitDeposit(t, rcpt.TxHash)
		require.Equal(t, "USDC", dep.Token)
		require.Equal(t, usd("40"), dep.Amount)
		require.Equal(t, new(big.Int).Add(before, usd("40")), c.sim.SpotBalance(c.user, "USDC"))
	})
	t.Run("USDC by plain transfer is never credited", func(t *testing.T) {
		before := c.sim.SpotBalance(c.user, "USDC")
		_, err := c.evm.SendAndMine(ctx, c.key, c.evm.TokenAddress("USDC"), nil, hyperliquid.TransferCalldata(c.sim.CoreDepositWallet(), e6("5")))
		require.NoError(t, err)
		rcpt, err := c.evm.SendAndMine(ctx, c.key, c.evm.TokenAddress("USDC"), nil, hyperliquid.TransferCalldata(m.Quote.SystemAddress(), e6("6")))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return c.sim.Count(hlsim.EvDepositLost, c.user, "") == 1 }, 10*time.Second, 10*time.Millisecond)
		// A later deposit is seen, so the scan has passed both transfers without crediting them.
		r2, err := c.evm.SendAndMine(ctx, c.key, c.evm.TokenAddress("USDT0"), nil, hyperliquid.TransferCalldata(m.Base.SystemAddress(), e6("1")))
		require.NoError(t, err)
		c.awaitDeposit(t, r2.TxHash)
		_, found, err := c.client.FindDeposit(ctx, rcpt.TxHash, 0)
		require.NoError(t, err)
		require.False(t, found)
		require.Equal(t, before, c.sim.SpotBalance(c.user, "USDC"))
	})
}

func TestDepositCreditedOnlyOnHyperCoreAfterDelay(t *testing.T) {
	c := newChainEnvDelay(t, 3)
	ctx := ctxT(t)
	require.NoError(t, c.evm.Mint(ctx, "USDT0", c.user, e6("10")))
	rcpt, err := c.evm.SendAndMine(ctx, c.key, c.evm.TokenAddress("USDT0"), nil,
		hyperliquid.TransferCalldata(c.client.Meta().Base.SystemAddress(), e6("10")))
	require.NoError(t, err)
	require.Equal(t, uint64(1), rcpt.Status, "the EVM side succeeded")
	// The receipt is in, yet HyperCore has not credited it: the scan is behind by three blocks and the
	// simulator has seen at least the block holding the transfer.
	require.Eventually(t, func() bool {
		_, evmHead := c.sim.HeadsSeen()
		return evmHead >= rcpt.BlockNumber.Uint64()
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, c.sim.Sync(ctx)) // one complete scan at a head holding the transfer
	_, found, err := c.client.FindDeposit(ctx, rcpt.TxHash, 0)
	require.NoError(t, err)
	require.False(t, found)
	require.Zero(t, c.sim.SpotBalance(c.user, "USDT0").Sign())
	for i := 0; i < 3; i++ {
		c.evm.Commit()
	}
	dep := c.awaitDeposit(t, rcpt.TxHash)
	require.Equal(t, usd("10"), dep.Amount)
}

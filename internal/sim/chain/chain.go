package simchain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
)

// TokenSpec is one ERC20 on a simulated chain.
type TokenSpec struct {
	Symbol   string
	Decimals uint8
	// Address is where the token lives; the zero address picks a
	// deterministic one from the chain id and symbol.
	Address common.Address
	// Name is the ERC20 name; empty means Symbol.
	Name string
	// Balances are minted in genesis (no Transfer event).
	Balances map[common.Address]*big.Int
}

// Config describes one simulated chain.
type Config struct {
	ChainID uint64
	Name    string
	// BlockInterval seals a block every interval; zero mines only on Commit
	// (and on AutoMine).
	BlockInterval time.Duration
	// AutoMine seals a block after every transaction submitted over RPC,
	// before the submitting request is answered.
	AutoMine bool
	Tokens   []TokenSpec
	// Funded addresses get GasFunds wei in genesis.
	Funded []common.Address
	// GasFunds is the ETH (wei) per funded address; nil means 1,000,000 ETH.
	GasFunds *big.Int
	// ListenAddr is where the first endpoint listens; empty means
	// 127.0.0.1 at a free port. A devnet whose services run as separate
	// processes may fix it (e.g. "127.0.0.1:8545") to write their config.
	ListenAddr string
}

// Chain is a running simulated chain. Its methods are safe for concurrent use.
type Chain struct {
	cfg    Config
	tokens map[string]TokenSpec

	node   *node.Node
	eth    *eth.Ethereum
	beacon *catalyst.SimulatedBeacon
	rpcSrv *rpc.Server
	client *ethclient.Client // in-process, for the simulator's own work

	// mu serializes block production and chain rewinds (Commit, Fork) and the
	// simulator's own transactions, whose nonces must not interleave.
	mu     sync.Mutex
	closed atomic.Bool

	epMu      sync.Mutex
	endpoints []*served

	stop chan struct{}
	wg   sync.WaitGroup
}

type served struct {
	url    string
	faults *Faults
	srv    *http.Server
}

// New starts a simulated chain and serves its JSON-RPC on 127.0.0.1 at a
// free port. Close it when done.
func New(cfg Config) (*Chain, error) {
	if cfg.ChainID == 0 {
		return nil, fmt.Errorf("%w: chain id 0", ErrInvalidConfig)
	}
	c := &Chain{cfg: cfg, tokens: map[string]TokenSpec{}, stop: make(chan struct{})}
	tokens := make([]TokenSpec, 0, len(cfg.Tokens))
	for _, t := range cfg.Tokens {
		if _, dup := c.tokens[t.Symbol]; dup || t.Symbol == "" {
			return nil, fmt.Errorf("%w: token symbol %q empty or repeated", ErrInvalidConfig, t.Symbol)
		}
		if t.Address == (common.Address{}) {
			t.Address = deterministicTokenAddress(cfg.ChainID, t.Symbol)
		}
		c.tokens[t.Symbol] = t
		tokens = append(tokens, t)
	}
	alloc, err := genesisAlloc(cfg, tokens)
	if err != nil {
		return nil, err
	}
	if err := c.startNode(alloc); err != nil {
		return nil, fmt.Errorf("simchain %d: start node: %w", cfg.ChainID, err)
	}
	if _, err := c.addEndpoint(cfg.ListenAddr); err != nil {
		_ = c.Close()
		return nil, err
	}
	if cfg.AutoMine {
		c.startAutoMine()
	}
	if cfg.BlockInterval > 0 {
		c.startTicker(cfg.BlockInterval)
	}
	return c, nil
}

// startNode assembles what ethclient/simulated.NewBackend assembles (a node
// without networking, an eth service, a filter API and a simulated beacon),
// keeping hold of the node so its JSON-RPC handler can be served over HTTP at
// a port of our choosing and of the eth service for the transaction pool.
func (c *Chain) startNode(alloc types.GenesisAlloc) error {
	nodeConf := node.DefaultConfig
	nodeConf.DataDir = ""
	nodeConf.P2P = p2p.Config{NoDiscovery: true}
	nodeConf.HTTPHost, nodeConf.WSHost, nodeConf.IPCPath = "", "", ""

	genesisAlloc := core.SystemContractAllocs()
	for a, acct := range alloc {
		genesisAlloc[a] = acct
	}
	chainConfig := *params.AllDevChainProtocolChanges // copy: the original is shared
	chainConfig.ChainID = new(big.Int).SetUint64(c.cfg.ChainID)
	// Stop at Osaka, the fork mainnet runs: the dev config also enables
	// unreleased forks whose repricing makes an ERC20 transfer cost ~3x the
	// gas it costs on the chains being simulated.
	chainConfig.BogotaTime = nil

	ethConf := ethconfig.Defaults
	ethConf.NetworkId = c.cfg.ChainID
	ethConf.Genesis = &core.Genesis{
		Config:   &chainConfig,
		GasLimit: ethconfig.Defaults.Miner.GasCeil,
		Alloc:    genesisAlloc,
	}
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.TxPool.NoLocals = true

	stack, err := node.New(&nodeConf)
	if err != nil {
		return err
	}
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		_ = stack.Close()
		return err
	}
	filterSystem := filters.NewFilterSystem(backend.APIBackend, filters.Config{})
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(filterSystem)}})
	if err := stack.Start(); err != nil {
		_ = stack.Close()
		return err
	}
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		_ = stack.Close()
		return err
	}
	if err := beacon.Fork(backend.BlockChain().GetCanonicalHash(0)); err != nil {
		_ = stack.Close()
		return err
	}
	srv, err := stack.RPCHandler()
	if err != nil {
		_ = stack.Close()
		return err
	}
	c.node, c.eth, c.beacon, c.rpcSrv = stack, backend, beacon, srv
	c.client = ethclient.NewClient(stack.Attach())
	return nil
}

// AddEndpoint serves the same node on one more HTTP port, with its own
// faults, for fail-over tests. It returns the endpoint's URL.
func (c *Chain) AddEndpoint() (string, error) { return c.addEndpoint("") }

func (c *Chain) addEndpoint(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("simchain %d: listen: %w", c.cfg.ChainID, err)
	}
	f := newFaults()
	ep := &endpoint{faults: f, next: c.rpcSrv}
	if c.cfg.AutoMine {
		ep.mine = c.mineIfPending
	}
	s := &served{url: "http://" + ln.Addr().String(), faults: f, srv: &http.Server{Handler: ep, ReadHeaderTimeout: 10 * time.Second}}
	c.epMu.Lock()
	if c.closed.Load() {
		c.epMu.Unlock()
		_ = ln.Close()
		return "", ErrClosed
	}
	c.endpoints = append(c.endpoints, s)
	c.wg.Add(1)
	c.epMu.Unlock()
	go func() {
		defer c.wg.Done()
		_ = s.srv.Serve(ln) // returns on Shutdown/Close
	}()
	return s.url, nil
}

// Close stops block production, the HTTP endpoints and the node, and waits
// for every goroutine the chain started.
func (c *Chain) Close() error {
	c.epMu.Lock()
	if c.closed.Swap(true) {
		c.epMu.Unlock()
		return nil
	}
	eps := c.endpoints
	c.epMu.Unlock()
	close(c.stop)

	var errs []error
	for _, ep := range eps {
		errs = append(errs, ep.srv.Close())
	}
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		c.client.Close()
	}
	if c.node != nil {
		errs = append(errs, c.node.Close())
	}
	return errors.Join(errs...)
}

// ChainID is the chain's EIP-155 id.
func (c *Chain) ChainID() uint64 { return c.cfg.ChainID }

// Name is the configured name.
func (c *Chain) Name() string { return c.cfg.Name }

// RPCURL is the first endpoint's JSON-RPC URL (http://127.0.0.1:port).
func (c *Chain) RPCURL() string { return c.Endpoints()[0] }

// Endpoints lists every endpoint's URL, first one first.
func (c *Chain) Endpoints() []string {
	c.epMu.Lock()
	defer c.epMu.Unlock()
	urls := make([]string, len(c.endpoints))
	for i, ep := range c.endpoints {
		urls[i] = ep.url
	}
	return urls
}

// Faults controls the faults of the first endpoint.
func (c *Chain) Faults() *Faults { return c.FaultsAt(0) }

// FaultsAt controls the faults of endpoint i (in AddEndpoint order).
func (c *Chain) FaultsAt(i int) *Faults {
	c.epMu.Lock()
	defer c.epMu.Unlock()
	return c.endpoints[i].faults
}

// Client is an in-process client of the node (no HTTP, no faults), for
// simulators and test assertions.
func (c *Chain) Client() *ethclient.Client { return c.client }

// Tokens lists the configured tokens, sorted by symbol.
func (c *Chain) Tokens() []TokenSpec {
	out := make([]TokenSpec, 0, len(c.tokens))
	for _, t := range c.tokens {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Symbol < out[j].Symbol })
	return out
}

// Token returns the spec of symbol.
func (c *Chain) Token(symbol string) (TokenSpec, bool) {
	t, ok := c.tokens[symbol]
	return t, ok
}

// TokenAddress is where symbol lives; the zero address if not configured.
func (c *Chain) TokenAddress(symbol string) common.Address { return c.tokens[symbol].Address }

// Commit seals a block now and returns its number.
func (c *Chain) Commit() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commitLocked()
}

func (c *Chain) commitLocked() uint64 {
	if c.closed.Load() {
		return c.eth.BlockChain().CurrentBlock().Number.Uint64()
	}
	c.beacon.Commit()
	return c.eth.BlockChain().CurrentBlock().Number.Uint64()
}

// Head is the current head block number.
func (c *Chain) Head() uint64 { return c.eth.BlockChain().CurrentBlock().Number.Uint64() }

// mineIfPending seals a block if the pool holds executable transactions.
func (c *Chain) mineIfPending() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	_ = c.eth.TxPool().Sync()
	if pending, _ := c.eth.TxPool().Stats(); pending > 0 {
		c.beacon.Commit()
	}
}

// startAutoMine also mines transactions that arrive other than through an
// HTTP endpoint (the in-process client).
func (c *Chain) startAutoMine() {
	ch := make(chan core.NewTxsEvent, 64)
	sub := c.eth.TxPool().SubscribeTransactions(ch, false)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer sub.Unsubscribe()
		for {
			select {
			case <-c.stop:
				return
			case err := <-sub.Err():
				_ = err // the pool closed the subscription: the chain is stopping
				return
			case <-ch:
				c.mineIfPending()
			}
		}
	}()
}

func (c *Chain) startTicker(every time.Duration) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				c.Commit()
			}
		}
	}()
}

// Mint mints amount of symbol to `to` (a Transfer from the zero address) and
// returns once the block holding it is mined.
func (c *Chain) Mint(ctx context.Context, symbol string, to common.Address, amount *big.Int) error {
	tok, ok := c.tokens[symbol]
	if !ok {
		return fmt.Errorf("mint %s: %w", symbol, ErrUnknownToken)
	}
	data := contracts.NewTestToken().PackMint(to, amount)
	if _, err := c.SendAndMine(ctx, DevKey(minterLabel), tok.Address, nil, data); err != nil {
		return fmt.Errorf("mint %s %s to %s: %w", amount, symbol, to, err)
	}
	return nil
}

// Burn burns amount of symbol held by `from` and returns once mined. A
// simulated venue uses it to take deposited funds out of circulation.
func (c *Chain) Burn(ctx context.Context, symbol string, from common.Address, amount *big.Int) error {
	tok, ok := c.tokens[symbol]
	if !ok {
		return fmt.Errorf("burn %s: %w", symbol, ErrUnknownToken)
	}
	data := contracts.NewTestToken().PackBurn(from, amount)
	if _, err := c.SendAndMine(ctx, DevKey(minterLabel), tok.Address, nil, data); err != nil {
		return fmt.Errorf("burn %s %s from %s: %w", amount, symbol, from, err)
	}
	return nil
}

// Transfer sends amount of symbol from key's account to `to` and returns the
// receipt once mined. Simulated venues pay withdrawals with it.
func (c *Chain) Transfer(ctx context.Context, key *ecdsa.PrivateKey, symbol string, to common.Address, amount *big.Int) (*types.Receipt, error) {
	tok, ok := c.tokens[symbol]
	if !ok {
		return nil, fmt.Errorf("transfer %s: %w", symbol, ErrUnknownToken)
	}
	data := contracts.NewTestToken().PackTransfer(to, amount)
	rcpt, err := c.SendAndMine(ctx, key, tok.Address, nil, data)
	if err != nil {
		return nil, fmt.Errorf("transfer %s %s to %s: %w", amount, symbol, to, err)
	}
	return rcpt, nil
}

// SendAndMine signs a transaction from key to `to` with value and data,
// submits it in-process, seals a block and returns the receipt. A reverted
// transaction returns the receipt and ErrTxFailed.
func (c *Chain) SendAndMine(ctx context.Context, key *ecdsa.PrivateKey, to common.Address, value *big.Int, data []byte) (*types.Receipt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, ErrClosed
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := c.client.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	if value == nil {
		value = new(big.Int)
	}
	gas, err := c.client.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &to, Value: value, Data: data})
	if err != nil {
		return nil, fmt.Errorf("estimate gas: %w", err)
	}
	head := c.eth.BlockChain().CurrentBlock()
	tip := big.NewInt(params.GWei)
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: new(big.Int).SetUint64(c.cfg.ChainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: gas * 3 / 2, To: &to, Value: value, Data: data,
	})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(tx.ChainId()), key)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if err := c.client.SendTransaction(ctx, signed); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	c.beacon.Commit()
	rcpt, err := c.client.TransactionReceipt(ctx, signed.Hash())
	if err != nil {
		return nil, fmt.Errorf("receipt %s: %w", signed.Hash(), err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return rcpt, fmt.Errorf("tx %s: %w", signed.Hash(), ErrTxFailed)
	}
	return rcpt, nil
}

// BalanceOf reads symbol's balance of who at the latest block.
func (c *Chain) BalanceOf(ctx context.Context, symbol string, who common.Address) (*big.Int, error) {
	tok, ok := c.tokens[symbol]
	if !ok {
		return nil, fmt.Errorf("balance %s: %w", symbol, ErrUnknownToken)
	}
	erc20 := contracts.NewTestToken()
	out, err := c.client.CallContract(ctx, ethereum.CallMsg{To: &tok.Address, Data: erc20.PackBalanceOf(who)}, nil)
	if err != nil {
		return nil, fmt.Errorf("balance %s of %s: %w", symbol, who, err)
	}
	bal, err := erc20.UnpackBalanceOf(out)
	if err != nil {
		return nil, fmt.Errorf("balance %s of %s: decode: %w", symbol, who, err)
	}
	return bal, nil
}

// Fork rewinds the canonical chain to parent; blocks sealed afterwards build
// on it, so the old blocks above parent are replaced (a reorg). Transactions
// of the dropped blocks go back to the pool and are mined again by the next
// Commit, as on a real chain.
func (c *Chain) Fork(parent common.Hash) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return ErrClosed
	}
	if err := c.beacon.Fork(parent); err != nil {
		return fmt.Errorf("fork at %s: %w", parent, err)
	}
	return nil
}

// Reorg replaces the top depth blocks with depth+1 new ones (so the new
// branch is longer) and returns the new head number. Pending transactions
// must have been mined first.
func (c *Chain) Reorg(depth uint64) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return 0, ErrClosed
	}
	head := c.eth.BlockChain().CurrentBlock().Number.Uint64()
	if depth == 0 || depth > head {
		return 0, fmt.Errorf("%w: reorg depth %d at head %d", ErrInvalidConfig, depth, head)
	}
	parent := c.eth.BlockChain().GetCanonicalHash(head - depth)
	if err := c.beacon.Fork(parent); err != nil {
		return 0, fmt.Errorf("reorg %d blocks: %w", depth, err)
	}
	var n uint64
	for i := uint64(0); i <= depth; i++ {
		n = c.commitLocked()
	}
	return n, nil
}

package hlsim

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/rebalancer-dev/rebalancer/internal/sim/hyperliquid/contracts"
)

var (
	transferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
	depositTopic  = crypto.Keccak256Hash([]byte("Deposit(address,uint256,uint32)"))
)

// SpotDex is CoreDepositWallet's destinationDex for the spot balance.
const SpotDex = math.MaxUint32

type payout struct {
	arbitrum bool
	user     common.Address
	to       common.Address
	token    common.Address
	amount   *big.Int // ERC20 units on the target chain
	coreAmt  *big.Int // HyperCore wei, for the record
	name     string
	nonce    uint64
}

type chains struct {
	arb, evm         *ethclient.Client
	arbNext, evmNext uint64 // next block to scan
	arbSeen, evmSeen uint64 // latest head seen
	wallet           common.Address
	payouts          []payout
	kick             chan struct{}
	// syncMu serializes Sync: scans advance arbNext/evmNext and payouts must never be sent twice.
	syncMu sync.Mutex
}

// Bridge2 is the address Arbitrum deposits go to (the bridge key's address); zero without Arbitrum.
func (s *Sim) Bridge2() common.Address {
	if s.cfg.Arbitrum == nil {
		return common.Address{}
	}
	return crypto.PubkeyToAddress(s.cfg.Arbitrum.BridgeKey.PublicKey)
}

// CoreDepositWallet is the wallet's HyperEVM address, known once Start has connected.
func (s *Sim) CoreDepositWallet() common.Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chains == nil {
		return common.Address{}
	}
	return s.chains.wallet
}

// Connect dials the configured chains and deploys CoreDepositWallet if needed. Start calls it; tests
// that drive scanning with Sync call it directly.
func (s *Sim) Connect(ctx context.Context) error {
	c := &chains{kick: make(chan struct{}, 1)}
	var err error
	if a := s.cfg.Arbitrum; a != nil {
		if c.arb, err = ethclient.DialContext(ctx, a.RPCURL); err != nil {
			return fmt.Errorf("dial arbitrum: %w", err)
		}
	}
	if h := s.cfg.HyperEVM; h != nil {
		if c.evm, err = ethclient.DialContext(ctx, h.RPCURL); err != nil {
			return fmt.Errorf("dial hyperevm: %w", err)
		}
		c.wallet = h.CoreDepositWallet
		if c.wallet == (common.Address{}) {
			if c.wallet, err = s.deployWallet(ctx, c.evm, h.PayerKey); err != nil {
				return err
			}
		}
	}
	s.mu.Lock()
	s.chains = c
	s.mu.Unlock()
	return nil
}

func (s *Sim) deployWallet(ctx context.Context, cl *ethclient.Client, key *ecdsa.PrivateKey) (common.Address, error) {
	var token common.Address
	for _, t := range s.tokens {
		if t.ViaDepositWallet {
			token = t.EVMContract
		}
	}
	if token == (common.Address{}) {
		return common.Address{}, nil
	}
	cdw := contracts.NewCoreDepositWallet()
	code := common.FromHex(contracts.CoreDepositWalletMetaData.Bin)
	input := append(code, cdw.PackConstructor(token)...)
	tx, err := sendTx(ctx, cl, key, nil, input)
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy CoreDepositWallet: %w", err)
	}
	r, err := waitMined(ctx, cl, tx.Hash())
	if err != nil {
		return common.Address{}, fmt.Errorf("deploy CoreDepositWallet: %w", err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return common.Address{}, errors.New("deploy CoreDepositWallet: reverted")
	}
	return r.ContractAddress, nil
}

// Start connects the chains and then scans them for deposits and pays queued withdrawals until ctx
// ends. Without chains configured it only waits for ctx.
func (s *Sim) Start(ctx context.Context) error {
	if s.cfg.Arbitrum == nil && s.cfg.HyperEVM == nil {
		<-ctx.Done()
		return nil
	}
	if err := s.Connect(ctx); err != nil {
		return err
	}
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn().Err(err).Msg("hlsim: chain sync")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.chains.kick:
		}
	}
}

// Sync scans the chains once for new deposits and pays every queued payout.
func (s *Sim) Sync(ctx context.Context) error {
	s.mu.Lock()
	c := s.chains
	s.mu.Unlock()
	if c == nil {
		return errors.New("hlsim: chains not connected")
	}
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	var errs []error
	if c.arb != nil {
		errs = append(errs, s.scanArbitrum(ctx, c))
	}
	if c.evm != nil {
		errs = append(errs, s.scanHyperEVM(ctx, c))
	}
	errs = append(errs, s.pay(ctx, c))
	return errors.Join(errs...)
}

func (s *Sim) scanArbitrum(ctx context.Context, c *chains) error {
	a := s.cfg.Arbitrum
	head, err := c.arb.BlockNumber(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	c.arbSeen = head
	s.mu.Unlock()
	// Credits trail the chain by CreditDelayBlocks: bridge and CoreWriter actions are asynchronous.
	if head < s.cfg.CreditDelayBlocks || head-s.cfg.CreditDelayBlocks < c.arbNext {
		return nil
	}
	head -= s.cfg.CreditDelayBlocks
	logs, err := c.arb.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(c.arbNext), ToBlock: new(big.Int).SetUint64(head),
		Addresses: []common.Address{a.USDC},
		Topics:    [][]common.Hash{{transferTopic}, nil, {common.BytesToHash(s.Bridge2().Bytes())}},
	})
	if err != nil {
		return fmt.Errorf("arbitrum logs: %w", err)
	}
	usdc := s.tokens[s.cfg.USDC]
	s.mu.Lock()
	for _, l := range logs {
		if len(l.Topics) != 3 || l.Removed {
			continue
		}
		from := common.BytesToAddress(l.Topics[1].Bytes())
		amt := new(big.Int).SetBytes(l.Data)
		core := scaleDecimals(amt, a.Decimals, usdc.WeiDecimals)
		if amt.Cmp(a.MinDeposit) < 0 {
			s.event(Event{Kind: EvDepositLost, User: from, Token: usdc.Name, Amount: core, TxHash: l.TxHash, Note: "bridge2 below minimum"})
			continue
		}
		acct := s.acct(from)
		acct.perp = new(big.Int).Add(acct.perp, core)
		s.ledger[from] = append(s.ledger[from], ledgerUpdate{Time: s.nowMs(), Hash: l.TxHash.Hex(),
			Delta: map[string]any{"type": "deposit", "usdc": fmtWei(core, usdc.WeiDecimals)}})
		s.event(Event{Kind: EvDeposit, User: from, Token: usdc.Name, Amount: core, TxHash: l.TxHash, Note: "bridge2"})
	}
	c.arbNext = head + 1
	s.mu.Unlock()
	return nil
}

func (s *Sim) scanHyperEVM(ctx context.Context, c *chains) error {
	head, err := c.evm.BlockNumber(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	c.evmSeen = head
	s.mu.Unlock()
	// Credits trail the chain by CreditDelayBlocks: bridge and CoreWriter actions are asynchronous.
	if head < s.cfg.CreditDelayBlocks || head-s.cfg.CreditDelayBlocks < c.evmNext {
		return nil
	}
	head -= s.cfg.CreditDelayBlocks
	var addrs []common.Address
	var systems []common.Hash
	byContract := map[common.Address]*Token{}
	for _, t := range s.tokens {
		if t.EVMContract != (common.Address{}) {
			addrs = append(addrs, t.EVMContract)
			systems = append(systems, common.BytesToHash(t.SystemAddress().Bytes()))
			byContract[t.EVMContract] = t
		}
	}
	q := ethereum.FilterQuery{FromBlock: new(big.Int).SetUint64(c.evmNext), ToBlock: new(big.Int).SetUint64(head)}
	var logs []types.Log
	if len(addrs) > 0 {
		q.Addresses, q.Topics = addrs, [][]common.Hash{{transferTopic}, nil, systems}
		if logs, err = c.evm.FilterLogs(ctx, q); err != nil {
			return fmt.Errorf("hyperevm transfer logs: %w", err)
		}
	}
	var deps []types.Log
	if c.wallet != (common.Address{}) {
		q.Addresses, q.Topics = []common.Address{c.wallet}, [][]common.Hash{{depositTopic}}
		if deps, err = c.evm.FilterLogs(ctx, q); err != nil {
			return fmt.Errorf("hyperevm deposit logs: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range logs {
		t := byContract[l.Address]
		if t == nil || len(l.Topics) != 3 || l.Removed || common.BytesToAddress(l.Topics[2].Bytes()) != t.SystemAddress() {
			continue
		}
		from := common.BytesToAddress(l.Topics[1].Bytes())
		core := scaleDecimals(new(big.Int).SetBytes(l.Data), t.EVMDecimals, t.WeiDecimals)
		if t.ViaDepositWallet {
			s.event(Event{Kind: EvDepositLost, User: from, Token: t.Name, Amount: core, TxHash: l.TxHash,
				Note: "transfer to system address of a token that enters through CoreDepositWallet"})
			continue
		}
		s.creditSpot(from, t, core, l.TxHash, "system")
	}
	for _, l := range deps {
		if len(l.Topics) != 2 || len(l.Data) != 64 || l.Removed {
			continue
		}
		var t *Token
		for _, x := range s.tokens {
			if x.ViaDepositWallet {
				t = x
			}
		}
		from := common.BytesToAddress(l.Topics[1].Bytes())
		core := scaleDecimals(new(big.Int).SetBytes(l.Data[:32]), t.EVMDecimals, t.WeiDecimals)
		dex := new(big.Int).SetBytes(l.Data[32:]).Uint64()
		if dex == SpotDex {
			s.creditSpot(from, t, core, l.TxHash, "wallet")
			continue
		}
		acct := s.acct(from)
		acct.perp = new(big.Int).Add(acct.perp, core)
		s.ledger[from] = append(s.ledger[from], ledgerUpdate{Time: s.nowMs(), Hash: l.TxHash.Hex(),
			Delta: map[string]any{"type": "deposit", "usdc": fmtWei(core, t.WeiDecimals)}})
		s.event(Event{Kind: EvDeposit, User: from, Token: t.Name, Amount: core, TxHash: l.TxHash, Note: "wallet perp"})
	}
	c.evmNext = head + 1
	return nil
}

func (s *Sim) creditSpot(from common.Address, t *Token, core *big.Int, tx common.Hash, note string) {
	acct := s.acct(from)
	acct.spot[t.Index] = new(big.Int).Add(acct.bal(t.Index), core)
	s.ledger[from] = append(s.ledger[from], ledgerUpdate{Time: s.nowMs(), Hash: tx.Hex(), Delta: map[string]any{
		"type": "spotTransfer", "token": t.Name, "amount": fmtWei(core, t.WeiDecimals), "usdcValue": "0.0",
		"user": t.SystemAddress().Hex(), "destination": from.Hex(), "fee": "0.0", "nativeTokenFee": "0.0", "nonce": nil}})
	s.event(Event{Kind: EvDeposit, User: from, Token: t.Name, Amount: core, TxHash: tx, Note: note})
}

// queuePayoutEVM queues the HyperEVM side of a spotSend to a system address. Caller holds s.mu.
func (s *Sim) queuePayoutEVM(user common.Address, t *Token, core *big.Int, nonce uint64) {
	p := payout{user: user, to: user, token: t.EVMContract, coreAmt: core, name: t.Name, nonce: nonce,
		amount: scaleDecimals(core, t.WeiDecimals, t.EVMDecimals)}
	s.queue(p)
}

// queuePayoutArbitrum queues withdraw3's USDC transfer (net of the fee). Caller holds s.mu.
func (s *Sim) queuePayoutArbitrum(user, to common.Address, netCore *big.Int, nonce uint64) {
	usdc := s.tokens[s.cfg.USDC]
	p := payout{arbitrum: true, user: user, to: to, coreAmt: netCore, name: usdc.Name, nonce: nonce}
	if a := s.cfg.Arbitrum; a != nil {
		p.token, p.amount = a.USDC, scaleDecimals(netCore, usdc.WeiDecimals, a.Decimals)
	}
	s.queue(p)
}

func (s *Sim) queue(p payout) {
	if s.chains == nil || (p.arbitrum && s.chains.arb == nil) || (!p.arbitrum && s.chains.evm == nil) {
		s.event(Event{Kind: EvPayout, User: p.user, Nonce: p.nonce, Token: p.name, Amount: p.coreAmt,
			Note: "no chain configured: not delivered"})
		return
	}
	s.chains.payouts = append(s.chains.payouts, p)
}

func (s *Sim) kickPayouts() {
	s.mu.Lock()
	c := s.chains
	s.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// pay sends queued payouts in order; one that fails stays queued for the next round.
func (s *Sim) pay(ctx context.Context, c *chains) error {
	for {
		s.mu.Lock()
		if len(c.payouts) == 0 {
			s.mu.Unlock()
			return nil
		}
		p := c.payouts[0]
		s.mu.Unlock()
		cl, key := c.evm, (*ecdsa.PrivateKey)(nil)
		if p.arbitrum {
			cl, key = c.arb, s.cfg.Arbitrum.BridgeKey
		} else {
			key = s.cfg.HyperEVM.PayerKey
		}
		tx, err := sendTx(ctx, cl, key, &p.token, transferCalldata(p.to, p.amount))
		if err == nil {
			var r *types.Receipt
			if r, err = waitMined(ctx, cl, tx.Hash()); err == nil && r.Status != types.ReceiptStatusSuccessful {
				err = errors.New("payout transfer reverted")
			}
		}
		if err != nil {
			return fmt.Errorf("payout %s to %s: %w", p.name, p.to.Hex(), err)
		}
		s.mu.Lock()
		c.payouts = c.payouts[1:]
		s.event(Event{Kind: EvPayout, User: p.user, Nonce: p.nonce, Token: p.name, Amount: p.coreAmt, TxHash: tx.Hash(),
			Note: p.to.Hex()})
		s.mu.Unlock()
	}
}

// HeadsSeen returns the latest Arbitrum and HyperEVM block numbers the deposit scanner has seen
// (credits trail them by CreditDelayBlocks).
func (s *Sim) HeadsSeen() (arbitrum, hyperEVM uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chains == nil {
		return 0, 0
	}
	return s.chains.arbSeen, s.chains.evmSeen
}

// PendingPayouts is how many payouts wait for their chain transfer.
func (s *Sim) PendingPayouts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chains == nil {
		return 0
	}
	return len(s.chains.payouts)
}

func transferCalldata(to common.Address, amount *big.Int) []byte {
	data := crypto.Keccak256([]byte("transfer(address,uint256)"))[:4]
	data = append(data, common.LeftPadBytes(to.Bytes(), 32)...)
	return append(data, common.LeftPadBytes(amount.Bytes(), 32)...)
}

// sendTx signs and sends a dynamic-fee transaction from key to `to` (nil: contract creation).
func sendTx(ctx context.Context, cl *ethclient.Client, key *ecdsa.PrivateKey, to *common.Address, data []byte) (*types.Transaction, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	chainID, err := cl.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	nonce, err := cl.PendingNonceAt(ctx, from)
	if err != nil {
		return nil, err
	}
	tip, err := cl.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, err
	}
	head, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, err
	}
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	gas, err := cl.EstimateGas(ctx, ethereum.CallMsg{From: from, To: to, Data: data})
	if err != nil {
		return nil, fmt.Errorf("estimate gas: %w", err)
	}
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: gas * 12 / 10, To: to, Data: data})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(chainID), key)
	if err != nil {
		return nil, err
	}
	if err := cl.SendTransaction(ctx, signed); err != nil {
		return nil, err
	}
	return signed, nil
}

func waitMined(ctx context.Context, cl *ethclient.Client, h common.Hash) (*types.Receipt, error) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		r, err := cl.TransactionReceipt(ctx, h)
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// scaleDecimals converts an amount between decimal bases, rounding down (dust stays behind).
func scaleDecimals(v *big.Int, from, to int) *big.Int {
	if to >= from {
		return new(big.Int).Mul(v, pow10(to-from))
	}
	return new(big.Int).Quo(v, pow10(from-to))
}

func fmtWei(v *big.Int, decimals int) string {
	return wireFormat(v, decimals)
}

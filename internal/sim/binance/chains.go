package simbinance

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
)

// Tick does one round of chain work: scan every network for deposits to the accounts' addresses,
// credit and unlock them by confirmations, send pending withdrawals as ERC20 transfers from the
// hot wallet and complete them once mined. Start calls it periodically; tests call it directly.
func (s *Sim) Tick(ctx context.Context) error {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	var errs []error
	for _, name := range s.netNames() {
		n := s.nets[name]
		if n.client == nil {
			continue
		}
		if err := s.scan(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("scan %s: %w", name, err))
		}
		if err := s.payout(ctx, n); err != nil {
			errs = append(errs, fmt.Errorf("withdrawals %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// reorgRescan is how far back the deposit scan looks again after a reorg.
const reorgRescan = 64

func (s *Sim) scan(ctx context.Context, n *network) error {
	head, err := n.client.BlockNumber(ctx)
	if err != nil {
		return err
	}
	from := n.scanned + 1
	if n.scanned > 0 {
		// A reorg below the last scanned block may have moved or dropped deposits: scan the recent
		// blocks again; a deposit already known (same transaction and transfer) is updated, never
		// credited twice, as Binance keys deposits by their transaction.
		h, err := n.client.HeaderByNumber(ctx, new(big.Int).SetUint64(min(n.scanned, head)))
		if err != nil {
			return err
		}
		if n.scanned > head || h.Hash() != n.scannedHash {
			from = 1
			if n.scanned > reorgRescan {
				from = n.scanned - reorgRescan
			}
		}
	}
	if head >= from {
		// The head's hash is read before the logs: a reorg in between shows at the next scan.
		hh, err := n.client.HeaderByNumber(ctx, new(big.Int).SetUint64(head))
		if err != nil {
			return err
		}
		tokens := make([]common.Address, 0, len(n.coins))
		byToken := map[common.Address]coinNet{}
		for _, c := range n.coins {
			tokens = append(tokens, c.Token)
			byToken[c.Token] = c
		}
		s.mu.Lock()
		addrs := make([]common.Hash, 0, len(s.byAddr))
		for a := range s.byAddr {
			addrs = append(addrs, common.BytesToHash(a.Bytes()))
		}
		s.mu.Unlock()
		logs, err := n.client.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(head),
			Addresses: tokens, Topics: [][]common.Hash{{contracts.TransferTopic}, nil, addrs},
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		for _, l := range logs {
			if l.Removed || len(l.Topics) < 3 {
				continue
			}
			c := byToken[l.Address]
			to := common.BytesToAddress(l.Topics[2].Bytes())
			acct := s.byAddr[to]
			value := new(big.Int).SetBytes(l.Data)
			amount := truncDec(fromUnits(value, c.Decimals), 8)
			txHash := strings.ToLower(l.TxHash.Hex())
			if d := s.knownDepositLocked(n.Name, txHash, c.Coin, to, amount); d != nil {
				if d.status == 0 {
					d.block, d.logIndex = l.BlockNumber, l.Index // re-mined elsewhere: count from there
				}
				continue
			}
			d := &deposit{acct: acct, id: s.id(), coin: c.Coin, network: n.Name, address: to,
				amount: amount, txHash: txHash,
				logIndex: l.Index, block: l.BlockNumber, insertTime: s.cfg.Now().UnixMilli()}
			s.deposits = append(s.deposits, d)
			s.recordLocked(Action{Kind: ActionDepositSeen, APIKey: acct.key, ID: strconv.FormatInt(d.id, 10), Coin: d.coin,
				Network: n.Name, Amount: fmtDec(d.amount, 8), TxHash: d.txHash})
		}
		s.mu.Unlock()
		n.scanned, n.scannedHash = head, hh.Hash()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.deposits {
		if d.network != n.Name || d.status == 1 || head < d.block {
			continue
		}
		d.confirmations = head - d.block + 1
		if d.status == 0 && d.confirmations >= n.MinConfirm && !s.suspendedD[d.coin+"/"+n.Name] {
			d.wallet = s.cfg.DepositWallet
			add(d.acct.wallets[d.wallet], d.coin, d.amount)
			d.status = 6
			add(d.acct.withdrawLocked, d.coin, d.amount)
			s.recordLocked(Action{Kind: ActionDepositCredit, APIKey: d.acct.key, ID: strconv.FormatInt(d.id, 10), Coin: d.coin,
				Network: n.Name, Amount: fmtDec(d.amount, 8), TxHash: d.txHash})
		}
		if d.status == 6 && d.confirmations >= n.UnlockConfirm {
			d.status = 1
			add(d.acct.withdrawLocked, d.coin, new(big.Rat).Neg(d.amount))
			s.recordLocked(Action{Kind: ActionDepositUnlock, APIKey: d.acct.key, ID: strconv.FormatInt(d.id, 10), Coin: d.coin,
				Network: n.Name, Amount: fmtDec(d.amount, 8), TxHash: d.txHash})
		}
	}
	return nil
}

// knownDepositLocked finds a deposit already seen for the same transfer (a transaction carrying
// two identical transfers to one address would count once: the simulator's simplification).
func (s *Sim) knownDepositLocked(network, txHash, coin string, to common.Address, amount *big.Rat) *deposit {
	for _, d := range s.deposits {
		if d.network == network && d.txHash == txHash && d.coin == coin && d.address == to && d.amount.Cmp(amount) == 0 {
			return d
		}
	}
	return nil
}

func (s *Sim) payout(ctx context.Context, n *network) error {
	s.mu.Lock()
	var todo []*withdrawal
	for _, w := range s.withdrawals {
		if w.network == n.Name && w.status == 4 {
			todo = append(todo, w)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, w := range todo {
		if w.txHash == "" {
			if err := s.send(ctx, n, w); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		rcpt, err := n.client.TransactionReceipt(ctx, common.HexToHash(w.txHash))
		if errors.Is(err, ethereum.NotFound) {
			// Not mined (or never arrived): broadcast the same signed bytes again, never a new transfer.
			if err := n.client.SendTransaction(ctx, w.signed); err != nil && !strings.Contains(err.Error(), "already known") {
				errs = append(errs, err)
			}
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		if rcpt.Status == types.ReceiptStatusSuccessful {
			w.status, w.completeTime, w.confirmations = 6, s.cfg.Now(), 1
		} else {
			s.failLocked(w, "transaction reverted")
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// failLocked marks a withdrawal failed and returns its amount and fee to the account.
func (s *Sim) failLocked(w *withdrawal, why string) {
	w.status, w.info = 5, why
	wallet := walletSpot
	if w.walletType == 1 {
		wallet = walletFunding
	}
	add(w.acct.wallets[wallet], w.coin, new(big.Rat).Add(w.amount, w.fee))
	s.recordLocked(Action{Kind: ActionWithdrawFailed, APIKey: w.acct.key, ID: w.id, ClientID: w.clientID, Coin: w.coin, Network: w.network})
}

func (s *Sim) send(ctx context.Context, n *network, w *withdrawal) error {
	c := n.coins[w.coin]
	units := toUnits(w.amount, c.Decimals)
	from := crypto.PubkeyToAddress(s.cfg.HotWallet.PublicKey)
	data := contracts.NewTestToken().PackTransfer(w.address, units)
	nonce, err := n.client.PendingNonceAt(ctx, from)
	if err != nil {
		return err
	}
	tip, err := n.client.SuggestGasTipCap(ctx)
	if err != nil {
		return err
	}
	head, err := n.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	feeCap := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	gas, err := n.client.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &c.Token, Data: data})
	if err != nil {
		// The hot wallet cannot pay (no tokens or gas): the withdrawal fails and is refunded.
		s.mu.Lock()
		s.failLocked(w, "hot wallet cannot pay: "+err.Error())
		s.mu.Unlock()
		return nil //nolint:nilerr // the failure is the withdrawal's (status 5), not the tick's
	}
	tx := types.NewTx(&types.DynamicFeeTx{ChainID: new(big.Int).SetUint64(n.ChainID), Nonce: nonce, GasTipCap: tip,
		GasFeeCap: feeCap, Gas: gas * 2, To: &c.Token, Data: data})
	signed, err := types.SignTx(tx, types.LatestSignerForChainID(tx.ChainId()), s.cfg.HotWallet)
	if err != nil {
		return err
	}
	// Write-ahead: the signed transfer is kept before it is broadcast, so an ambiguous send is
	// retried with the same bytes and can never pay twice.
	s.mu.Lock()
	w.signed = signed
	w.txHash = strings.ToLower(signed.Hash().Hex())
	s.recordLocked(Action{Kind: ActionWithdrawSent, APIKey: w.acct.key, ID: w.id, ClientID: w.clientID, Coin: w.coin,
		Network: n.Name, Amount: fmtDec(w.amount, 8), TxHash: w.txHash})
	s.mu.Unlock()
	return n.client.SendTransaction(ctx, signed)
}

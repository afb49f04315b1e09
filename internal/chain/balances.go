package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
)

// Balance is one account's balance of one token, in base units.
type Balance struct {
	Token   common.Address
	Account common.Address
	Amount  *big.Int
}

// Snapshot is a set of balances read at one block, with that block's hash.
type Snapshot struct {
	Block    Block
	Balances []Balance // token-major: every account of tokens[0], then tokens[1], ...
}

// Get returns the balance of token held by account, if it was read.
func (s Snapshot) Get(token, account common.Address) (*big.Int, bool) {
	for _, b := range s.Balances {
		if b.Token == token && b.Account == account {
			return b.Amount, true
		}
	}
	return nil, false
}

var (
	erc20ABI     = contracts.NewTestToken()
	multicallABI = contracts.NewMulticall3()
)

// callArg is an eth_call transaction object.
type callArg struct {
	To    common.Address `json:"to"`
	Input hexutil.Bytes  `json:"input"`
}

// SnapshotAt reads the balance of every token for every account at block,
// together with the block's header, in one HTTP round trip when the chain has
// Multicall3 (one JSON-RPC batch: the header and one aggregate3 eth_call),
// otherwise in one batch of individual balanceOf calls (split in batches of
// MaxBatch). Amounts are exactly what balanceOf returned at that block.
//
// With Multicall3 the read also checks that the state it saw descends from
// the header's parent (blockhash(block-1) inside the call), so a reorg that
// replaces the block's parent between the two reads is detected and retried.
func (c *Client) SnapshotAt(ctx context.Context, block uint64, tokens, accounts []common.Address) (Snapshot, error) {
	if c.cfg.Multicall != (common.Address{}) {
		return c.snapshotMulticall(ctx, block, tokens, accounts)
	}
	return c.snapshotCalls(ctx, block, tokens, accounts)
}

func headerElem(block uint64, h **types.Header) rpc.BatchElem {
	return rpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{hexutil.EncodeUint64(block), false}, Result: h}
}

func (c *Client) snapshotMulticall(ctx context.Context, block uint64, tokens, accounts []common.Address) (Snapshot, error) {
	calls := make([]contracts.Multicall3Call3, 0, len(tokens)*len(accounts)+1)
	for _, t := range tokens {
		for _, a := range accounts {
			calls = append(calls, contracts.Multicall3Call3{Target: t, AllowFailure: true, CallData: erc20ABI.PackBalanceOf(a)})
		}
	}
	checkParent := block > 0
	if checkParent {
		calls = append(calls, contracts.Multicall3Call3{Target: c.cfg.Multicall, AllowFailure: false,
			CallData: multicallABI.PackGetBlockHash(blockArg(block - 1))})
	}
	input := multicallABI.PackAggregate3(calls)
	var snap Snapshot
	op := fmt.Sprintf("snapshot at %d (multicall)", block)
	err := c.do(ctx, op, func(ctx context.Context, ep *endpoint) error {
		var (
			h   *types.Header
			out hexutil.Bytes
		)
		batch := []rpc.BatchElem{
			headerElem(block, &h),
			{Method: "eth_call", Args: []any{callArg{To: c.cfg.Multicall, Input: input}, hexutil.EncodeUint64(block)}, Result: &out},
		}
		if err := ep.rpc.BatchCallContext(ctx, batch); err != nil {
			return err
		}
		for _, el := range batch {
			if el.Error != nil {
				return el.Error
			}
		}
		if h == nil {
			return ethereum.NotFound
		}
		results, err := multicallABI.UnpackAggregate3(out)
		if err != nil || len(results) != len(calls) {
			return &Error{Op: op, Endpoint: ep.name, Class: ErrBadResponse, Err: fmt.Errorf("aggregate3: %d results for %d calls: %w", len(results), len(calls), err)}
		}
		if checkParent {
			got := results[len(results)-1]
			if len(got.ReturnData) != 32 || common.BytesToHash(got.ReturnData) != h.ParentHash {
				return &Error{Op: op, Endpoint: ep.name, Class: ErrBlockUnavailable, Err: errors.New("state and header disagree on the parent: reorg during read")}
			}
		}
		snap = Snapshot{Block: blockOf(h), Balances: make([]Balance, 0, len(tokens)*len(accounts))}
		i := 0
		for _, t := range tokens {
			for _, a := range accounts {
				r := results[i]
				i++
				if !r.Success {
					return &Error{Op: op, Endpoint: ep.name, Class: ErrReverted, Err: fmt.Errorf("balanceOf(%s) on %s", a, t)}
				}
				amt, err := decodeUint256(r.ReturnData)
				if err != nil {
					return &Error{Op: op, Endpoint: ep.name, Class: ErrBadResponse, Err: fmt.Errorf("balanceOf(%s) on %s: %w", a, t, err)}
				}
				snap.Balances = append(snap.Balances, Balance{Token: t, Account: a, Amount: amt})
			}
		}
		return nil
	})
	return snap, err
}

func (c *Client) snapshotCalls(ctx context.Context, block uint64, tokens, accounts []common.Address) (Snapshot, error) {
	type pair struct{ token, account common.Address }
	pairs := make([]pair, 0, len(tokens)*len(accounts))
	for _, t := range tokens {
		for _, a := range accounts {
			pairs = append(pairs, pair{t, a})
		}
	}
	var snap Snapshot
	op := fmt.Sprintf("snapshot at %d", block)
	err := c.do(ctx, op, func(ctx context.Context, ep *endpoint) error {
		var h *types.Header
		outs := make([]hexutil.Bytes, len(pairs))
		elems := make([]rpc.BatchElem, 0, len(pairs)+1)
		elems = append(elems, headerElem(block, &h))
		for i, p := range pairs {
			elems = append(elems, rpc.BatchElem{Method: "eth_call",
				Args:   []any{callArg{To: p.token, Input: erc20ABI.PackBalanceOf(p.account)}, hexutil.EncodeUint64(block)},
				Result: &outs[i]})
		}
		for lo := 0; lo < len(elems); lo += c.cfg.MaxBatch {
			part := elems[lo:min(lo+c.cfg.MaxBatch, len(elems))]
			if err := ep.rpc.BatchCallContext(ctx, part); err != nil {
				return err
			}
		}
		for _, el := range elems {
			if el.Error != nil {
				return el.Error
			}
		}
		if h == nil {
			return ethereum.NotFound
		}
		snap = Snapshot{Block: blockOf(h), Balances: make([]Balance, 0, len(pairs))}
		for i, p := range pairs {
			amt, err := decodeUint256(outs[i])
			if err != nil {
				return &Error{Op: op, Endpoint: ep.name, Class: ErrBadResponse, Err: fmt.Errorf("balanceOf(%s) on %s: %w", p.account, p.token, err)}
			}
			snap.Balances = append(snap.Balances, Balance{Token: p.token, Account: p.account, Amount: amt})
		}
		return nil
	})
	return snap, err
}

// BalanceOf reads one balance at block with a single eth_call.
func (c *Client) BalanceOf(ctx context.Context, block uint64, token, account common.Address) (*big.Int, error) {
	out, err := c.CallAt(ctx, block, token, erc20ABI.PackBalanceOf(account))
	if err != nil {
		return nil, err
	}
	amt, err := decodeUint256(out)
	if err != nil {
		return nil, fmt.Errorf("balanceOf(%s) on %s at %d: %w: %w", account, token, block, ErrBadResponse, err)
	}
	return amt, nil
}

// CallAt runs a read-only call against `to` at block.
func (c *Client) CallAt(ctx context.Context, block uint64, to common.Address, data []byte) ([]byte, error) {
	var out []byte
	err := c.do(ctx, fmt.Sprintf("eth_call %s at %d", to, block), func(ctx context.Context, ep *endpoint) error {
		var err error
		out, err = ep.eth.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, blockArg(block))
		return err
	})
	return out, err
}

// decodeUint256 decodes a balanceOf answer. An address without code answers
// an empty success, which must not read as a zero balance.
func decodeUint256(b []byte) (*big.Int, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("want 32 bytes, got %d (no contract at the address?)", len(b))
	}
	return new(big.Int).SetBytes(b), nil
}

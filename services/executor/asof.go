package executor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/internal/bus"
	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// handleSnapshot advances the chain's asOf for the snapshot's account to the snapshot's block once
// every mining and landing of the account's legs on that chain at or below it is recorded
// (DESIGN §8), and publishes a LedgerWatermark. Otherwise it asks for the snapshot again shortly:
// the reconcile loop records what is missing. A snapshot with a Reorg marker first rewinds asOf to
// its fork block, and every snapshot first re-verifies the blocks recorded past asOf (reorg.go).
func (e *Executor) handleSnapshot(ctx context.Context, msg bus.Message) error {
	snap, ok := msg.Event.(*events.BalanceSnapshot)
	if !ok {
		return bus.Reject(fmt.Errorf("balance subject carries %T", msg.Event))
	}
	chainID, isChain := snap.Location.ChainID()
	if !isChain || snap.Range == nil {
		return nil
	}
	account := strings.ToLower(snap.Account) // validated EIP-55 by the bus
	if _, ours := e.cfg.accounts[account]; !ours {
		return nil
	}
	if _, ok := e.d.Chains[chainID]; !ok {
		return nil
	}
	if e.cfg.DryRun {
		return nil
	}
	to := snap.Range.To
	if snap.Reorg != nil {
		if err := e.rewind(ctx, account, chainID, snap); err != nil {
			return bus.Retry(err, 0)
		}
	}
	// The rewind count is read before anything is checked: a reorg handled after this point makes
	// the advance below fail rather than pass blocks checked on the old branch.
	rewinds, err := e.w.Rewinds(ctx, account, chainID)
	if err != nil {
		return bus.Retry(err, 0)
	}
	cur, err := e.currentAsOf(ctx, account, chainID)
	if err != nil {
		return bus.Retry(err, 0)
	}
	if err := e.reverify(ctx, account, chainID, cur); err != nil {
		e.log.Debug().Err(err).Uint64("chain", chainID).Msg("asOf held back: recorded blocks not re-verified yet")
		return bus.Retry(err, 200*time.Millisecond)
	}
	if err := e.recordedThrough(ctx, account, chainID, to); err != nil {
		if errors.Is(err, ErrNotRecorded) {
			e.log.Debug().Err(err).Uint64("chain", chainID).Uint64("block", to).Msg("asOf held back")
			e.m.heldBack.WithLabelValues(strconv.FormatUint(chainID, 10)).Inc()
			return bus.Retry(err, 200*time.Millisecond)
		}
		return bus.Retry(err, 0)
	}
	asOf, err := e.w.AdvanceAsOfSince(ctx, account, chainID, rewinds, to)
	if err != nil {
		return bus.Retry(err, 0)
	}
	e.m.asOf.WithLabelValues(account, strconv.FormatUint(chainID, 10)).Set(float64(asOf))
	wm := &events.LedgerWatermark{Account: events.ChecksumAddress(account), ChainID: chainID, AsOf: asOf}
	wm.Meta = events.NewMeta(events.TypeLedgerWatermark, wm.MsgID(), msg.MsgID, producer, e.d.Now())
	if _, err := e.d.Bus.Publish(ctx, wm); err != nil {
		return bus.Retry(fmt.Errorf("publish watermark: %w", err), 0)
	}
	return nil
}

// recordedThrough returns nil when every mining and landing of the account's legs on chainID at or
// below block is recorded, ErrNotRecorded when one is not.
func (e *Executor) recordedThrough(ctx context.Context, account string, chainID, block uint64) error {
	ids, err := e.intentIDs(ctx, account)
	if err != nil {
		return err
	}
	c := e.d.Chains[chainID]
	// Withdrawals that may exist at a venue whose transaction the venue does not show yet (its
	// history lags), per destination token; and the landings already known.
	unknown := map[string]bool{}
	known := map[common.Hash]bool{}
	for _, id := range ids {
		b, _, err := e.w.Intent(ctx, account, id)
		if errors.Is(err, pending.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		rec, err := decodeRecord(b)
		if err != nil {
			return err
		}
		// The deposit: a signed transaction exists once the write-ahead record does.
		if src := rec.leg(legSrc); src != nil && src.ChainID == chainID && src.UntilBlock == 0 {
			txr, ok, err := (&txStore{rdb: e.d.Redis, account: account}).LoadTx(ctx, rec.depositStepKey())
			if err != nil {
				return err
			}
			if ok {
				if err := minedAbove(ctx, c, txr.Hash, block, "deposit", id); err != nil {
					return err
				}
			}
		}
		// The withdrawal: its tx hash is recorded, or the venue may know it already.
		if dst := rec.leg(legDst); dst != nil && dst.ChainID == chainID && dst.UntilBlock == 0 && rec.Withdraw.Block == 0 {
			// A withdrawal the venue may have sent without our knowing its hash yet is covered by
			// the transfer scan below, not by polling the venue (its history is expensive).
			hash := rec.Withdraw.TxHash
			if hash != "" {
				known[common.HexToHash(hash)] = true
				if err := minedAbove(ctx, c, common.HexToHash(hash), block, "withdrawal", id); err != nil {
					return err
				}
			} else if rec.mayHaveWithdrawn() {
				unknown[dst.Token] = true
			}
		} else if dst != nil && rec.Withdraw.TxHash != "" {
			known[common.HexToHash(rec.Withdraw.TxHash)] = true
		}
	}
	if len(unknown) > 0 {
		return e.noUnknownLanding(ctx, account, chainID, block, unknown, known)
	}
	return nil
}

// noUnknownLanding covers withdrawals the venue may have sent without saying so yet: it returns
// ErrNotRecorded if the account received any of those tokens on the chain after the current asOf
// and up to block in a transaction that is not a known landing. Other incoming transfers (the
// relayer's own traffic) then hold asOf back only while such a withdrawal is unaccounted for.
func (e *Executor) noUnknownLanding(ctx context.Context, account string, chainID, block uint64, tokens map[string]bool, known map[common.Hash]bool) error {
	lkey, err := pending.LedgerKey(account)
	if err != nil {
		return err
	}
	var from uint64
	if s, err := e.d.Redis.HGet(ctx, lkey, pending.AsOfField(chainID)).Uint64(); err == nil {
		from = s + 1
	}
	if from > block {
		return nil
	}
	var addrs []common.Address
	for v := range e.d.Venues {
		for t := range tokens {
			if r, ok := e.cfg.route(v, t, chainID); ok {
				addrs = append(addrs, common.HexToAddress(r.TokenAddress))
			}
		}
	}
	if len(addrs) == 0 {
		return nil
	}
	ts, err := e.d.Chains[chainID].Transfers(ctx, chain.TransferFilter{FromBlock: from, ToBlock: block, Tokens: addrs,
		To: []common.Address{common.HexToAddress(account)}})
	if err != nil {
		return err
	}
	for _, t := range ts {
		if !known[t.TxHash] {
			return fmt.Errorf("%w: chain %d: transfer %s in block %d may be a withdrawal the venue has not reported yet",
				ErrNotRecorded, chainID, t.TxHash.Hex(), t.Block)
		}
	}
	return nil
}

// mayHaveWithdrawn reports whether a withdrawal may exist at the venue for the intent.
func (rec *Record) mayHaveWithdrawn() bool {
	if rec.Attempt != nil && rec.Attempt.Step == stepWithdraw {
		return true
	}
	switch stateOf(rec) {
	case events.StateWithdrawRequested, events.StateWithdrawSent:
		return true
	case events.StateNeedsAttention:
		return rec.Withdraw.ClientID != ""
	}
	return false
}

// minedAbove returns ErrNotRecorded when the transaction is mined at or below block (and so a reader
// at block would see it while the ledger does not say so).
func minedAbove(ctx context.Context, c Chain, hash common.Hash, block uint64, what, id string) error {
	rcpt, err := c.Receipt(ctx, hash)
	if errors.Is(err, chain.ErrNotFound) {
		return nil // not mined at any block up to the head, which is at or past block
	}
	if err != nil {
		return err
	}
	if rcpt.BlockNumber.Uint64() <= block {
		return fmt.Errorf("%w: intent %s: %s tx %s mined in block %d", ErrNotRecorded, id, what, hash.Hex(), rcpt.BlockNumber.Uint64())
	}
	return nil
}

package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// Reorgs (DESIGN §8, docs/ledger.md "Reorgs and asOf going back").
//
// A block the executor recorded (a deposit's, a landing's) is only as good as the branch it was read
// from. Two things keep the ledger true when the chain reorganizes:
//
//   - a snapshot whose Reorg marker says the chain was replaced above its Range.From (the fork
//     block F, the newest block the watcher had published whose hash still holds) rewinds the
//     chain's asOf to F at once (pending.Writer.RewindAsOf): the rule is then exact again for every
//     block at or below F, and readers past F trust no block recorded past it;
//   - before asOf advances (every snapshot), every block recorded past the current asOf for the
//     account's legs on the chain is verified against the chain as it is now (reverify): the
//     deposit's receipt is read again, the withdrawal's Transfer found again. Same block: nothing.
//     Another block: the leg's untilBlock moves (a compare-and-set on the intent, published as an
//     ExecutionUpdate). Gone: untilBlock goes back to 0 and the intent back to waiting for it.
//
// The advance itself is a compare-and-set on the chain's rewind count, read before the checks, so a
// check made before a rewind never lets asOf pass it.

// reorgMarkTTL is how long a handled Reorg marker is remembered, so that a redelivered snapshot does
// not rewind asOf again after it has advanced past the re-verified blocks.
const reorgMarkTTL = 24 * time.Hour

func reorgMarkKey(account string, chainID uint64, msgID string) string {
	return accountKey(account, "reorg:"+strconv.FormatUint(chainID, 10)+":"+msgID)
}

// rewind lowers the chain's asOf to the snapshot's fork block for a snapshot carrying a Reorg
// marker, once per marker.
func (e *Executor) rewind(ctx context.Context, account string, chainID uint64, snap *events.BalanceSnapshot) error {
	mark := reorgMarkKey(account, chainID, snap.MsgID())
	seen, err := e.d.Redis.Exists(ctx, mark).Result()
	if err != nil {
		return fmt.Errorf("reorg mark: %w", err)
	}
	if seen > 0 {
		return nil
	}
	fork := snap.Range.From
	asOf, n, err := e.w.RewindAsOf(ctx, account, chainID, fork)
	if err != nil {
		return err
	}
	// Marked after the rewind: a crash in between rewinds once more, which is harmless.
	if err := e.d.Redis.Set(ctx, mark, strconv.FormatUint(fork, 10), reorgMarkTTL).Err(); err != nil {
		return fmt.Errorf("reorg mark: %w", err)
	}
	e.m.asOf.WithLabelValues(account, strconv.FormatUint(chainID, 10)).Set(float64(asOf))
	e.log.Warn().Str("account", account).Uint64("chain", chainID).Uint64("fork", fork).Uint64("height", snap.Reorg.Height).
		Str("oldHash", snap.Reorg.OldHash).Str("newHash", snap.Reorg.NewHash).Uint64("asOf", asOf).Uint64("rewinds", n).
		Msg("chain reorganized: asOf rewound to the fork block; recorded blocks past it will be re-verified")
	return nil
}

// currentAsOf reads the chain's asOf from the ledger (0 when it has none).
func (e *Executor) currentAsOf(ctx context.Context, account string, chainID uint64) (uint64, error) {
	lkey, err := pending.LedgerKey(account)
	if err != nil {
		return 0, err
	}
	v, err := e.d.Redis.HGet(ctx, lkey, pending.AsOfField(chainID)).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

// intentIDs lists the account's intents whose legs may be in the ledger: open and done.
func (e *Executor) intentIDs(ctx context.Context, account string) ([]string, error) {
	open, err := e.d.Redis.SMembers(ctx, openKey(account)).Result()
	if err != nil {
		return nil, err
	}
	done, err := e.d.Redis.SMembers(ctx, doneKey(account)).Result()
	if err != nil {
		return nil, err
	}
	ids := append(open, done...)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// reverify checks every block recorded past asOf for the account's legs on chainID against the
// chain as it is now, and records what moved or went. It returns the first errors met (a version
// conflict with the reconcile loop among them): the caller retries.
func (e *Executor) reverify(ctx context.Context, account string, chainID, asOf uint64) error {
	ids, err := e.intentIDs(ctx, account)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := e.reverifyIntent(ctx, account, chainID, asOf, id); err != nil {
			errs = append(errs, fmt.Errorf("re-verify intent %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Executor) reverifyIntent(ctx context.Context, account string, chainID, asOf uint64, id string) error {
	b, v, err := e.w.Intent(ctx, account, id)
	if errors.Is(err, pending.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, err := decodeRecord(b)
	if err != nil {
		return err
	}
	next, why, err := e.recheck(ctx, rec, chainID, asOf)
	if err != nil || next == nil {
		return err
	}
	log := e.log.With().Str("intent", id).Str("account", account).Uint64("chain", chainID).Logger()
	log.Warn().Str("change", why).Str("from", string(rec.State)).Str("to", string(next.State)).Msg("reorg: recorded block re-verified")
	// Written under the record's own fence: the reconcile loop's lease holder is not displaced,
	// and a concurrent step of it loses the compare-and-set (or this one does, and is retried).
	_, err = e.record(ctx, account, rec, v, next, rec.Fence, log)
	return err
}

// depositMined reports whether the intent's state says its deposit was mined (and credited or
// beyond), so that a deposit the chain has again is recorded by re-verification, not by a step.
func depositMined(st events.State) bool {
	switch st {
	case events.StateDepositCredited, events.StateTransferred, events.StateOrderPlaced, events.StateOrderFilled,
		events.StateWithdrawRequested, events.StateWithdrawSent, events.StateLanded, events.StateCompleted:
		return true
	}
	return false
}

// recheck returns the record with the blocks of its legs on chainID re-verified, and what changed,
// or nil when nothing did. It checks a leg whose block is recorded past asOf, and a leg a reorg
// took back to untilBlock 0 in a state whose step will not record it again (the venue had already
// credited the deposit; the intent had completed).
func (e *Executor) recheck(ctx context.Context, rec *Record, chainID, asOf uint64) (*Record, string, error) {
	r := rec.Intent.Route
	st := stateOf(rec)
	n := rec.clone()
	var what []string

	if src := n.leg(legSrc); src != nil && src.ChainID == chainID && r.SrcChain == chainID && rec.Deposit.TxHash != "" &&
		(src.UntilBlock > asOf || (src.UntilBlock == 0 && depositMined(st))) {
		rcpt, err := e.d.Chains[chainID].Receipt(ctx, common.HexToHash(rec.Deposit.TxHash))
		switch {
		case errors.Is(err, chain.ErrNotFound):
			if src.UntilBlock != 0 {
				what = append(what, fmt.Sprintf("deposit %s no longer in block %d: gone", rec.Deposit.TxHash, src.UntilBlock))
				src.UntilBlock, n.Deposit.Block = 0, 0
				if st == events.StateDepositMined {
					// Back to the step that broadcasts the stored signed bytes again.
					n = n.to(events.StateDepositSigned)
				} else {
					e.log.Error().Str("intent", rec.Intent.ID).Str("tx", rec.Deposit.TxHash).Str("state", string(st)).
						Msg("reorg dropped a deposit the venue had already credited; its debit is in effect again until it is mined again")
				}
			}
		case err != nil:
			return nil, "", err
		case rcpt.Status != types.ReceiptStatusSuccessful:
			what = append(what, fmt.Sprintf("deposit %s reverted in block %s after a reorg", rec.Deposit.TxHash, rcpt.BlockNumber))
			if st == events.StateDepositMined {
				return rec.abandonReverted(rcpt), what[0], nil
			}
			src.UntilBlock, n.Deposit.Block = 0, 0
			n = n.to(events.StateNeedsAttention)
			n.FundsAt, n.Error = rec.fundsAt(st), what[0]+": the venue had already credited it"
		case rcpt.BlockNumber.Uint64() != src.UntilBlock:
			block := rcpt.BlockNumber.Uint64()
			what = append(what, fmt.Sprintf("deposit %s moved from block %d to %d", rec.Deposit.TxHash, src.UntilBlock, block))
			src.UntilBlock, n.Deposit.Block = block, block
		}
	}

	if dst := n.leg(legDst); dst != nil && dst.ChainID == chainID && r.DstChain == chainID && rec.Withdraw.TxHash != "" &&
		(dst.UntilBlock > asOf || (dst.UntilBlock == 0 && st == events.StateCompleted)) {
		block, got, found, err := e.landing(ctx, rec)
		switch {
		case err != nil:
			return nil, "", err
		case !found || got.Sign() == 0:
			if dst.UntilBlock != 0 {
				what = append(what, fmt.Sprintf("withdrawal %s no longer landed in block %d: gone", rec.Withdraw.TxHash, dst.UntilBlock))
				dst.UntilBlock, n.Withdraw.Block = 0, 0
				n.Withdraw.Landed = events.Amount{}
				if rec.Withdraw.Net.Sign() > 0 {
					dst.Amount = rec.Withdraw.Net // what the venue says it sends, until it lands again
				}
				if st == events.StateLanded {
					n = n.to(events.StateWithdrawSent) // stepLanding finds it again
				}
				if found { // mined in the new branch but carried nothing to us
					n.Withdraw.Block = block
					n = n.to(events.StateNeedsAttention)
					n.FundsAt = rec.fundsAt(events.StateWithdrawSent)
					n.Error = fmt.Sprintf("after a reorg, withdrawal tx %s in block %d carried no %s to %s", rec.Withdraw.TxHash, block, r.DstToken, rec.Intent.Account)
				}
			}
		case block != dst.UntilBlock:
			what = append(what, fmt.Sprintf("withdrawal %s moved from block %d to %d", rec.Withdraw.TxHash, dst.UntilBlock, block))
			dst.UntilBlock, dst.Amount = block, events.NewAmount(got)
			n.Withdraw.Block, n.Withdraw.Landed = block, events.NewAmount(got)
		}
	}

	if len(what) == 0 {
		return nil, "", nil
	}
	if rec.State == events.StateNeedsAttention {
		// observe located the funds by the landing: keep that true.
		r := n.Intent.Route
		switch {
		case n.Withdraw.Block != 0 && n.Withdraw.Landed.Sign() > 0:
			n.FundsAt = fmt.Sprintf("chain %d: %s landed in block %d", r.DstChain, r.DstToken, n.Withdraw.Block)
		case rec.Withdraw.Block != 0 && n.Withdraw.Block == 0:
			n.FundsAt = n.fundsAt(events.StateWithdrawSent)
		}
	}
	return n, strings.Join(what, "; "), nil
}

// Package executor carries out the planner's intents on the venues and keeps the pending ledger
// true (DESIGN §7, §8). Run(ctx, cfg, deps) runs it; every part is a Start(ctx) loop in one
// errgroup.
//
// # Accept
//
// Intents arrive on rebal.v1.intents.> (durable "executor-intents"). An intent that cannot be
// executed (account not one of the relayer's own, so its withdrawal destination is not
// allowlisted; venue not enabled; route not configured or decimals that disagree; over the
// per-intent cap or the venue's rolling 24 h cap; deadline passed) is rejected with an
// ExecutionUpdate at version 1 saying why, and its legs never appear. Otherwise the intent's
// record (state accepted) and its two legs (src −amountIn, dst +minAmountOut) are written in one
// atomic pending.Writer.Accept, the intent joins the account's work list, and the message is
// acked. A replayed or duplicated intent finds its record and writes nothing.
//
// # Reconcile
//
// One loop per (venue, account), level-triggered: while this replica holds the (venue, account)
// lease, every open intent is read, its recorded-but-unpublished version is published first (the
// outbox: rebal:v1:{account}:exec:outbox), then at most one external side effect is made and its
// result recorded with a compare-and-set on the record's version (pending.Writer.Update, which
// also writes the leg changes), and the new version is published as an ExecutionUpdate whose
// message id <intent id>:<version> makes republishing a no-op. The Binance route runs
// accepted → deposit_signed → deposit_mined → deposit_credited → transferred → [order_placed →]
// order_filled → [withdraw_requested →] withdraw_sent → landed → completed; same-asset routes
// skip the order. Known venue waits are the state "waiting" with the state it waits in.
//
// Exactly once:
//   - the deposit is signed and persisted before it is broadcast (chain.Sender.Prepare with the
//     step key <intent id>:deposit and a Redis TxStore); after a crash the same bytes are
//     rebroadcast, and a second deposit is never signed for the intent;
//   - venue ids derive from the intent id and the step (the adapter's derivation); before a venue
//     call the executor records an Attempt, and while an attempt is recorded it looks the id up
//     first and resubmits only when the venue has said "absent" for longer than ResubmitLag
//     (Binance does not de-duplicate withdrawOrderId, and accepts a filled order's client id
//     again);
//   - before the irreversible deposit, a preflight reads fresh: deposits and withdrawals enabled on
//     the networks, token contracts as configured, the account's balance on the source chain, a
//     quote that is feasible (the venue's minimums and withdrawal limits), at least minAmountOut
//     and within maxFee, and the intent's deadline. A failure there is a wait; the order's price
//     bound is minAmountOut plus the withdrawal fee, read fresh.
//
// Nonces: a signed transaction holds its nonce, and every later transaction of the account on that
// chain waits behind it until it is mined. The TxStore reserves each nonce atomically (SaveTx
// refuses a new step's nonce not above the account's recorded one, and the sender signs again), so
// two replicas that each hold another venue's lease never record one nonce twice. And a recorded
// transaction is never left unsent: its bytes are rebroadcast until it is mined or dead (its nonce
// consumed by another transaction), also while its intent is in needs_attention (settle, the same
// bytes and no new decision; held back like any side effect by the kill switch, pauses and
// dry-run). An intent is dropped (rejected) only once every transaction it signed is mined or
// dead: one that timed out with only its Hyperliquid approve signed waits for that approve
// (waiting "approve_unmined"), which moves nothing, to be mined first.
//
// The Hyperliquid route (hyperliquid.go) runs accepted → deposit_signed → deposit_mined →
// deposit_credited → transferred → [order_placed →] order_filled → withdraw_requested → landed →
// completed, with the same discipline and these differences:
//   - the deposit is a plain ERC20 transfer to Bridge2 (Arbitrum USDC, at least the venue's
//     minimum, credited to perp) or to the token's system address (HyperEVM USDT0); HyperEVM USDC
//     is approve(CoreDepositWallet) then CoreDepositWallet.deposit(amount, spot), two write-ahead
//     transactions with their own step keys (<intent id>:approve, <intent id>:deposit), both
//     inside deposit_signed. A plain transfer there would be lost. approve sets rather than adds to
//     the allowance, so an intent signs its approve only while no other intent's approve waits for
//     its deposit to be signed (nonce order then keeps each pair together). The source debit's
//     untilBlock is the deposit call's block, never the approve's;
//   - the venue credit is confirmed on HyperCore's ledger (an EVM receipt proves nothing);
//     make-tradable moves perp USDC to spot, and runs again, level-triggered, right before the
//     order and before a HyperEVM withdrawal, since the account's spot and perp are one pool;
//   - the swap is an IOC order whose cloid derives from the intent id and step, signed once and
//     resent as the same bytes;
//   - the withdrawal (withdraw3 to Arbitrum, fee deducted, or spotSend to the token's system
//     address for HyperEVM) reports no chain transaction: the destination chain's head is recorded
//     before it is requested, and withdraw_requested lasts until a Transfer of the destination
//     token from the venue's payout sender (Bridge2; the system address) to the account, of
//     exactly the venue's net amount, appears after that block. Each such Transfer is claimed by
//     one intent (rebal:v1:{account}:exec:landings, HSETNX on <chain>:<tx>:<log index>), so two
//     intents waiting for equal payouts never take the same one.
//
// An intent that made no progress rests for Config.Poll before the venue is asked again: venue
// lookups cost request weight (Binance's withdrawal history is heavy), and a tick is short.
//
// Every state has a deadline (Config.StepTimeout). Past it the intent escalates to
// needs_attention with FundsAt saying where the funds are; its legs stay (funds in flight are
// never forgotten), and while it waits for an operator the executor makes no side effect but keeps
// recording on its legs a deposit that gets mined or a withdrawal that lands, so the ledger and
// asOf stay exact; the transactions it signed are rebroadcast until mined or dead (see Nonces).
// Only an intent whose deposit was never signed ends rejected with its legs dropped, since nothing
// left the account.
//
// # Ledger
//
// The source debit's untilBlock is set to the deposit's block when it is mined; the destination
// credit becomes the venue's net amount when the withdrawal is reported and, when the withdrawal's
// Transfer to the account is found on the destination chain, the amount that arrived with
// untilBlock = its block. asOf advances with the watcher's chain snapshots
// (rebal.v1.balances.>, durable "executor-balances"): for a snapshot of an account at block b,
// asOf becomes b only when no deposit or withdrawal transaction of the account's legs on that chain
// is mined at or below b without being recorded, and, while a withdrawal may exist that the venue
// has not reported, no unexplained incoming transfer of its token arrived after the old asOf.
// Otherwise the snapshot is retried shortly. A LedgerWatermark is published after each advance.
// After a reorg asOf goes back first (see Reorgs).
// Legs of completed intents are garbage-collected after Config.GC.Retention once asOf has passed
// their blocks; needs_attention keeps its legs.
//
// # One writer
//
// A (venue, account) lease (rebal:v1:{account}:exec:lease:<venue>, SET NX PX with a fencing
// token from INCR) is renewed every TTL/3 with a compare-and-expire. Side effects run only while
// the last renewal is younger than TTL minus a margin, and a reconcile pass is cancelled when the
// lease is lost. A record written under a newer fence makes an older holder stand down. A second
// replica takes over from the recorded state, looking everything up before acting.
//
// # Safety
//
// Withdrawals go only to the relayer's configured accounts (checked at accept and again before
// each withdrawal). The kill switch and pauses come as ControlCommands on rebal.v1.control.>,
// are stored in Redis (so they survive restarts and reach every replica), re-read every 200 ms and
// checked before every side effect; a replica that cannot read them treats every venue as halted.
// DryRun decides and logs but writes and sends nothing. Logs carry intent ids, chains and tx
// hashes, never key material. Metrics (rebal_executor_*) count accepted and rejected intents,
// recorded steps, escalations, side effects, held-back snapshots and step errors, and show the
// leases held, the halted venues and asOf per chain; Ready answers /readyz.
//
// # Reorgs
//
// A snapshot with a Reorg marker (its range starts at the fork block F, the newest block the
// watcher had published whose hash still holds) first rewinds the chain's asOf to F
// (pending.Writer.RewindAsOf, once per marker): the rule is exact again at every block up to F,
// and readers past F trust no block recorded past it (docs/ledger.md). Before every advance, each
// block recorded past the current asOf for the account's legs on the chain is re-verified against
// the chain as it is now (reorg.go): the deposit's receipt read again, the withdrawal's Transfer
// found again. Same block: nothing is written. Another block: untilBlock moves (compare-and-set,
// version bumped, ExecutionUpdate published). Gone: untilBlock goes back to 0 (the leg is in
// effect again) and a deposit_mined intent goes back to deposit_signed, whose step rebroadcasts
// the stored signed bytes (never a new signature), a landed one back to withdraw_sent; a later or
// terminal state keeps its state, and the block is recorded again when the transaction
// reappears. asOf then advances with a compare-and-set on the chain's rewind count read before
// the checks (AdvanceAsOfSince), so a check made on the old branch never lets it pass a reorg. No
// lower LedgerWatermark is published after a rewind: the stream's watermarks stay a high-water
// mark, and the ledger hash is the authority.
//
// # Redis keys
//
// Beside pkg/pending's keys, see store.go. Everything of an account shares its hash tag.
package executor

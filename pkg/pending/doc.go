// Package pending is the pending ledger: the legs of in-flight rebalancing intents, kept in Redis
// by the executor (Writer) and read by inventory clients (Reader), so that a relayer's inventory
// neither double counts nor loses funds that are moving. It imports only the standard library and
// go-redis, so any Go program can read the ledger; docs/ledger.md specifies the format for readers
// in other languages, and testdata/ holds fixtures they can prove themselves against.
//
// # Keys
//
// Every key of an account carries the hash tag {<account>}, the address in lowercase hex
// (NormalizeAccount), so an account lives in one Redis Cluster slot:
//
//	rebal:v1:{<account>}:ledger        hash: the ledger
//	    <intent id>:<leg name>         a leg, JSON (see Leg and EncodeLeg)
//	    asof:<chain id>                the chain's asOf block, a decimal string
//	rebal:v1:{<account>}:rewinds       hash: chain id → number of asOf rewinds (writers only)
//	rebal:v1:{<account>}:intent:<id>   hash: the executor's record of an intent
//	    v                              its version, 1 at Accept, +1 per Update
//	    record                         opaque bytes (the executor's state machine record)
//
// Keeping asOf in the ledger hash lets a reader get the legs and the blocks they are reconciled
// through with one HGETALL: one round trip, one plain read command a read-only ACL user may run.
//
// # The rule
//
// A reader whose balance of chain c was read at block b adds the amount of every leg on c with
// UntilBlock == 0 or b < UntilBlock. asOf[c] is the block through which the executor has recorded
// every mining and landing of the account's legs on c, so the rule is exact for b <= asOf[c].
// For b > asOf[c] the chain is Ahead and nothing the ledger says about blocks past asOf is
// trusted: a leg with UntilBlock at or below asOf still follows the rule; any other leg
// (UntilBlock 0, or past asOf) is unconfirmed: a debit counts, and a credit does not (it is
// reported as Withheld). That total never exceeds the true one, whatever reached the chain after
// asOf, reorgs included, and never counts a credit twice. A reader that gives no block for a
// chain is evaluated at its asOf.
//
// # Reorgs
//
// asOf is monotonic except for one operation: after a reorg that replaced the chain's blocks above
// a fork block F, the writer calls RewindAsOf(F), which lowers asOf to F (when above it) in one
// atomic step and counts the rewind in rebal:v1:{<account>}:rewinds. Blocks at or below F did not
// change, so the rule stays exact there at once; untilBlocks past F may now be wrong, but past asOf
// no reader trusts them. The writer then re-verifies those blocks (updating the legs that moved or
// went), and advances asOf again only with AdvanceAsOfSince, which refuses when a rewind happened
// after it read the count: a check made before the reorg never lets asOf pass it.
//
// # Reading
//
// Reader.Read makes one HGETALL and returns a View: per chain its AsOf, the Block the rule was
// applied at, the Ahead flag, and per token the signed Total (Amount, Decimals, Withheld). Parse
// does the same for a hash fetched by the caller (several accounts in one pipeline, say).
// View.Legs decodes the raw legs on demand for tools; totals alone allocate nothing per leg. A
// Reader also remembers, per account, the legs it decoded at the previous read, so a client
// polling a ledger that changed little decodes only what changed: a read of 100 legs costs about
// 1.5 bare HGETALLs (BenchmarkLedgerRead100).
//
// # Guarantees and failures
//
// Writes are atomic Lua scripts on one account's keys. Accept stores the intent record only if
// absent and writes its legs in the same step (a replayed intent writes nothing). Update is a
// compare-and-set on the intent's version and fails with *VersionConflictError. AdvanceAsOf is
// monotonic; only RewindAsOf lowers asOf. GC removes only legs with UntilBlock at or below asOf, after a retention period;
// legs still in flight are never removed. The reader fails the whole read with ErrMalformed on a
// value it cannot decode rather than skip a leg. Amounts are *big.Int base units throughout;
// integers stored as JSON numbers (chain ids, blocks, timestamps) are at most 2^53-1 so that a
// JavaScript reader holds them exactly.
package pending

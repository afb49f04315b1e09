/**
 * The reference TypeScript reader of the rebalancer's pending ledger (docs/ledger.md), for a
 * relayer's inventory client.
 *
 * Guarantees, the same as the Go reader (pkg/pending):
 * - one HGETALL per account read: one round trip, a read-only command;
 * - amounts are BigInt base units, never Number; chain ids and blocks are safe integers;
 * - the leg rule: a balance of chain c read at block b adds every leg on c with
 *   untilBlock == 0 or b < untilBlock; a chain without a reader block is evaluated at its asOf;
 * - a reader ahead of the ledger (b > asOf) gets `ahead` and a conservative total: only
 *   untilBlocks at or below asOf are confirmed (asOf goes back after a reorg); unconfirmed debits
 *   count, unconfirmed credits are withheld, never a double count;
 * - a field it cannot read fails the whole read (MalformedLedgerError), never a skipped leg.
 */
export { InvalidInputError, MalformedLedgerError } from "./errors.js";
export {
  LedgerReader,
  LedgerView,
  MAX_SAFE_INTEGER,
  decodeLeg,
  ledgerKey,
  normalizeAccount,
  parseLedger,
  type Blocks,
  type ChainView,
  type HashGetter,
  type LedgerFields,
  type Leg,
  type Total,
} from "./ledger.js";

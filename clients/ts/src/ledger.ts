import { InvalidInputError, MalformedLedgerError } from "./errors.js";
import { parseObject, type Member } from "./json.js";

/** The largest chain id, block number or timestamp the ledger stores: 2^53-1 (docs/ledger.md). */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

const ASOF_PREFIX = "asof:";
const NAME = /^[A-Za-z0-9._-]{1,128}$/;
const AMOUNT = /^(?:0|-?[1-9][0-9]*)$/;
const UINT = /^(?:0|[1-9][0-9]*)$/;
const ACCOUNT = /^0[xX][0-9a-fA-F]{40}$/;

/** One signed adjustment an in-flight intent makes to one token's balance on one chain. */
export interface Leg {
  /** The intent the leg belongs to. */
  readonly intentId: string;
  /** Tells the intent's legs apart ("src", "dst", "hop"): the part of the field after the intent id. */
  readonly name: string;
  /** EVM chain id. */
  readonly chainId: number;
  /** Configured symbol (USDC, USDT). */
  readonly token: string;
  /** Signed base units: negative debits, positive credits. */
  readonly amount: bigint;
  /** Decimals of the token on the chain (18 for BSC stablecoins). */
  readonly decimals: number;
  /** 0 while the chain does not show the leg; then the first block whose balance does. */
  readonly untilBlock: number;
  /** "expected", "realized" or "settled": informational, the rule never reads it. */
  readonly state: string;
  /** Unix milliseconds of the writer's last write: informational. */
  readonly updatedAt: number;
}

/**
 * The signed sum of a (chain, token)'s legs in effect at the chain's block. When the chain is
 * ahead of the ledger, only untilBlocks at or below asOf are trusted; the other legs are
 * unconfirmed: debits count and credits are left out of `amount` and summed in `withheld`.
 * `amount` then never exceeds the true total, reorgs past asOf included.
 */
export interface Total {
  readonly amount: bigint;
  readonly decimals: number;
  /** Credits left out because the chain is ahead; 0n otherwise. */
  readonly withheld: bigint;
}

/** One chain of a view. */
export interface ChainView {
  /** The block through which the executor has reconciled the chain's legs; 0 when it never has. */
  readonly asOf: number;
  /** The block the rule was applied at: the reader's, or asOf when it gave none. */
  readonly block: number;
  /** block > asOf: totals are conservative (see Total). */
  readonly ahead: boolean;
  /** Every token the chain has a leg of, in effect or not. */
  readonly tokens: ReadonlyMap<string, Total>;
}

/** The reader's balance block per chain id: a Map, or an object keyed by chain id. */
export type Blocks =
  | ReadonlyMap<number | bigint, number | bigint>
  | Readonly<Record<string, number | bigint>>;

/** An account's ledger as a reader sees it at its own balance blocks. */
export class LedgerView {
  constructor(
    /** The account, lowercase hex. */
    readonly account: string,
    /** Every chain that has a leg, an asOf, or a block the reader asked about. */
    readonly chains: ReadonlyMap<number, ChainView>,
    /** The raw legs, sorted by intent id then name. */
    readonly legs: readonly Leg[],
  ) {}

  /** The total of a chain and token, or undefined when the ledger has no leg of it. */
  total(chainId: number, token: string): Total | undefined {
    return this.chains.get(chainId)?.tokens.get(token);
  }

  /** The amount to add to a balance of `token` read on `chainId`: 0n when the ledger has none. */
  amount(chainId: number, token: string): bigint {
    return this.total(chainId, token)?.amount ?? 0n;
  }

  /** Whether the chain was evaluated past its asOf (its totals are then conservative). */
  ahead(chainId: number): boolean {
    return this.chains.get(chainId)?.ahead ?? false;
  }
}

/**
 * Returns the account as it appears in keys: "0x" and 40 lowercase hex digits. Any letter case
 * is accepted; an EIP-55 checksum is not verified.
 */
export function normalizeAccount(account: string): string {
  if (!ACCOUNT.test(account)) {
    throw new InvalidInputError(`account ${JSON.stringify(account)} is not a 0x-prefixed 20-byte hex address`);
  }
  return account.toLowerCase();
}

/** The Redis key of the account's ledger hash: rebal:v1:{<account, lowercase>}:ledger. */
export function ledgerKey(account: string): string {
  return `rebal:v1:{${normalizeAccount(account)}}:ledger`;
}

function safeUint(text: string): number | undefined {
  if (!UINT.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Decodes one leg: its field (<intent id>:<leg name>) and JSON value. Any JSON object with the
 * eight keys is accepted, in any order, with whitespace and unknown keys; a missing or null key,
 * a wrong JSON type, an integer that is not a plain decimal up to 2^53-1, or an amount that is
 * not a canonical signed integer string throws MalformedLedgerError.
 */
export function decodeLeg(account: string, field: string, value: string): Leg {
  const bad = (msg: string, cause?: unknown): never => {
    throw new MalformedLedgerError(account, field, msg, cause === undefined ? undefined : { cause });
  };
  const colon = field.indexOf(":");
  if (colon < 0) bad("neither asof:<chain> nor <intent>:<leg>");
  let m: Map<string, Member>;
  try {
    m = parseObject(value);
  } catch (err) {
    return bad(`value is not a JSON object: ${(err as Error).message}`, err);
  }
  const get = (key: string): Member => {
    const v = m.get(key);
    if (v === undefined || v.kind === "null") bad(`missing ${JSON.stringify(key)}`);
    return v!;
  };
  const str = (key: string): string => {
    const v = get(key);
    if (v.kind !== "string") bad(`${JSON.stringify(key)} is not a string`);
    return (v as { value: string }).value;
  };
  const uint = (key: string, max: number): number => {
    const v = get(key);
    if (v.kind !== "number") bad(`${JSON.stringify(key)} is not a number`);
    const n = safeUint((v as { text: string }).text);
    if (n === undefined || n > max) bad(`${JSON.stringify(key)} is not an integer from 0 to ${max}`);
    return n!;
  };
  const chainId = uint("chainId", MAX_SAFE_INTEGER);
  const token = str("token");
  const amountText = str("amount");
  const decimals = uint("decimals", 255);
  const untilBlock = uint("untilBlock", MAX_SAFE_INTEGER);
  const intentId = str("intentId");
  const state = str("state");
  const updatedAt = uint("updatedAt", MAX_SAFE_INTEGER);

  if (!AMOUNT.test(amountText)) bad(`amount ${JSON.stringify(amountText)} is not a canonical signed decimal integer`);
  if (field.slice(0, colon) !== intentId) bad(`holds intent ${JSON.stringify(intentId)}`);
  const name = field.slice(colon + 1);
  for (const [what, s] of [["intent id", intentId], ["leg name", name], ["token", token], ["state", state]] as const) {
    if (!NAME.test(s)) bad(`${what} ${JSON.stringify(s)}: want 1 to 128 of A-Z a-z 0-9 . _ -`);
  }
  if (intentId === "asof") bad(`intent id "asof" is reserved`);
  if (chainId === 0) bad("chain id 0");
  return { intentId, name, chainId, token, amount: BigInt(amountText), decimals, untilBlock, state, updatedAt };
}

function toBlockMap(blocks: Blocks | null | undefined): Map<number, number> {
  const out = new Map<number, number>();
  if (blocks == null) return out;
  const entries: Iterable<readonly [unknown, unknown]> =
    blocks instanceof Map ? blocks.entries() : Object.entries(blocks as Record<string, unknown>);
  for (const [k, v] of entries) {
    const chain = typeof k === "string" ? safeUint(k) : toSafe(k);
    const block = toSafe(v);
    if (chain === undefined || block === undefined) {
      throw new InvalidInputError(`blocks: chain ${String(k)} block ${String(v)}: want integers from 0 to 2^53-1`);
    }
    out.set(chain, block);
  }
  return out;
}

function toSafe(v: unknown): number | undefined {
  if (typeof v === "bigint") return v >= 0n && v <= BigInt(MAX_SAFE_INTEGER) ? Number(v) : undefined;
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  return undefined;
}

/** The fields of a ledger hash: what HGETALL returns, as an object, a Map, or a flat [field, value, ...] array. */
export type LedgerFields = Readonly<Record<string, string>> | ReadonlyMap<string, string> | readonly string[];

function fieldEntries(fields: LedgerFields): Iterable<readonly [string, string]> {
  if (fields instanceof Map) return fields.entries();
  if (Array.isArray(fields)) {
    if (fields.length % 2 !== 0) throw new InvalidInputError("flat HGETALL reply with an odd number of elements");
    const pairs: [string, string][] = [];
    for (let i = 0; i < fields.length; i += 2) pairs.push([fields[i] as string, fields[i + 1] as string]);
    return pairs;
  }
  return Object.entries(fields as Record<string, string>);
}

/**
 * Builds the view of an account's ledger from its hash fields, evaluated at the reader's balance
 * blocks (a chain without a block is evaluated at its asOf). This is what LedgerReader.read does
 * after its one HGETALL; use it directly when you fetch the hash yourself, e.g. many accounts in
 * one pipeline. Throws MalformedLedgerError on anything it cannot read, InvalidInputError on a bad
 * account or block.
 */
export function parseLedger(account: string, fields: LedgerFields, blocks?: Blocks | null): LedgerView {
  const acct = normalizeAccount(account);
  const given = toBlockMap(blocks);
  const asOf = new Map<number, number>();
  const legs: Leg[] = [];
  for (const [field, value] of fieldEntries(fields)) {
    if (field.startsWith(ASOF_PREFIX)) {
      const chain = safeUint(field.slice(ASOF_PREFIX.length));
      const block = safeUint(value);
      if (chain === undefined || chain === 0 || block === undefined) {
        throw new MalformedLedgerError(acct, field, `${JSON.stringify(value)} is not asof:<chain id> = <block>`);
      }
      asOf.set(chain, block);
      continue;
    }
    legs.push(decodeLeg(acct, field, value));
  }
  legs.sort((a, b) => cmp(a.intentId, b.intentId) || cmp(a.name, b.name));

  interface MutableTotal {
    amount: bigint;
    decimals: number;
    withheld: bigint;
  }
  interface MutableChain {
    asOf: number;
    block: number;
    ahead: boolean;
    tokens: Map<string, MutableTotal>;
  }
  const chains = new Map<number, MutableChain>();
  const chain = (id: number): MutableChain => {
    let cv = chains.get(id);
    if (cv === undefined) {
      const a = asOf.get(id) ?? 0;
      const b = given.get(id) ?? a;
      cv = { asOf: a, block: b, ahead: b > a, tokens: new Map() };
      chains.set(id, cv);
    }
    return cv;
  };
  for (const id of asOf.keys()) chain(id);
  for (const id of given.keys()) chain(id);
  for (const leg of legs) {
    const cv = chain(leg.chainId);
    let t = cv.tokens.get(leg.token);
    if (t === undefined) {
      t = { amount: 0n, decimals: leg.decimals, withheld: 0n };
      cv.tokens.set(leg.token, t);
    } else if (t.decimals !== leg.decimals) {
      throw new MalformedLedgerError(
        acct,
        `${leg.intentId}:${leg.name}`,
        `chain ${leg.chainId} token ${leg.token} has legs with ${t.decimals} and ${leg.decimals} decimals`,
      );
    }
    // Past asOf nothing is confirmed: a block recorded past it may have been moved or undone by a
    // reorg (the executor then rewinds asOf below it), so such a leg is read like one without a block.
    if (leg.untilBlock !== 0 && (!cv.ahead || leg.untilBlock <= cv.asOf)) {
      if (cv.block < leg.untilBlock) t.amount += leg.amount;
    } else if (cv.ahead && leg.amount > 0n) {
      t.withheld += leg.amount;
    } else {
      t.amount += leg.amount;
    }
  }
  return new LedgerView(acct, chains, legs);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What the reader needs from a Redis client: HGETALL. ioredis's Redis and Cluster satisfy it;
 * for node-redis pass `{ hgetall: (k) => client.hGetAll(k) }`.
 */
export interface HashGetter {
  hgetall(key: string): Promise<LedgerFields>;
}

/**
 * Reads account ledgers with one HGETALL each: one round trip, one read-only command, so it runs
 * under the read-only Redis user of docs/ledger.md.
 */
export class LedgerReader {
  constructor(private readonly redis: HashGetter) {}

  /**
   * The account's ledger evaluated at the reader's balance blocks (chain id → block; a chain
   * left out is evaluated at its asOf). A chain whose block is past its asOf comes back ahead,
   * with conservative totals.
   */
  async read(account: string, blocks?: Blocks | null): Promise<LedgerView> {
    const key = ledgerKey(account);
    const fields = await this.redis.hgetall(key);
    return parseLedger(account, fields, blocks);
  }
}

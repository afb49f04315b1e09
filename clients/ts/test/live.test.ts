// The reader against a real redis-server: the shared fixtures loaded with HSET, a ledger written
// step by step the way docs/ledger.md says the executor writes it, the one-round-trip promise,
// and the read-only ACL user the docs give inventory clients.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";

import { Redis } from "ioredis";

import { LedgerReader, MalformedLedgerError, ledgerKey, type LedgerView } from "../src/index.js";
import { assertView, FIXTURE_DIR, loadFixtures } from "./fixtures.js";
import { startRedis, type RedisServer } from "./redis-server.js";

let server: RedisServer;
const clients: Redis[] = [];

function connect(opts: { username?: string; password?: string } = {}): Redis {
  // No ready check: it sends INFO, which a read-only user may not run.
  const c = new Redis({ host: "127.0.0.1", port: server.port, enableReadyCheck: false, maxRetriesPerRequest: 0, ...opts });
  clients.push(c);
  return c;
}

before(async () => {
  server = await startRedis();
});

after(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  await server?.stop();
});

// ---- A writer that follows docs/ledger.md, for the test only (the executor's is pkg/pending). ----

interface TestLeg {
  name: string;
  chainId: number;
  token: string;
  amount: bigint;
  decimals: number;
  untilBlock: number;
  state: "expected" | "realized" | "settled";
}

/** The canonical leg value: these keys, this order, no spaces. */
function encodeLeg(intentId: string, l: TestLeg, updatedAt: number): string {
  return (
    `{"chainId":${l.chainId},"token":"${l.token}","amount":"${l.amount}","decimals":${l.decimals},` +
    `"untilBlock":${l.untilBlock},"intentId":"${intentId}","state":"${l.state}","updatedAt":${updatedAt}}`
  );
}

const intentKey = (account: string, id: string) => `rebal:v1:{${account.toLowerCase()}}:intent:${id}`;

// Accept: the record only if absent, and the legs, in one atomic step.
const ACCEPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', '1', 'record', ARGV[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
return 1`;

// Update: compare-and-set on the intent's version, then write legs.
const UPDATE = `
local v = redis.call('HGET', KEYS[1], 'v')
if v ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'v', tostring(tonumber(v) + 1))
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
return tonumber(v) + 1`;

// asOf never goes back.
const ADVANCE = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return redis.call('HGET', KEYS[1], ARGV[1])`;

class DocWriter {
  private clock = 1764000000000;
  constructor(private readonly redis: Redis, private readonly account: string) {}

  private legArgs(intentId: string, legs: TestLeg[]): string[] {
    this.clock += 1000;
    return legs.flatMap((l) => [`${intentId}:${l.name}`, encodeLeg(intentId, l, this.clock)]);
  }

  async accept(intentId: string, legs: TestLeg[]): Promise<boolean> {
    const n = await this.redis.eval(ACCEPT, 2, intentKey(this.account, intentId), ledgerKey(this.account), "{}", ...this.legArgs(intentId, legs));
    return n === 1;
  }

  async update(intentId: string, version: number, legs: TestLeg[]): Promise<number> {
    return (await this.redis.eval(UPDATE, 2, intentKey(this.account, intentId), ledgerKey(this.account), String(version), ...this.legArgs(intentId, legs))) as number;
  }

  async advanceAsOf(chainId: number, block: number): Promise<void> {
    await this.redis.eval(ADVANCE, 1, ledgerKey(this.account), `asof:${chainId}`, String(block));
  }
}

function commandCalls(info: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

describe("live ledger on redis-server", () => {
  it("reads every fixture loaded with HSET as the fixture expects", async () => {
    const admin = connect();
    const reader = new LedgerReader(connect());
    const fixtures = loadFixtures();
    assert.ok(fixtures.length > 0, `no fixtures in ${FIXTURE_DIR}`);
    for (const f of fixtures) {
      await admin.del(f.key);
      await admin.hset(f.key, f.hash);
      for (const r of f.reads) {
        const label = `${f.file}: ${r.name}`;
        if (r.error !== undefined) {
          await assert.rejects(reader.read(f.account, r.blocks), MalformedLedgerError, label);
        } else {
          assertView(await reader.read(f.account, r.blocks), r.expect!);
        }
      }
      await admin.del(f.key);
    }
  });

  it("reads an account's ledger in one round trip: one HGETALL and nothing else", async () => {
    const admin = connect();
    const account = "0x1111111111111111111111111111111111111111";
    await new DocWriter(admin, account).accept("rt1", [
      { name: "src", chainId: 1, token: "USDC", amount: -5n, decimals: 6, untilBlock: 0, state: "realized" },
    ]);
    await new DocWriter(admin, account).advanceAsOf(1, 10);
    const conn = connect();
    await conn.ping(); // connected before measuring
    const reader = new LedgerReader(conn);
    const before = commandCalls(await admin.info("commandstats"));
    const view = await reader.read(account, { 1: 9 });
    const afterCalls = commandCalls(await admin.info("commandstats"));
    assert.equal(view.amount(1, "USDC"), -5n);
    const delta = new Map<string, number>();
    for (const [cmd, n] of afterCalls) {
      const d = n - (before.get(cmd) ?? 0);
      if (d !== 0 && cmd !== "info") delta.set(cmd, d);
    }
    assert.deepEqual(Object.fromEntries(delta), { hgetall: 1 });
  });

  it("follows a Binance route from acceptance to landing, as docs/ledger.md writes it", async () => {
    const redis = connect();
    const account = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    const w = new DocWriter(redis, account);
    const reader = new LedgerReader(connect());
    const id = "7f3a9c2e41d0b865";
    const e18 = 10n ** 18n;
    let src: TestLeg = { name: "src", chainId: 56, token: "USDT", amount: -1000n * e18, decimals: 18, untilBlock: 0, state: "realized" };
    let dst: TestLeg = { name: "dst", chainId: 42161, token: "USDC", amount: 998_000_000n, decimals: 6, untilBlock: 0, state: "expected" };
    await w.advanceAsOf(56, 41_000_000);
    await w.advanceAsOf(42161, 250_000_000);

    const totals = (v: LedgerView) => [v.amount(56, "USDT"), v.amount(42161, "USDC"), v.total(42161, "USDC")?.withheld ?? 0n];

    // 1. accepted: both legs count for every reader at or behind asOf.
    assert.equal(await w.accept(id, [src, dst]), true);
    assert.deepEqual(totals(await reader.read(account)), [-1000n * e18, 998_000_000n, 0n]);
    assert.deepEqual(totals(await reader.read(account, { 56: 40_999_000, 42161: 249_000_000 })), [-1000n * e18, 998_000_000n, 0n]);
    // A replayed intent writes nothing.
    assert.equal(await w.accept(id, [{ ...src, amount: -1n }]), false);
    assert.deepEqual(totals(await reader.read(account)), [-1000n * e18, 998_000_000n, 0n]);
    // Ahead on Arbitrum: the credit is withheld, the debit on BSC still counts when ahead there.
    assert.deepEqual(totals(await reader.read(account, { 56: 41_000_005, 42161: 250_000_001 })), [-1000n * e18, 0n, 998_000_000n]);

    // 2. deposit mined at 41000012, then asOf passes it.
    src = { ...src, untilBlock: 41_000_012, state: "settled" };
    assert.equal(await w.update(id, 1, [src]), 2);
    await w.advanceAsOf(56, 41_000_020);
    await w.advanceAsOf(56, 41_000_001); // never goes back
    const bsc = await reader.read(account, { 56: 41_000_011 });
    assert.equal(bsc.amount(56, "USDT"), -1000n * e18);
    assert.equal((await reader.read(account, { 56: 41_000_012 })).amount(56, "USDT"), 0n);
    const atAsOf = await reader.read(account);
    assert.equal(atAsOf.chains.get(56)?.block, 41_000_020);
    assert.equal(atAsOf.amount(56, "USDT"), 0n);

    // The chain's balance plus the ledger is the same at every block around the deposit: the
    // 1000 USDT are spoken for before they leave, and counted once after.
    const bscBalance = (b: number) => (b >= 41_000_012 ? 4000n * e18 : 5000n * e18);
    for (let b = 41_000_000; b <= 41_000_020; b++) {
      const v = await reader.read(account, { 56: b });
      assert.equal(bscBalance(b) + v.amount(56, "USDT"), 4000n * e18, `BSC block ${b}`);
    }

    // 3. withdrawal sent: the realized amount replaces the expected one. A stale version loses.
    assert.equal(await w.update(id, 1, [{ ...dst, amount: 1n }]), -1);
    dst = { ...dst, amount: 997_500_000n, state: "realized" };
    assert.equal(await w.update(id, 2, [dst]), 3);
    assert.deepEqual(totals(await reader.read(account)), [0n, 997_500_000n, 0n]);

    // 4. landed at 250000480, asOf passes it.
    dst = { ...dst, untilBlock: 250_000_480, state: "settled" };
    assert.equal(await w.update(id, 3, [dst]), 4);
    // Written, but asOf not there yet: the block is not confirmed (a reorg may still move it), so a
    // reader ahead withholds the credit.
    const ahead = await reader.read(account, { 42161: 250_000_479 });
    assert.equal(ahead.ahead(42161), true);
    assert.deepEqual(totals(ahead), [0n, 0n, 997_500_000n]);
    await w.advanceAsOf(42161, 250_000_500);
    const arbBalance = (b: number) => (b >= 250_000_480 ? 1997_500_000n : 1000_000_000n);
    for (const b of [250_000_000, 250_000_479, 250_000_480, 250_000_500]) {
      const v = await reader.read(account, { 42161: b });
      assert.equal(v.ahead(42161), false);
      assert.equal(arbBalance(b) + v.amount(42161, "USDC"), 1997_500_000n, `Arbitrum block ${b}`);
    }
    const done = await reader.read(account);
    assert.deepEqual(totals(done), [0n, 0n, 0n]);
    assert.deepEqual(done.legs.map((l) => [l.name, l.state, l.untilBlock]), [
      ["dst", "settled", 250_000_480],
      ["src", "settled", 41_000_012],
    ]);
  });

  it("runs under the read-only ACL user of docs/ledger.md, which cannot write", async () => {
    const docs = readFileSync(join(FIXTURE_DIR, "../../../docs/ledger.md"), "utf8");
    const lines = docs.split("\n").filter((l) => l.startsWith("ACL SETUSER "));
    assert.equal(lines.length, 2, "docs/ledger.md gives the executor's and the reader's ACL lines");
    const admin = connect();
    const passwords: Record<string, string> = { EXECUTOR_PASSWORD: "exec-test-pw", INVENTORY_PASSWORD: "inv-test-pw" };
    for (const line of lines) {
      const args = line
        .replace(/>([A-Z_]+)/, (_, p: string) => ">" + (passwords[p] ?? p))
        .split(/\s+/)
        .slice(2);
      await admin.call("ACL", "SETUSER", ...args);
    }
    const account = "0x2222222222222222222222222222222222222222";
    const executor = connect({ username: "rebal-executor", password: passwords.EXECUTOR_PASSWORD! });
    const w = new DocWriter(executor, account);
    assert.equal(
      await w.accept("acl1", [{ name: "src", chainId: 10, token: "USDT", amount: -7n, decimals: 6, untilBlock: 0, state: "realized" }]),
      true,
    );
    await w.advanceAsOf(10, 50);

    const inventory = connect({ username: "rebal-inventory", password: passwords.INVENTORY_PASSWORD! });
    const view = await new LedgerReader(inventory).read(account);
    assert.equal(view.amount(10, "USDT"), -7n);
    assert.equal(view.chains.get(10)?.asOf, 50);
    await assert.rejects(inventory.hset(ledgerKey(account), "x:y", "{}"), /NOPERM/);
    await assert.rejects(inventory.del(ledgerKey(account)), /NOPERM/);
  });
});

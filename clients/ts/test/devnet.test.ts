// The reader against a ledger the real executor writes: `rebalancer devnet` (built from this
// repository) runs the whole system with this test's own redis-server as its Redis. While devnet
// runs, the test reads the account's ledger every 200 ms with this reader, and at moments spread
// over the run it evaluates one HGETALL with both this reader and the Go reader (`rebalancer
// pending --json`, on a copy of those exact fields in Redis database 1), at the ledger's asOf, at
// explicit blocks at, behind and ahead of asOf, so neither reader races the writer. After devnet
// stops, a last comparison on the settled ledger.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";

import { Redis } from "ioredis";

import { LedgerReader, ledgerKey, parseLedger, type LedgerView } from "../src/index.js";
import { REPO_ROOT } from "./fixtures.js";
import { startRedis, type RedisServer } from "./redis-server.js";

const SEED = "7";
const DURATION = "40s"; // devnet's own limit; the test stops it once the ledger has settled
const POLL_MS = 200;
const COMPARE_EVERY_MS = 1000;
const SETTLED_FOR_MS = 2000; // how long the ledger stays settled before devnet is stopped
const KILL_AFTER_MS = 90_000; // devnet did not stop by itself: fail

let dir: string;
let bin: string;
let server: RedisServer | undefined;
let devnet: ChildProcess | undefined;
const clients: Redis[] = [];

/** Runs a command to its end; rejects with its output when it fails. */
function run(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    p.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    p.once("error", (err) => reject(new Error(`${cmd}: ${err.message}`)));
    p.once("exit", (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(" ")}: exit ${code ?? signal}\n${stderr}${stdout}`));
    });
  });
}

before(
  async () => {
    dir = mkdtempSync(join(tmpdir(), "ledger-reader-devnet-"));
    bin = join(dir, "rebalancer");
    // Built here, not skipped when it cannot be: this test is the proof that the reader reads what
    // the executor writes. `make test` has the Go toolchain; the build cache makes this a link.
    await run("go", ["build", "-o", bin, "./cmd/rebalancer"], { cwd: REPO_ROOT }).catch((err: Error) => {
      throw new Error(`cannot build rebalancer from ${REPO_ROOT} for the live devnet test (it needs the Go toolchain on PATH): ${err.message}`);
    });
    server = await startRedis();
  },
  { timeout: 600_000 },
);

after(async () => {
  if (devnet && devnet.exitCode === null && devnet.signalCode === null) devnet.kill("SIGKILL");
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function connect(db = 0): Redis {
  const c = new Redis({ host: "127.0.0.1", port: server!.port, db, enableReadyCheck: false, maxRetriesPerRequest: 0 });
  clients.push(c);
  return c;
}

// ---- One view in the shape `rebalancer pending --json` prints. ----

interface Normal {
  chains: Record<string, { block: number; asOf: number; ahead: boolean; tokens: Record<string, { amount: string; decimals: number; withheld: string }> }>;
  legs?: Record<string, unknown>[];
}

function normalTS(v: LedgerView, withLegs: boolean): Normal {
  const out: Normal = { chains: {} };
  for (const [id, c] of v.chains) {
    const tokens: Normal["chains"][string]["tokens"] = {};
    for (const [tok, t] of c.tokens) tokens[tok] = { amount: t.amount.toString(), decimals: t.decimals, withheld: t.withheld.toString() };
    out.chains[String(id)] = { block: c.block, asOf: c.asOf, ahead: c.ahead, tokens };
  }
  if (withLegs) {
    out.legs = v.legs
      .map((l) => ({
        field: `${l.intentId}:${l.name}`,
        chainId: l.chainId,
        token: l.token,
        amount: l.amount.toString(),
        decimals: l.decimals,
        untilBlock: l.untilBlock,
        intentId: l.intentId,
        state: l.state,
        updatedAt: l.updatedAt,
      }))
      .sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  }
  return out;
}

interface GoJSON {
  account: string;
  chains: { chainId: number; block: number; asOf: number; ahead: boolean; tokens: Record<string, { amount: string; decimals: number; withheld?: string }> }[] | null;
  legs?: { field: string; value: Record<string, unknown> }[];
}

function normalGo(g: GoJSON, withLegs: boolean): Normal {
  const out: Normal = { chains: {} };
  for (const c of g.chains ?? []) {
    const tokens: Normal["chains"][string]["tokens"] = {};
    for (const [tok, t] of Object.entries(c.tokens)) tokens[tok] = { amount: t.amount, decimals: t.decimals, withheld: t.withheld ?? "0" };
    out.chains[String(c.chainId)] = { block: c.block, asOf: c.asOf, ahead: c.ahead, tokens };
  }
  if (withLegs) {
    out.legs = (g.legs ?? [])
      .map((l) => ({ field: l.field, ...l.value }))
      .sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  }
  return out;
}

/** Legs not yet confirmed on their chain: no untilBlock, or one past the chain's asOf. */
function inFlight(v: LedgerView): number {
  return v.legs.filter((l) => l.untilBlock === 0 || l.untilBlock > (v.chains.get(l.chainId)?.asOf ?? 0)).length;
}

/** A view read at each chain's asOf (no blocks given) is well-formed and follows the rule. */
function assertWellFormed(v: LedgerView, account: string, label: string): void {
  assert.equal(v.account, account.toLowerCase(), label);
  for (const [id, c] of v.chains) {
    assert.ok(Number.isSafeInteger(id) && id > 0, `${label}: chain id ${id}`);
    assert.ok(Number.isSafeInteger(c.asOf) && c.asOf >= 0, `${label}: chain ${id} asOf ${c.asOf}`);
    assert.equal(c.block, c.asOf, `${label}: chain ${id} evaluated at its asOf`);
    assert.equal(c.ahead, false, `${label}: chain ${id} ahead at its own asOf`);
    for (const [tok, t] of c.tokens) {
      assert.equal(typeof t.amount, "bigint", `${label}: ${id}/${tok} amount`);
      assert.equal(t.withheld, 0n, `${label}: ${id}/${tok} withheld at asOf`);
      assert.ok(Number.isInteger(t.decimals) && t.decimals >= 0 && t.decimals <= 255, `${label}: ${id}/${tok} decimals`);
    }
  }
  const sums = new Map<string, bigint>();
  for (const l of v.legs) {
    assert.ok(["expected", "realized", "settled"].includes(l.state), `${label}: leg ${l.intentId}:${l.name} state ${l.state}`);
    const c = v.chains.get(l.chainId);
    assert.ok(c, `${label}: leg ${l.intentId}:${l.name} on chain ${l.chainId} missing from the chains`);
    const t = c.tokens.get(l.token);
    assert.ok(t, `${label}: leg ${l.intentId}:${l.name} token ${l.token} missing from chain ${l.chainId}`);
    assert.equal(t.decimals, l.decimals, `${label}: leg ${l.intentId}:${l.name} decimals`);
    const k = `${l.chainId}/${l.token}`;
    sums.set(k, (sums.get(k) ?? 0n) + (l.untilBlock === 0 || c.block < l.untilBlock ? l.amount : 0n));
  }
  for (const [id, c] of v.chains) {
    for (const [tok, t] of c.tokens) assert.equal(t.amount, sums.get(`${id}/${tok}`) ?? 0n, `${label}: ${id}/${tok} is the sum of its legs in effect`);
  }
}

/** chain=block,... for `rebalancer pending --blocks`. */
function blocksArg(blocks: Record<string, number>): string {
  return Object.entries(blocks)
    .map(([c, b]) => `${c}=${b}`)
    .join(",");
}

describe("live devnet ledger", () => {
  it("reads the ledger devnet's executor writes, mid-flight and settled, as the Go reader does", { timeout: 240_000 }, async () => {
    const redisURL = `redis://127.0.0.1:${server!.port}`;
    const reportPath = join(dir, "report.json");
    devnet = spawn(bin, ["--log-format", "json", "devnet", "--no-view", "--duration", DURATION, "--seed", SEED, "--report", reportPath], {
      cwd: dir,
      env: { ...process.env, REDIS_URL: `${redisURL}/0` },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const proc = devnet;
    const t0 = Date.now();
    const logTail: string[] = [];
    let account: string | undefined;
    let accountSeen: () => void = () => {};
    const accountKnown = new Promise<void>((resolve) => (accountSeen = resolve));
    let partial = "";
    proc.stderr!.on("data", (b: Buffer) => {
      partial += b.toString();
      const lines = partial.split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        logTail.push(line);
        if (logTail.length > 60) logTail.shift();
        if (account !== undefined) continue;
        try {
          const e = JSON.parse(line) as { message?: string; account?: string };
          if (e.message === "devnet is up" && typeof e.account === "string") {
            account = e.account;
            accountSeen();
          }
        } catch {
          // not a log line (devnet's summary): keep it in the tail
        }
      }
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
    let exited = false;
    void exit.then(() => (exited = true));
    const killer = setTimeout(() => proc.kill("SIGKILL"), KILL_AFTER_MS);
    const log = () => `\ndevnet's log (last lines):\n${logTail.join("\n")}`;

    await Promise.race([accountKnown, exit.then(({ code, signal }) => assert.fail(`devnet exited (${code ?? signal}) before it was up${log()}`))]);
    assert.match(account!, /^0x[0-9a-fA-F]{40}$/);
    const acct = account!;
    const key = ledgerKey(acct);

    const live = connect(0);
    const copy = connect(1); // the Go reader's copy of one HGETALL, never written by devnet
    const reader = new LedgerReader(connect(0));

    const stats = { reads: 0, readsInFlight: 0, maxInFlight: 0, comparisons: 0, comparisonsInFlight: 0, goRuns: 0 };
    const mismatches: string[] = [];

    /** Evaluates the same fields with both readers at several reader blocks. */
    const compare = async (fields: Record<string, string>, label: string): Promise<void> => {
      await copy.multi().del(key).hset(key, fields).exec(); // hset with no fields is refused: never called empty
      const base = parseLedger(acct, fields);
      const chains = [...base.chains.keys()];
      const at = (f: (asOf: number) => number) => Object.fromEntries(chains.map((c) => [String(c), f(base.chains.get(c)!.asOf)]));
      const variants: { name: string; blocks: Record<string, number> | undefined }[] = [
        { name: "at asOf (no blocks)", blocks: undefined },
        { name: "blocks = asOf", blocks: at((a) => a) },
        { name: "blocks = asOf - 3", blocks: at((a) => Math.max(a - 3, 0)) },
        { name: "blocks = asOf + 2, and a chain without legs", blocks: { ...at((a) => a + 2), "777777": 5 } },
      ];
      for (const { name, blocks } of variants) {
        const withLegs = blocks === undefined;
        const args = ["pending", "--account", acct, "--json", "--redis", `${redisURL}/1`];
        if (withLegs) args.push("--legs");
        if (blocks !== undefined) args.push("--blocks", blocksArg(blocks));
        const { stdout } = await run(bin, args);
        stats.goRuns++;
        const go = normalGo(JSON.parse(stdout) as GoJSON, withLegs);
        const ts = normalTS(parseLedger(acct, fields, blocks), withLegs);
        try {
          assert.deepStrictEqual(ts, go);
        } catch (err) {
          mismatches.push(`${label}, ${name}: ${(err as Error).message}`);
        }
        if (blocks !== undefined && name.includes("+ 2")) {
          // Ahead of every asOf, from the same bytes: the unconfirmed credits move from the amount to
          // withheld, nothing else changes.
          const ahead = parseLedger(acct, fields, blocks);
          for (const [id, c] of base.chains) {
            assert.equal(ahead.ahead(id), true, `${label}: chain ${id} ahead`);
            for (const [tok, t] of c.tokens) {
              const a = ahead.total(id, tok)!;
              assert.equal(a.amount + a.withheld, t.amount, `${label}: ${id}/${tok} ahead amount + withheld = amount at asOf`);
            }
          }
        }
      }
      stats.comparisons++;
      if (inFlight(base) > 0) stats.comparisonsInFlight++;
    };

    let comparing: Promise<void> | undefined;
    let lastCompare = 0;
    const compareErrors: unknown[] = [];
    let settledSince: number | undefined;
    let comparedSettled = false;
    let stopSent = false;

    while (!exited) {
      const started = Date.now();
      const view = await reader.read(acct); // a MalformedLedgerError fails the test here
      stats.reads++;
      assertWellFormed(view, acct, `live read ${stats.reads}`);
      const n = inFlight(view);
      if (n > 0) stats.readsInFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, n);

      if (stats.readsInFlight > 0 && n === 0 && view.legs.length > 0) settledSince ??= started;
      else settledSince = undefined;

      // One HGETALL for both readers, now and then (first whenever legs are in flight and no
      // comparison has seen any yet), one comparison at a time.
      const wantInFlight = n > 0 && stats.comparisonsInFlight === 0;
      if (comparing === undefined && view.legs.length > 0 && (wantInFlight || started - lastCompare >= COMPARE_EVERY_MS || (settledSince !== undefined && !comparedSettled))) {
        lastCompare = started;
        const fields = await live.hgetall(key);
        const settledNow = settledSince !== undefined;
        comparing = compare(fields, `live comparison at ${((started - t0) / 1000).toFixed(1)}s`)
          .then(() => {
            if (settledNow) comparedSettled = true;
          })
          .catch((err: unknown) => void compareErrors.push(err))
          .finally(() => (comparing = undefined));
      }

      if (!stopSent && settledSince !== undefined && comparedSettled && started - settledSince >= SETTLED_FOR_MS) {
        // Every leg the executor wrote is confirmed: nothing more to see in flight. SIGINT is the
        // operator's stop: devnet shuts down cleanly and writes its report.
        stopSent = true;
        proc.kill("SIGINT");
      }
      await Promise.race([sleep(Math.max(POLL_MS - (Date.now() - started), 0)), exit]);
    }
    await comparing;
    clearTimeout(killer);
    const { code, signal } = await exit;
    assert.deepEqual(compareErrors, [], "live comparisons failed");
    assert.equal(signal, null, `devnet was killed (${signal})${log()}`);
    assert.equal(code, 0, `devnet exited ${code}${log()}`);

    // The ledger stays in Redis: a last comparison on the settled ledger, on a copy and in place.
    const keys = await live.keys("rebal:v1:*:ledger");
    assert.deepEqual(keys, [key], "devnet wrote one ledger, the relayer account's");
    const fields = await live.hgetall(key);
    const final = parseLedger(acct, fields);
    assertWellFormed(final, acct, "settled ledger");
    assert.ok(final.legs.length > 0, "the settled ledger has legs");
    assert.equal(inFlight(final), 0, "every leg is confirmed once devnet has stopped");
    for (const [id, c] of final.chains) for (const [tok, t] of c.tokens) assert.equal(t.amount, 0n, `settled ${id}/${tok} at asOf`);
    await compare(fields, "settled ledger");
    const inPlace = JSON.parse((await run(bin, ["pending", "--account", acct, "--json", "--legs", "--redis", `${redisURL}/0`])).stdout) as GoJSON;
    stats.goRuns++;
    assert.deepStrictEqual(normalTS(await reader.read(acct), true), normalGo(inPlace, true), "settled ledger read in place");

    const report = JSON.parse(readFileSync(reportPath, "utf8")) as { seed: number; intents_emitted: number; ledger_invariant_violations: number; redis: string };
    assert.equal(report.seed, Number(SEED));
    assert.equal(report.redis, "REDIS_URL", "devnet used this test's redis-server");
    assert.equal(report.ledger_invariant_violations, 0);
    assert.ok(report.intents_emitted > 0);

    // The point of the test: the reader read the live ledger while legs were in flight, and the two
    // readers agreed on every snapshot, in flight and settled.
    assert.ok(stats.readsInFlight > 0, `no read saw a leg in flight (${stats.reads} reads)`);
    assert.ok(stats.comparisonsInFlight > 0, `no comparison saw a leg in flight (${stats.comparisons} comparisons)`);
    assert.deepEqual(mismatches, [], "the TypeScript and Go readers disagree");
    console.log(
      `devnet seed ${SEED}: ${stats.reads} live reads (${stats.readsInFlight} with legs in flight, up to ${stats.maxInFlight}), ` +
        `${stats.comparisons} comparisons with the Go reader (${stats.comparisonsInFlight} in flight, ${stats.goRuns} runs of rebalancer pending), ` +
        `${final.legs.length} legs settled, ${report.intents_emitted} intents, 0 mismatches`,
    );
  });
});

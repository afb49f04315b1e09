// Loads the ledger fixtures shared with pkg/pending (pkg/pending/testdata/*.json, format in
// docs/ledger.md) and compares a view with a fixture's expectation.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { LedgerView } from "../src/index.js";

/** The client's root (clients/ts), whether the test runs from test/ or dist/test/. */
function packageRoot(): string {
  let dir = fileURLToPath(new URL(".", import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string };
      if (pkg.name === "@rebalancer-dev/ledger-reader") return dir;
    } catch {
      // not here: look one level up
    }
    dir = join(dir, "..");
  }
  throw new Error("cannot find clients/ts/package.json above " + fileURLToPath(import.meta.url));
}

/** The repository's root (two levels above clients/ts). */
export const REPO_ROOT = join(packageRoot(), "../..");

export const FIXTURE_DIR = join(REPO_ROOT, "pkg/pending/testdata");

export interface ExpectedTotal {
  amount: string;
  decimals: number;
  withheld: string;
}

export interface ExpectedChain {
  asOf: number;
  block: number;
  ahead: boolean;
  tokens: Record<string, ExpectedTotal>;
}

export interface FixtureRead {
  name: string;
  blocks: Record<string, number> | null;
  expect?: { legs: number; chains: Record<string, ExpectedChain> };
  error?: "malformed";
}

export interface Fixture {
  file: string;
  description: string;
  account: string;
  key: string;
  hash: Record<string, string>;
  reads: FixtureRead[];
}

export function loadFixtures(): Fixture[] {
  const files = readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort();
  return files.map((file) => {
    const f = JSON.parse(readFileSync(join(FIXTURE_DIR, file), "utf8")) as Omit<Fixture, "file">;
    assert.ok(typeof f.account === "string" && typeof f.key === "string" && f.hash && Array.isArray(f.reads), `${file}: not a ledger fixture`);
    assert.ok(f.reads.length > 0, `${file}: no reads`);
    for (const r of f.reads) {
      assert.ok((r.expect === undefined) !== (r.error === undefined), `${file}/${r.name}: want exactly one of expect, error`);
    }
    return { file, ...f };
  });
}

/** Asserts the view holds exactly the fixture's chains, tokens and totals. */
export function assertView(view: LedgerView, expect: NonNullable<FixtureRead["expect"]>): void {
  assert.equal(view.legs.length, expect.legs, "number of legs");
  const want = Object.keys(expect.chains).map(Number).sort((a, b) => a - b);
  const got = [...view.chains.keys()].sort((a, b) => a - b);
  assert.deepEqual(got, want, "chains");
  for (const [id, ec] of Object.entries(expect.chains)) {
    const cv = view.chains.get(Number(id));
    assert.ok(cv);
    assert.equal(cv.asOf, ec.asOf, `chain ${id} asOf`);
    assert.equal(cv.block, ec.block, `chain ${id} block`);
    assert.equal(cv.ahead, ec.ahead, `chain ${id} ahead`);
    assert.deepEqual([...cv.tokens.keys()].sort(), Object.keys(ec.tokens).sort(), `chain ${id} tokens`);
    for (const [token, et] of Object.entries(ec.tokens)) {
      const t = cv.tokens.get(token);
      assert.ok(t);
      assert.equal(typeof t.amount, "bigint");
      assert.equal(t.amount, BigInt(et.amount), `chain ${id} ${token} amount`);
      assert.equal(t.withheld, BigInt(et.withheld), `chain ${id} ${token} withheld`);
      assert.equal(t.decimals, et.decimals, `chain ${id} ${token} decimals`);
      assert.equal(view.amount(Number(id), token), t.amount);
    }
  }
}

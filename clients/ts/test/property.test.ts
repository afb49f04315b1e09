// The reading rule against a brute-force model of the chain: for random ledgers and reader blocks,
// the exact total at or behind asOf, and past asOf a total that never exceeds the truth whatever
// happened on the chain after asOf, a reorg that moved or undid a recorded block included
// (docs/ledger.md, "readers ahead of the ledger" and "reorgs").
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseLedger } from "../src/index.js";

/** mulberry32: a small seeded generator, so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ACCOUNT = "0x3333333333333333333333333333333333333333";
const CHAIN = 56;

interface ModelLeg {
  amount: bigint;
  /** The untilBlock the ledger holds. */
  recorded: number;
  /** The block the chain really shows the leg from; undefined when it never does within the test. */
  lands: number | undefined;
}

describe("reading rule, randomized against the chain", () => {
  it("is exact at or behind asOf, and never above the truth when ahead", () => {
    const seeds = 300;
    let aheadCases = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const r = rng(seed);
      const int = (n: number) => Math.floor(r() * n);
      const asOf = 1000 + int(50);
      const legs: ModelLeg[] = [];
      const fields: Record<string, string> = { [`asof:${CHAIN}`]: String(asOf) };
      const n = 1 + int(8);
      for (let i = 0; i < n; i++) {
        const amount = (BigInt(1 + int(1_000_000)) * 10n ** BigInt(int(20))) * (r() < 0.5 ? -1n : 1n);
        // Where the leg truly lands: before asOf (then the executor has recorded it), after asOf
        // (recorded or not yet), or not within the horizon.
        let lands = r() < 0.2 ? undefined : 950 + int(150);
        let recorded = lands !== undefined && (lands <= asOf || r() < 0.5) ? lands : 0;
        // A reorg past asOf (the executor rewound asOf to it) moved or undid a recorded block that
        // the executor has not re-verified yet: the ledger holds a stale block past asOf.
        if (recorded > asOf && r() < 0.5) {
          lands = r() < 0.5 ? undefined : asOf + 1 + int(100);
        }
        legs.push({ amount, recorded, lands });
        fields[`i${i}:leg`] = JSON.stringify({
          chainId: CHAIN,
          token: "USDT",
          amount: amount.toString(),
          decimals: 18,
          untilBlock: recorded,
          intentId: `i${i}`,
          state: recorded !== 0 ? "settled" : "realized",
          updatedAt: 0,
        });
      }
      for (let b = 940; b <= 1110; b += 1 + int(7)) {
        // The truth: a leg is still to be added at block b until the chain shows it.
        const truth = legs.reduce((s, l) => (l.lands === undefined || b < l.lands ? s + l.amount : s), 0n);
        const v = parseLedger(ACCOUNT, fields, { [CHAIN]: b });
        const t = v.total(CHAIN, "USDT")!;
        if (b <= asOf) {
          assert.equal(v.ahead(CHAIN), false);
          assert.equal(t.amount, truth, `seed ${seed} block ${b}: exact at or behind asOf`);
          assert.equal(t.withheld, 0n);
        } else {
          aheadCases++;
          assert.equal(v.ahead(CHAIN), true);
          assert.ok(t.amount <= truth, `seed ${seed} block ${b}: ${t.amount} > truth ${truth}`);
          // The bound docs/ledger.md gives from above.
          let debits = 0n;
          for (const [f, val] of Object.entries(fields)) {
            if (f.startsWith("asof:")) continue;
            const j = JSON.parse(val) as { amount: string; untilBlock: number };
            const unconfirmed = j.untilBlock === 0 || j.untilBlock > asOf;
            if (unconfirmed && BigInt(j.amount) < 0n) debits -= BigInt(j.amount);
          }
          assert.ok(truth <= t.amount + t.withheld + debits, `seed ${seed} block ${b}: upper bound`);
        }
      }
    }
    assert.ok(aheadCases > seeds, "the ahead branch was exercised");
  });
});

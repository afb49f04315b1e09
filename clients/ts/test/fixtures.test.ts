// Every fixture of pkg/pending/testdata, read the way the Go reader reads it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { MalformedLedgerError, ledgerKey, parseLedger } from "../src/index.js";
import { assertView, FIXTURE_DIR, loadFixtures } from "./fixtures.js";

const fixtures = loadFixtures();

describe(`ledger fixtures in ${FIXTURE_DIR}`, () => {
  it("covers valid and malformed ledgers", () => {
    // Guards against an empty or half-copied testdata directory passing vacuously.
    const reads = fixtures.flatMap((f) => f.reads);
    assert.ok(reads.filter((r) => r.expect).length >= 5, "valid reads");
    assert.ok(reads.filter((r) => r.error).length >= 5, "malformed reads");
  });

  for (const f of fixtures) {
    describe(f.file, () => {
      it("computes the fixture's key from its account", () => {
        assert.equal(ledgerKey(f.account), f.key);
      });
      for (const r of f.reads) {
        it(r.name, () => {
          if (r.error !== undefined) {
            assert.throws(() => parseLedger(f.account, f.hash, r.blocks), MalformedLedgerError);
            return;
          }
          assertView(parseLedger(f.account, f.hash, r.blocks), r.expect!);
        });
      }
    });
  }
});

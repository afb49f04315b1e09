// The decoder and the reading rule on their own, mirroring pkg/pending's codec and view tests.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { InvalidInputError, MalformedLedgerError, decodeLeg, ledgerKey, normalizeAccount, parseLedger } from "../src/index.js";

const ACCOUNT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const canonical =
  '{"chainId":56,"token":"USDT","amount":"-5","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1764000000000}';
const want = {
  intentId: "i1",
  name: "src",
  chainId: 56,
  token: "USDT",
  amount: -5n,
  decimals: 18,
  untilBlock: 7,
  state: "settled",
  updatedAt: 1764000000000,
};

/** The canonical value with one member replaced (raw JSON text) or removed (undefined). */
function withMember(key: string, raw: string | undefined): string {
  const members: Record<string, string> = {
    chainId: "56",
    token: '"USDT"',
    amount: '"-5"',
    decimals: "18",
    untilBlock: "7",
    intentId: '"i1"',
    state: '"settled"',
    updatedAt: "1764000000000",
  };
  if (raw === undefined) delete members[key];
  else members[key] = raw;
  return "{" + Object.entries(members).map(([k, v]) => `"${k}":${v}`).join(",") + "}";
}

describe("decodeLeg", () => {
  const ok: [string, string][] = [
    ["canonical", canonical],
    [
      "other order and spaces",
      `{ "state":"settled", "intentId":"i1", "updatedAt":1764000000000, "untilBlock":7,\n\t"decimals":18, "amount":"-5", "token":"USDT", "chainId":56 }`,
    ],
    ["unknown keys of every JSON type are ignored", canonical.slice(0, -1) + ',"note":"x","n":1.5e3,"o":{"a":[1,{"b":null}]},"t":true,"f":false,"z":null}'],
    ["escaped letters", canonical.replace('"USDT"', '"US\\u0044T"')],
    ["a key given twice keeps the last", canonical.replace('"amount":"-5"', '"amount":"9","amount":"-5"')],
  ];
  for (const [name, value] of ok) {
    it(`accepts: ${name}`, () => {
      assert.deepEqual(decodeLeg(ACCOUNT, "i1:src", value), want);
    });
  }

  it("keeps amounts past 2^53, 2^64 and 2^256 exact", () => {
    for (const a of ["9007199254740993", "-18446744073709551617", "1" + "0".repeat(80)]) {
      const leg = decodeLeg(ACCOUNT, "i1:src", withMember("amount", `"${a}"`));
      assert.equal(leg.amount, BigInt(a));
      assert.equal(leg.amount.toString(), a);
    }
  });

  const bad: [string, string, string][] = [
    ["field without colon", "i1src", canonical],
    ["field of another intent", "i2:src", canonical],
    ["empty leg name", "i1:", canonical],
    ["leg name with a colon", "i1:src:x", canonical],
    ["not json", "i1:src", "nope"],
    ["a JSON array", "i1:src", "[1]"],
    ["JSON null", "i1:src", "null"],
    ["trailing garbage", "i1:src", canonical + "x"],
    ["trailing comma", "i1:src", canonical.slice(0, -1) + ",}"],
    ["unterminated", "i1:src", canonical.slice(0, -1)],
    ["bad escape in an unknown key", "i1:src", canonical.slice(0, -1) + ',"x":"\\q"}'],
    ["control character in a string", "i1:src", canonical.slice(0, -1) + ',"x":"a\nb"}'],
    ["amount as number", "i1:src", withMember("amount", "-5")],
    ["amount with plus", "i1:src", withMember("amount", '"+5"')],
    ["amount minus zero", "i1:src", withMember("amount", '"-0"')],
    ["amount leading zero", "i1:src", withMember("amount", '"05"')],
    ["amount decimal point", "i1:src", withMember("amount", '"5.0"')],
    ["amount exponent", "i1:src", withMember("amount", '"5e3"')],
    ["amount empty", "i1:src", withMember("amount", '""')],
    ["amount with space", "i1:src", withMember("amount", '" 5"')],
    ["missing untilBlock", "i1:src", withMember("untilBlock", undefined)],
    ["null untilBlock", "i1:src", withMember("untilBlock", "null")],
    ["untilBlock as string", "i1:src", withMember("untilBlock", '"7"')],
    ["untilBlock 2^53", "i1:src", withMember("untilBlock", "9007199254740992")],
    ["untilBlock 2^53+1", "i1:src", withMember("untilBlock", "9007199254740993")],
    ["untilBlock float", "i1:src", withMember("untilBlock", "7.5")],
    ["untilBlock 7.0", "i1:src", withMember("untilBlock", "7.0")],
    ["untilBlock exponent", "i1:src", withMember("untilBlock", "7e0")],
    ["untilBlock minus zero", "i1:src", withMember("untilBlock", "-0")],
    ["untilBlock negative", "i1:src", withMember("untilBlock", "-7")],
    ["untilBlock true", "i1:src", withMember("untilBlock", "true")],
    ["decimals 256", "i1:src", withMember("decimals", "256")],
    ["chain 0", "i1:src", withMember("chainId", "0")],
    ["updatedAt past 2^53-1", "i1:src", withMember("updatedAt", "9007199254740992")],
    ["empty token", "i1:src", withMember("token", '""')],
    ["token with space", "i1:src", withMember("token", '"US DT"')],
    ["token as number", "i1:src", withMember("token", "5")],
    ["state with a colon", "i1:src", withMember("state", '"a:b"')],
    ["token of 129 characters", "i1:src", withMember("token", `"${"T".repeat(129)}"`)],
    ["missing intentId", "i1:src", withMember("intentId", undefined)],
  ];
  for (const [name, field, value] of bad) {
    it(`refuses: ${name}`, () => {
      assert.throws(() => decodeLeg(ACCOUNT, field, value), (err: unknown) => {
        assert.ok(err instanceof MalformedLedgerError, String(err));
        assert.equal(err.code, "malformed");
        assert.equal(err.field, field);
        return true;
      });
    });
  }
});

describe("accounts and keys", () => {
  const cases: [string, string, string | undefined][] = [
    ["checksummed", ACCOUNT, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"],
    ["upper 0X", "0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"],
    ["lower", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"],
    ["short", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", undefined],
    ["no prefix", "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00", undefined],
    ["not hex", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", undefined],
    ["empty", "", undefined],
  ];
  for (const [name, input, normalized] of cases) {
    it(name, () => {
      if (normalized === undefined) {
        assert.throws(() => normalizeAccount(input), InvalidInputError);
        assert.throws(() => ledgerKey(input), InvalidInputError);
        return;
      }
      assert.equal(normalizeAccount(input), normalized);
      assert.equal(ledgerKey(input), `rebal:v1:{${normalized}}:ledger`);
    });
  }
});

describe("parseLedger", () => {
  const leg = (intent: string, name: string, chainId: number, amount: string, untilBlock: number) =>
    JSON.stringify({ chainId, token: "USDC", amount, decimals: 6, untilBlock, intentId: intent, state: "realized", updatedAt: 1 });
  const fields = {
    "asof:10": "100",
    "d:src": leg("d", "src", 10, "-40", 0),
    "c:dst": leg("c", "dst", 10, "25", 0),
    "s:dst": leg("s", "dst", 10, "7", 103),
  };

  it("takes blocks as an object, a Map with numbers or BigInts, or nothing", () => {
    const at = (blocks: Parameters<typeof parseLedger>[2]) => parseLedger(ACCOUNT, fields, blocks).chains.get(10);
    assert.equal(at(undefined)?.block, 100);
    assert.equal(at(null)?.block, 100);
    assert.equal(at({ "10": 101 })?.block, 101);
    assert.equal(at(new Map([[10, 102]]))?.block, 102);
    assert.equal(at(new Map([[10n, 103n]]))?.block, 103);
  });

  it("applies the rule and the conservative total", () => {
    const cases: [number, bigint, bigint, boolean][] = [
      // block, amount, withheld, ahead
      [99, -40n + 25n + 7n, 0n, false],
      [100, -40n + 25n + 7n, 0n, false],
      // Ahead, s's block 103 is past asOf 100: unconfirmed (a reorg may move it), so withheld.
      [102, -40n, 25n + 7n, true],
      [103, -40n, 25n + 7n, true],
    ];
    for (const [block, amount, withheld, ahead] of cases) {
      const v = parseLedger(ACCOUNT, fields, { 10: block });
      assert.deepEqual(v.total(10, "USDC"), { amount, decimals: 6, withheld }, `block ${block}`);
      assert.equal(v.ahead(10), ahead, `block ${block}`);
      assert.equal(v.amount(10, "USDC"), amount);
    }
  });

  it("reads a flat HGETALL reply and a Map like an object", () => {
    const flat = Object.entries(fields).flat();
    const a = parseLedger(ACCOUNT, fields, { 10: 102 });
    assert.deepEqual(parseLedger(ACCOUNT, flat, { 10: 102 }), a);
    assert.deepEqual(parseLedger(ACCOUNT, new Map(Object.entries(fields)), { 10: 102 }), a);
  });

  it("sorts legs by intent then name and answers 0n for what it does not hold", () => {
    const v = parseLedger(ACCOUNT, fields);
    assert.deepEqual(v.legs.map((l) => `${l.intentId}:${l.name}`), ["c:dst", "d:src", "s:dst"]);
    assert.equal(v.account, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
    assert.equal(v.amount(10, "USDT"), 0n);
    assert.equal(v.amount(1, "USDC"), 0n);
    assert.equal(v.total(1, "USDC"), undefined);
    assert.equal(v.ahead(1), false);
  });

  it("reads an empty ledger", () => {
    const v = parseLedger(ACCOUNT, {}, { 1: 5 });
    assert.equal(v.legs.length, 0);
    assert.deepEqual([...v.chains.keys()], [1]);
    assert.equal(v.chains.get(1)?.ahead, true);
  });

  const badAsOf: [string, string][] = [
    ["asof:", "1"],
    ["asof:0", "1"],
    ["asof:056", "1"],
    ["asof:56", ""],
    ["asof:56", "+1"],
    ["asof:56", "-1"],
    ["asof:56", "01"],
    ["asof:56", "1.0"],
    ["asof:56", "9007199254740992"],
    ["asof:9007199254740992", "1"],
  ];
  for (const [field, value] of badAsOf) {
    it(`refuses ${field} = ${JSON.stringify(value)}`, () => {
      assert.throws(() => parseLedger(ACCOUNT, { ...fields, [field]: value }), MalformedLedgerError);
    });
  }

  it("refuses bad input with InvalidInputError, not a malformed ledger", () => {
    assert.throws(() => parseLedger("0x1", fields), InvalidInputError);
    for (const blocks of [{ 10: -1 }, { 10: 1.5 }, { 10: 2 ** 53 }, { x: 1 }, new Map([[10n, 2n ** 53n]])]) {
      assert.throws(() => parseLedger(ACCOUNT, fields, blocks as never), InvalidInputError, JSON.stringify(String(blocks)));
    }
    assert.throws(() => parseLedger(ACCOUNT, ["asof:10"]), InvalidInputError);
  });
});

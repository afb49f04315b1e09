// A strict reader for one JSON object, for leg values. JSON.parse cannot be used alone: it turns
// 1.0, 1e3 and -0 into integers the ledger contract (and the Go reader) refuses, and rounds an
// integer past 2^53 without a word. This scanner validates the whole text as RFC 8259 JSON and
// returns the top-level members with their numbers as written.

/** A top-level member's value: strings decoded, numbers as their source text. */
export type Member =
  | { kind: "string"; value: string }
  | { kind: "number"; text: string }
  | { kind: "bool" | "null" | "object" | "array" };

/** Thrown on text that is not one JSON object. */
export class JSONSyntaxError extends Error {
  override name = "JSONSyntaxError";
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  fail(what: string): never {
    throw new JSONSyntaxError(`${what} at offset ${this.i}`);
  }

  ws(): void {
    while (this.i < this.s.length && WS.has(this.s.charCodeAt(this.i))) this.i++;
  }

  eat(ch: string): void {
    if (this.s[this.i] !== ch) this.fail(`want ${JSON.stringify(ch)}`);
    this.i++;
  }

  string(): string {
    this.eat('"');
    let out = "";
    let start = this.i;
    for (;;) {
      if (this.i >= this.s.length) this.fail("unterminated string");
      const c = this.s.charCodeAt(this.i);
      if (c === 0x22) {
        out += this.s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail("control character in string");
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += this.s.slice(start, this.i);
      const e = this.s[this.i + 1];
      this.i += 2;
      switch (e) {
        case '"':
        case "\\":
        case "/":
          out += e;
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = this.s.slice(this.i, this.i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          this.i += 4;
          break;
        }
        default:
          this.i -= 1;
          this.fail("bad escape");
      }
      start = this.i;
    }
  }

  number(): string {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (m === null) this.fail("bad number");
    this.i += m[0].length;
    return m[0];
  }

  literal(word: string): void {
    if (!this.s.startsWith(word, this.i)) this.fail("unexpected token");
    this.i += word.length;
  }

  /** Any JSON value; returns its kind, and its text for strings and numbers. */
  value(): Member {
    this.ws();
    const c = this.s[this.i];
    switch (c) {
      case '"':
        return { kind: "string", value: this.string() };
      case "{":
        this.object(() => this.value());
        return { kind: "object" };
      case "[":
        this.array();
        return { kind: "array" };
      case "t":
        this.literal("true");
        return { kind: "bool" };
      case "f":
        this.literal("false");
        return { kind: "bool" };
      case "n":
        this.literal("null");
        return { kind: "null" };
      default:
        return { kind: "number", text: this.number() };
    }
  }

  object(member: (key: string) => Member): void {
    this.eat("{");
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      this.ws();
      this.eat(":");
      member(key);
      this.ws();
      if (this.s[this.i] === ",") {
        this.i++;
        continue;
      }
      this.eat("}");
      return;
    }
  }

  array(): void {
    this.eat("[");
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return;
    }
    for (;;) {
      this.value();
      this.ws();
      if (this.s[this.i] === ",") {
        this.i++;
        continue;
      }
      this.eat("]");
      return;
    }
  }
}

/**
 * Parses text that must be exactly one JSON object and returns its members. A key given twice
 * keeps its last value, as Go's encoding/json does.
 */
export function parseObject(text: string): Map<string, Member> {
  const sc = new Scanner(text);
  const members = new Map<string, Member>();
  sc.ws();
  if (sc.s[sc.i] !== "{") sc.fail("want a JSON object");
  sc.object((key) => {
    const v = sc.value();
    members.set(key, v);
    return v;
  });
  sc.ws();
  if (sc.i !== text.length) sc.fail("trailing data");
  return members;
}

/**
 * The ledger in Redis holds a field or value this reader cannot read. The whole read fails: a
 * skipped leg would be a miscounted balance (docs/ledger.md). `field` names the culprit.
 */
export class MalformedLedgerError extends Error {
  override name = "MalformedLedgerError";
  readonly code = "malformed";
  constructor(
    readonly account: string,
    readonly field: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`pending ledger of ${account}${field === undefined ? "" : `: field ${JSON.stringify(field)}`}: ${message}`, options);
  }
}

/** The caller passed something the ledger cannot be read with: an account that is not an address, a block that is not a safe integer. */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
  readonly code = "invalid";
}

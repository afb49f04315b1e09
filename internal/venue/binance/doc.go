// Package binance is the rebalancer's Binance adapter, built on github.com/adshao/go-binance/v2.
// A Client serves one account and implements venue.Venue: routes from the coin/network config,
// cost quotes from live data, spot balances, deposit addresses and deposit status, moving funds
// from the funding wallet to spot, spot orders and withdrawals.
//
// Guarantees:
//   - Idempotency. Venue ids derive from the intent id (ClientID: "rb<step>-<hex>", 36 chars).
//     Swap looks newClientOrderId up (GET /api/v3/order) and Withdraw looks withdrawOrderId up
//     (GET /sapi/v1/capital/withdraw/history) before any submission, because Binance rejects a
//     duplicate client order id only while the first order is open and never de-duplicates
//     withdrawals. After an ambiguous answer (timeout, dropped connection, HTTP 5xx, -1006/-1007)
//     the id is looked up for LookupLag; if still absent the call returns venue.ErrUnknownOutcome
//     and submits nothing more: the next call looks up again first.
//   - Waits are states. Deposit status 6 (credited, locked) and 8, withdrawals disabled on a network
//     (withdrawEnable false or -4019), funds not yet withdrawable (-4026), funds still in the funding
//     wallet and HTTP 429/418 come back as a venue.Wait on the result, not as errors.
//   - Rate limits. An http.RoundTripper sees what go-binance hides: 429/418 with Retry-After (turned
//     into RateLimitError, and every later request waits until then) and the used-weight headers
//     (above 90% of the minute's limit, requests wait for the next minute). A 429 proves the request
//     was not executed, so writes retry it; reads also retry 5xx and network errors with backoff.
//   - Time. SyncTime measures the offset to GET /api/v3/time; every signed request carries
//     timestamp and recvWindow (5s); -1021 triggers one resync and a retry (the request was not
//     executed).
//   - Concurrency. A Client is safe for concurrent use. go-binance writes its UsedWeight and
//     OrderCount counters without a lock, so each call uses its own short-lived go-binance client
//     over one shared, locked transport.
//   - Money. Amounts are venue.Amount (*big.Int base units with decimals); prices, fees and
//     filters are big.Rat parsed from Binance's decimal strings. Nothing passes through float64.
//     Sizes round down, fees and minimums up, a sell's price floor up and a buy's cap down.
//   - Secrets. Credentials come from the environment or files (LoadCredentials) and print redacted.
//
// The funding wallet has no go-binance service: Balances reports spot only, and MakeTradable
// checks spot and moves the shortfall from funding (a universal transfer has no client id; the
// check before it is what keeps a repeat from moving twice).
package binance

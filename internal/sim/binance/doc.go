// Package simbinance is a simulated Binance that go-binance cannot tell from the real one for the
// endpoints the rebalancer uses: server time, exchangeInfo, depth, account, orders (new, query,
// cancel, myTrades), trade fees, coin/network configuration, deposit addresses and history,
// universal transfers, withdrawals and their history.
//
// What it checks like Binance does:
//   - Signed endpoints: X-MBX-APIKEY must name a configured account (-2014/-2015); the HMAC-SHA256
//     of the query string (without signature) followed by the body must match (-1022); the timestamp
//     must be neither 1000 ms ahead of the server nor older than recvWindow (default 5000, max
//     60000) (-1021, -1131).
//   - Request weights per minute: /api per IP (X-MBX-USED-WEIGHT-1M), /sapi per IP or UID
//     (X-SAPI-USED-IP-WEIGHT-1M, X-SAPI-USED-UID-WEIGHT-1M). Over the limit: HTTP 429, -1003 and
//     Retry-After; a client that keeps sending during the back-off is banned with HTTP 418.
//   - Orders: symbol filters (PRICE_FILTER tick, LOT_SIZE step/min/max, NOTIONAL), balances
//     (-2010 insufficient), a client id that duplicates an open order (-2010 "Duplicate order
//     sent."), while a client id of a filled or expired order may be reused, as on Binance.
//     MARKET (quantity or quoteOrderQty) and LIMIT GTC/IOC/FOK walk a standing book that refills
//     after every order; the taker fee is charged in the asset received, rounded up to 8 places.
//   - Withdrawals: network enabled (-4019 when suspended), min/max/multiple (-4021/-4022/-4020),
//     balance net of deposits not yet unlocked (-4026). withdrawOrderId is stored and searchable,
//     never de-duplicated. Each withdrawal is paid by an ERC20 transfer signed by the hot wallet
//     on the network's chain (the recipient gets amount − fee): status 4 (processing, txId set once
//     broadcast) then 6 (completed) once mined, or 5 (failure, refunded) when the hot wallet cannot
//     pay. The signed transfer is kept before broadcast and only ever rebroadcast.
//   - Deposits: Transfer logs of each network's tokens to an account's deposit address (one per
//     account, the same on every network) are found with FilterLogs over JSON-RPC; after
//     MinConfirm blocks they are credited (status 6: tradable, not withdrawable) to the spot or
//     funding wallet, after UnlockConfirm they become withdrawable (status 1).
//
// Amounts are exact rationals (math/big) inside and 8-decimal strings on the wire; nothing is a
// float64. Chains are reached only through their RPC URLs, so a devnet can run the simulator in
// its own process.
//
// For tests: Inject adds faults (latency, an HTTP status before or after the action, a dropped
// connection after the action, a 429, or a hold: an admitted request kept for a while, listed by
// Holds on arrival, then applied whether or not its client is still there, so a test can kill the
// client in the window in which the venue has the request and has not acted); SuspendWithdrawals/SuspendDeposits and SetDepositWallet
// change the venue's state; Actions and Count are the record of every order, trade, withdrawal,
// transfer and deposit, so a test can prove "exactly one order, exactly one withdrawal".
//
// Differences from the real venue: one spot symbol; the book never moves; orders never rest
// against each other (a GTC remainder waits until cancelled); no travel rule, address whitelist or
// e-mail confirmation; a deposit re-mined by a reorg is credited once (found again by its
// transaction within the last 64 blocks), but one dropped by a reorg is not reversed; ban
// durations and error texts are representative, not exhaustive.
package simbinance

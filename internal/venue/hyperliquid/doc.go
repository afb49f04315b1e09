// Package hyperliquid is the rebalancer's Hyperliquid adapter: spot trading on the USDT0/USDC book,
// transfers between HyperCore, HyperEVM and Arbitrum, and the look-ups that make each of them happen
// at most once.
//
// It owns the HTTP, nonce and resend layer and signs through package wire (whose signing reproduces
// the official Python SDK's published vectors); go-hyperliquid is not used on the money path because
// its amounts are float64, its nonces process-local and its network inferred from the URL.
//
// Guarantees:
//   - The network (mainnet or testnet) is explicit configuration, never inferred from a URL.
//   - Spot metadata (the pair's asset id and book name, token indices, tokenIds, szDecimals,
//     weiDecimals, HyperEVM contracts) is resolved from spotMeta at start-up and on Refresh; only the
//     token names are configured.
//   - Amounts are *big.Int in each token's HyperCore wei decimals and prices *big.Rat; decimal strings
//     are produced and parsed exactly. Nothing passes through float64. Sizes and prices round against
//     the account: sizes down, a buy's limit price down and a sell's up (inside the caller's bound),
//     amounts paid up and received down.
//   - Idempotency: an order's cloid derives from (intent id, attempt); PlaceIOC looks it up before
//     signing. Every action is signed once into a Prepared (persist it before sending); after an
//     ambiguous answer (timeout, dropped connection, 5xx, 429) the adapter looks the action up
//     (orderStatus by cloid, or the ledger updates by nonce) and resends only the same bytes, which the
//     venue cannot execute twice (each nonce is accepted once). It never signs a second action for the
//     same step: ErrUnknownOutcome tells the caller to look up again later.
//   - Nonces are unique and increasing per signer and persisted before use (FileNonces).
//   - Request weights are counted per minute and waited for before a request is sent; /info reads
//     are retried on 429/5xx with backoff.
//   - The private key comes from the environment or a file (LoadKey); Key prints as its address only.
//
// Venue implements the common view (package venue) over Client. Its swaps and withdrawals are keyed by
// "<intent id>/<step>": the signed action is saved in a PreparedStore before it is first sent, so a
// restarted process resends those bytes (and the venue applies them at most once) instead of signing a
// second action. usdClassTransfer moves between perp and spot are level-triggered: each call re-reads
// the balances and moves only the shortfall, so repeating one is harmless.
//
// Deposits are chain transactions the executor sends itself (with its write-ahead); this package
// gives their targets and calldata (Bridge2, system addresses, CoreDepositWallet approve + deposit)
// and FindDeposit, which confirms the credit on HyperCore: an EVM receipt proves nothing, because
// bridge and CoreWriter actions are asynchronous.
package hyperliquid

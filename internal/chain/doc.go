// Package chain is the only package that talks to EVM chains. It reads
// balances, heads and ERC20 Transfer logs, and sends transactions with
// write-ahead, through go-ethereum's rpc and ethclient over one or more
// JSON-RPC endpoints per chain.
//
// # Reads
//
// Client.SnapshotAt reads every (token, account) balance at an explicit block
// together with that block's header in one HTTP round trip: a JSON-RPC batch
// of eth_getBlockByNumber and one Multicall3 aggregate3 eth_call, or, on a
// chain configured without Multicall3, of individual balanceOf eth_calls. The
// Multicall3 read also checks blockhash(block-1) against the header's parent,
// so the balances and the hash it returns belong to the same chain. Client.Settled
// gives the block to read at (latest, safe, finalized, or head minus N
// confirmations, per Config.Finality). Client.Transfers reads Transfer logs
// in a block range, split into MaxLogRange chunks.
//
// # Failures
//
// Every RPC goes through one retry loop: a retryable failure (HTTP 429 or a
// JSON-RPC rate-limit error: ErrRateLimited; unreachable, 5xx or timed out:
// ErrUnavailable/ErrTimeout; a node without the block: ErrBlockUnavailable)
// moves to the next endpoint at once, and after each full round over the
// endpoints the loop backs off exponentially with jitter, at least the 429's
// Retry-After, at most RetryPolicy.MaxDelay. Anything else (ErrReverted,
// ErrRPC, ErrNotFound, the caller's context) returns at once. Errors are
// *Error values whose Unwrap yields the class sentinel and the cause, so
// errors.Is works on both. An endpoint's chain id is checked on first use;
// one serving another chain is disabled (ErrWrongChain); Client.Verify checks
// them all at start-up. The client sticks to the last endpoint that worked.
// HTTP 401/403/404 and "method not found" fail over too: they are the
// endpoint's problem, not the request's. RPC URLs often carry provider keys:
// only scheme and host appear in errors, logs and metrics (NewMetrics:
// attempts by chain, endpoint, method and result; attempt latency).
//
// # Sending
//
// Sender signs and sends for one account with write-ahead: Prepare signs a
// transaction and persists its raw bytes and hash through the caller's
// TxStore before anything is broadcast; Broadcast sends exactly those bytes
// and treats "already known" and "already mined" as success; Wait polls for
// the receipt and rebroadcasts the same bytes while there is none. A step key
// gets at most one signed transaction, ever: after a restart a new Sender
// with the same store finds the record and resends it. Nonces are
// max(pending nonce, highest recorded nonce + 1), so a restart never reuses a
// nonce already given to a recorded step, and the store reserves each one
// atomically: TxStore.SaveTx refuses a new step's nonce that is not above the
// recorded one (ErrNonceTaken), and Prepare signs again with the next, which
// is safe because the refused transaction was neither stored nor sent. So
// Senders of one (chain, account) in several processes may sign at once. If
// another transaction took a recorded nonce (one is mined with it),
// ErrNonceConsumed says so instead of signing again. Every recorded
// transaction must eventually be broadcast (the executor's reconcile loop
// resends it, also for an intent that needs attention): a record that never
// is would hold its nonce and stall the account.
// Client.Confirm tells, without waiting, whether a transaction is mined on
// the canonical chain and how deep, for level-triggered reconcile loops.
//
// Fees are EIP-1559: fee cap = 2 x base fee + suggested tip, fixed at
// signing. There is no fee bump: replacing a stuck transaction would sign a
// second one for the step, which this package refuses to do on its own. Keys come from the
// environment or a file (KeyFromEnv, KeyFromFile); a KeySigner prints as its
// address only, and nothing here logs key material.
package chain

// Package simchain runs simulated EVM chains for tests and devnet.
//
// Each Chain is a go-ethereum node with a simulated beacon (the same parts
// ethclient/simulated assembles) running under the chain's real chain id,
// with TestToken ERC20s placed in genesis at known addresses (by default the
// real mainnet token addresses, see DefaultChains) and Multicall3 at its
// canonical address. The node's real JSON-RPC server is served over HTTP on
// 127.0.0.1 at a free port, so code in this process or another reaches it
// exactly as it reaches a real RPC provider.
//
// Blocks are produced on demand (Commit), on a ticker (Config.BlockInterval),
// and/or after every accepted transaction (Config.AutoMine: a request that
// submits a transaction gets its answer only once the block holding it is
// mined). One mutex serializes everything that seals blocks or rewinds the
// chain, so the ticker, Mint, Transfer, Reorg and RPC-submitted
// transactions are safe to use concurrently.
//
// Faults are injected per HTTP endpoint (Faults): added latency, HTTP 429
// rate limits, 5xx errors, JSON-RPC errors and outages (the connection is
// dropped). A chain may have several endpoints in front of the same node
// (AddEndpoint) to test fail-over. Reorgs are injected with Reorg or Fork.
//
// Block timestamps are whole seconds and must increase, so a chain sealing
// blocks faster than one a second runs its clock ahead of the wall clock (a
// 250ms interval gains about 3s every second). Nothing here should compare
// block time with wall time.
//
// Close stops the ticker, the HTTP servers and the node; it waits for every
// goroutine the Chain started.
//
// The genesis state follows TestToken's storage layout (see
// internal/chain/contracts): balances given in TokenSpec.Balances exist from
// block 0 without Transfer events; Mint emits a Transfer from the zero
// address like a real issuer.
package simchain

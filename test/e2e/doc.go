// Package e2e tests the rebalancer end to end with its three services as separate processes, the
// way they run in Kubernetes: TestMain builds the rebalancer binary once, each test starts
// devnet's parts in the test process (embedded NATS, a private Redis, the simulated chains, the
// Binance and Hyperliquid simulators, a seeded imbalance), writes the configuration file and the
// key files, and runs `rebalancer balancewatcher`, `rebalancer planner` and `rebalancer executor`
// as subprocesses with their own ops ports. Only URLs and files differ from production.
//
// The tests check that the imbalance becomes intents on the stream, that the intents complete on
// the simulators with exactly one deposit, order and withdrawal each (each simulator's own record:
// Binance's deposits, client order ids and withdrawOrderIds; Hyperliquid's deposit credits by
// transaction, filled orders by cloid, withdraw3 and spotSend by nonce and their payouts), that no
// chain ends below its threshold, and, every 200ms throughout, that the ledger read at its asOf
// plus the chains' balances at those blocks equals the true inventory (devnet.Checker).
//
// The seeded imbalance is all Binance's. TestHyperliquidRoutes reshapes the balances before the
// services start so that only Hyperliquid can fix them (HyperEVM USDC the only excess, HyperEVM
// USDT and Arbitrum USDC in deficit): CoreDepositWallet deposits, a swap on the book, a withdraw3
// to Arbitrum and a spotSend to HyperEVM. TestHyperliquidGateways covers the other two deposit
// gateways the same way, each the only way in for its world's one excess: Bridge2 (Arbitrum USDC)
// and USDT0's system address (HyperEVM USDT).
//
// Faults: the executor killed with SIGKILL after its first signed deposit; killed while its first
// Binance order, then (in the same world, after a restart) its first Binance withdrawal, or its
// first Hyperliquid order or withdraw3, is held in flight by the simulator, which applies it with
// the executor dead (the test requires that the executor had not recorded the outcome); the
// planner killed and restarted.
//
// The tests are built without the race detector (make test runs them in its race-free pass):
// the simulated chains and venues in the test process cannot keep up under -race on two cores.
// The services are a plain build too; every package they link has its own race-checked tests.
// `go test -short` skips them. A failed test keeps its directory (logs, config, key files) and
// prints the last lines of each service's log; E2E_KEEP=1 keeps it after a pass too.
package e2e

// Package devnet runs the whole rebalancer on one machine with nothing installed: an embedded NATS
// with JetStream; Redis from REDIS_URL, else a redis-server child process, else an embedded
// Redis-protocol server; simulated EVM chains with their real chain ids and ERC20s; the Binance and
// Hyperliquid simulators; the three services wired as in production (each with its own bus
// connection and ops server: only URLs differ); a load driver that drains and refills chains as a
// relayer's fills and refunds do; a live terminal view; and a JSON report.
//
// It is linked only into builds without the nodevnet tag: the production image carries no simulator.
package devnet

// Package balancewatcher reads the relayer's balances on every configured chain and venue and
// publishes them to the REBAL stream as BalanceSnapshots.
//
// On a chain, each snapshot is one account's token balances at block To, the confirmed head (head
// minus confirmations, or the safe/finalized tag, as the chain reader is configured), with the
// range {From: previous To, To} and the block hash at To. Guarantees:
//
//   - Contiguous ranges. The first range after a start begins where the last published one ended,
//     read from the stream (the last message on the account's subject), never from memory, so a
//     restart leaves neither a gap nor an overlap. Publishing the same range twice is de-duplicated
//     by its message id.
//   - Reorgs. Before publishing, the watcher checks that the hash at its last published height is
//     unchanged. If it changed, it publishes a snapshot marked with Reorg whose range starts at the
//     newest published height whose hash still holds (or MaxReorgDepth below, if none is known), so
//     that consumers re-read those blocks.
//   - Consistency. Balances are read at an explicit block number; the hash at that number is read
//     again afterwards, and a snapshot whose block changed underneath it is discarded and re-read.
//   - Isolation. One goroutine per chain and per venue, every RPC call under its own timeout: a slow
//     or dead chain never delays the others. While a chain cannot be read, nothing is published for
//     it; the location goes stale, which the planner sees from the snapshots' absence, /readyz
//     reports by name and rebal_watcher_location_stale shows.
//   - Heartbeats. When the confirmed head does not move for Heartbeat, a snapshot with an empty
//     range (From == To) says the balances still hold at that block.
//
// Venue balances are snapshots of their own location (binance, hyperliquid), read through the
// VenueReader interface the venue adapters implement.
package balancewatcher

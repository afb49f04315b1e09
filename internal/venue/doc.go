// Package venue is the common view of a trading venue (Binance, Hyperliquid) that the planner and
// the executor use: the routes a venue supports, a cost quote for moving an amount along a route,
// balance snapshots, and the per-step operations of an execution (deposit address and deposit
// status, a swap on the spot book, a withdrawal), each looked up by an id derived from the intent id
// before it is (re)submitted.
//
// Guarantees every implementation gives:
//   - Amounts are Amount values: *big.Int base units with their decimals beside them. Nothing on an
//     amount's path is a float64. Conversions between decimals round against the account (sizes and
//     amounts received down, fees and amounts paid up), see Amount.Rescale.
//   - Venue ids (client order ids, withdrawal ids) derive deterministically from the intent id and the
//     step, so a restarted executor finds what an earlier run submitted. Place and Withdraw look the id
//     up first and return the existing order or withdrawal instead of submitting a second one.
//   - Known wait conditions (a deposit credited but not yet unlocked, withdrawals suspended on a
//     network, a venue rate limit) are reported as a Wait on the returned value, not as an error: the
//     executor records the state and tries again later.
//   - A lookup that finds nothing returns ErrNotFound. An answer whose outcome is unknown (timeout,
//     HTTP 5xx, "send status unknown") returns an error wrapping ErrUnknownOutcome: look up again
//     before any resubmission.
//
// The interfaces here are deliberately small; a consumer that needs fewer methods declares its own.
package venue

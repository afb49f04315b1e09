// Package wire is Hyperliquid's wire protocol as both the adapter and the simulator speak it: the
// exchange actions with their canonical field order, their msgpack encoding, the two signature schemes
// (L1 actions through a phantom agent, user-signed actions through EIP-712), signature recovery, and
// exact decimal strings for amounts and prices.
//
// Guarantees:
//   - The msgpack encoding is byte-identical to the official Python SDK's msgpack.packb of the same
//     action (compact integers, str8 for 32–255-byte strings, map keys in the SDK's order). It is
//     hand-written for the few action shapes used here, so no reflection decides the field order.
//   - Signing reproduces the official SDK's published test vectors (see sign_test.go).
//   - The network (mainnet or testnet) is always an explicit argument: nothing here looks at a URL.
//   - Amounts are decimal strings converted to and from *big.Int base units exactly; a string with
//     more precision than the unit allows is an error, never silently rounded. No float64 anywhere.
package wire

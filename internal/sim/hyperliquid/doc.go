// Package hlsim is a Hyperliquid simulator: POST /info and POST /exchange served over HTTP so that a
// real client cannot tell it from the venue for the calls the rebalancer makes, with HyperCore's
// balances kept here and its bridges running on simulated EVM chains reached only through JSON-RPC.
//
// What it guarantees:
//   - Every /exchange request is verified as the venue does: the action is re-encoded from its typed
//     form (canonical msgpack for L1 actions, EIP-712 for user-signed actions), the signer is
//     recovered and must be a known user, the network must match the configured one, and each nonce is
//     accepted once per signer under the venue's window rules (the highest 100 kept; a new one must
//     exceed the smallest kept and lie within now − 2 days … now + 1 day). Replaying identical signed
//     bytes therefore never executes twice.
//   - A USDT0/USDC spot book with depth that fills consume; IOC limit orders match at the resting
//     prices up to the limit and cancel the rest (partial fills), a minimum order value in the quote
//     token, taker fees charged on the received token and rounded up; price and size precision checked
//     against the tick rules (5 significant figures, 8 − szDecimals decimals, szDecimals sizes).
//   - Chains: USDC transfers to Bridge2 on Arbitrum (below the minimum they are lost, as on the venue)
//     credit the perp balance; ERC20 transfers to a token's system address on HyperEVM credit the spot
//     balance, except USDC which must go through CoreDepositWallet (approve + deposit; a plain transfer
//     is stuck); spotSend to a system address and withdraw3 pay out with ERC20 transfers signed by keys
//     the simulator holds, minus the venue's fee.
//   - Amounts are integers in each token's wei decimals and prices big.Rat: no float64 anywhere.
//   - Faults are injected per endpoint and action/info type: latency, a response dropped after the
//     action took effect, HTTP 5xx before it, and 429 rate limits; request weights are charged per
//     client IP per minute as the venue does.
//   - Everything it did is recorded (Record) so tests can assert "exactly one order for this cloid".
package hlsim

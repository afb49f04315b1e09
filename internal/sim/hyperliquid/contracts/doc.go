// Package contracts holds the CoreDepositWallet stand-in the Hyperliquid simulator deploys on its
// simulated HyperEVM: source, ABI, creation code and abigen v2 bindings (see README.md).
package contracts

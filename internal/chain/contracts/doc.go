// Package contracts holds the EVM contracts this project deploys on simulated
// chains and the go-ethereum (abigen v2) bindings used to talk to them and to
// real chains: TestToken, a plain ERC20 whose decimals are chosen per
// deployment, and Multicall3, an ABI-compatible subset of the canonical
// Multicall3 used to read many balances in one eth_call.
//
// The Solidity sources, their ABIs, creation and runtime bytecode, storage
// layouts and the generated bindings are all committed, so building and
// testing need no Solidity compiler. README.md says how to regenerate them;
// a test fails if the committed bytecode and the bindings drift apart.
package contracts

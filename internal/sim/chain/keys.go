package simchain

import (
	"crypto/ecdsa"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// DevKey returns a deterministic private key derived from label, for
// simulated chains only: the same label gives the same key in every process,
// so a devnet's services and its simulators agree on accounts without sharing
// files. Never use these keys on a real chain: anyone can derive them.
func DevKey(label string) *ecdsa.PrivateKey {
	seed := crypto.Keccak256([]byte("rebalancer/simchain/devkey/" + label))
	key, err := crypto.ToECDSA(seed)
	if err != nil {
		// A keccak output is a valid secp256k1 scalar except with negligible
		// probability; the labels used are fixed, so this cannot happen.
		panic("simchain: derive dev key: " + err.Error())
	}
	return key
}

// DevAddress is the address of DevKey(label).
func DevAddress(label string) common.Address {
	return crypto.PubkeyToAddress(DevKey(label).PublicKey)
}

// minterLabel names the key that deploys and mints every simulated token.
const minterLabel = "minter"

// MinterAddress is the address allowed to mint and burn simulated tokens.
func MinterAddress() common.Address { return DevAddress(minterLabel) }

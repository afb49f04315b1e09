package chain

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Signer signs transactions for one account. A KMS or HSM can implement it;
// KeySigner holds a private key in memory.
type Signer interface {
	Address() common.Address
	SignTx(tx *types.Transaction, chainID *big.Int) (*types.Transaction, error)
}

// KeySigner signs with an in-memory secp256k1 key. Its String shows only the
// address, so printing or logging it never reveals the key.
type KeySigner struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

// NewKeySigner wraps key.
func NewKeySigner(key *ecdsa.PrivateKey) *KeySigner {
	return &KeySigner{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

// Address is the signing account.
func (k *KeySigner) Address() common.Address { return k.addr }

// SignTx signs tx for chainID with the latest signer rules.
func (k *KeySigner) SignTx(tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	return types.SignTx(tx, types.LatestSignerForChainID(chainID), k.key)
}

// String shows the address only.
func (k *KeySigner) String() string { return "KeySigner(" + k.addr.Hex() + ")" }

// GoString shows the address only, also under %#v.
func (k *KeySigner) GoString() string { return k.String() }

// KeyFromHex parses a hex private key (with or without 0x). Errors never
// quote the input.
func KeyFromHex(s string) (*ecdsa.PrivateKey, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	if s == "" {
		return nil, ErrNoKey
	}
	key, err := crypto.HexToECDSA(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not a valid hex secp256k1 key (%d characters)", ErrNoKey, len(s))
	}
	return key, nil
}

// KeyFromEnv reads a hex private key from the environment variable name.
func KeyFromEnv(name string) (*ecdsa.PrivateKey, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return nil, fmt.Errorf("%w: env %s not set", ErrNoKey, name)
	}
	key, err := KeyFromHex(v)
	if err != nil {
		return nil, fmt.Errorf("env %s: %w", name, err)
	}
	return key, nil
}

// KeyFromFile reads a hex private key from a file (e.g. a mounted
// Kubernetes Secret).
func KeyFromFile(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: read key file %s: %w", ErrNoKey, path, err)
	}
	key, err := KeyFromHex(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

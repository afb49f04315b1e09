package hyperliquid

import (
	"crypto/ecdsa"
	"fmt"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Key is the account's signing key. It prints as its address only, so it can never reach a log.
type Key struct{ k *ecdsa.PrivateKey }

// NewKey wraps a private key.
func NewKey(k *ecdsa.PrivateKey) Key { return Key{k: k} }

// LoadKey reads a hex private key from the environment variable env or, if that is empty, from
// file. The key's text is never part of an error or a log line.
func LoadKey(env, file string) (Key, error) {
	raw := os.Getenv(env)
	if raw == "" && file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return Key{}, fmt.Errorf("%w: read key file %s: %w", ErrConfig, file, err)
		}
		raw = string(b)
	}
	raw = strings.TrimPrefix(strings.TrimSpace(raw), "0x")
	if raw == "" {
		return Key{}, fmt.Errorf("%w: no key in $%s or %q", ErrConfig, env, file)
	}
	k, err := crypto.HexToECDSA(raw)
	if err != nil {
		return Key{}, fmt.Errorf("%w: key is not a secp256k1 hex private key", ErrConfig)
	}
	return Key{k: k}, nil
}

// Address is the account the key signs for (zero for no key).
func (k Key) Address() common.Address {
	if !k.valid() {
		return common.Address{} // a read-only client's: it signs nothing
	}
	return crypto.PubkeyToAddress(k.k.PublicKey)
}

// String shows the address only.
func (k Key) String() string { return "hyperliquid key for " + k.Address().Hex() }

// GoString shows the address only.
func (k Key) GoString() string { return k.String() }

// MarshalText shows the address only, for structured loggers.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k Key) valid() bool { return k.k != nil }

package wire

import (
	"fmt"
	"strings"
)

// Network selects the Hyperliquid chain a signature is valid on. It is chosen in configuration and
// never inferred from a URL: a testnet signature is rejected by mainnet and vice versa.
type Network int

const (
	// Mainnet is Hyperliquid mainnet (phantom agent source "a", hyperliquidChain "Mainnet").
	Mainnet Network = iota + 1
	// Testnet is Hyperliquid testnet (phantom agent source "b", hyperliquidChain "Testnet").
	Testnet
)

// ParseNetwork reads "mainnet" or "testnet" (case-insensitive).
func ParseNetwork(s string) (Network, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mainnet":
		return Mainnet, nil
	case "testnet":
		return Testnet, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrBadNetwork, s)
}

// Valid reports whether n is Mainnet or Testnet.
func (n Network) Valid() bool { return n == Mainnet || n == Testnet }

// String is "mainnet" or "testnet".
func (n Network) String() string {
	switch n {
	case Mainnet:
		return "mainnet"
	case Testnet:
		return "testnet"
	}
	return fmt.Sprintf("network(%d)", int(n))
}

// source is the phantom agent's source field.
func (n Network) source() string {
	if n == Mainnet {
		return "a"
	}
	return "b"
}

// ChainName is the hyperliquidChain field of user-signed actions.
func (n Network) ChainName() string {
	if n == Mainnet {
		return "Mainnet"
	}
	return "Testnet"
}

// SignatureChainID is the EIP-712 chain id the official SDK signs user-signed actions with (0x66eee,
// Arbitrum Sepolia's id) on both networks; hyperliquidChain, not this, separates the networks.
const SignatureChainID = "0x66eee"

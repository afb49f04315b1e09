package simchain

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rebalancer-dev/rebalancer/internal/chain/contracts"
)

// defaultGasFunds is the ETH (in wei) every funded address gets in genesis:
// 1,000,000 ETH, far more than any test spends on gas.
var defaultGasFunds = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(1e18))

// deterministicTokenAddress picks an address for a token configured without
// one: a function of the chain id and symbol only, so every process that uses
// the same Config finds the token at the same place.
func deterministicTokenAddress(chainID uint64, symbol string) common.Address {
	h := crypto.Keccak256([]byte(fmt.Sprintf("rebalancer/simchain/token/%d/%s", chainID, symbol)))
	return common.BytesToAddress(h[12:])
}

// genesisAlloc builds the genesis state: gas funds, Multicall3 at its
// canonical address, and each token's runtime code with its storage written
// as TestToken's constructor and mint would have left it.
func genesisAlloc(cfg Config, tokens []TokenSpec) (types.GenesisAlloc, error) {
	alloc := types.GenesisAlloc{}
	funds := cfg.GasFunds
	if funds == nil {
		funds = defaultGasFunds
	}
	fund := func(a common.Address) {
		acct := alloc[a]
		acct.Balance = new(big.Int).Set(funds)
		alloc[a] = acct
	}
	fund(MinterAddress())
	for _, a := range cfg.Funded {
		fund(a)
	}
	alloc[contracts.MulticallAddress] = types.Account{Code: contracts.MulticallRuntimeCode(), Balance: new(big.Int)}

	code := contracts.TestTokenRuntimeCode()
	for _, tok := range tokens {
		if _, taken := alloc[tok.Address]; taken {
			return nil, fmt.Errorf("%w: token %s address %s collides with another account", ErrInvalidConfig, tok.Symbol, tok.Address)
		}
		storage := map[common.Hash]common.Hash{}
		name := tok.Name
		if name == "" {
			name = tok.Symbol
		}
		if len(name) > 31 || len(tok.Symbol) > 31 {
			return nil, fmt.Errorf("%w: token %s: name and symbol must be shorter than 32 bytes", ErrInvalidConfig, tok.Symbol)
		}
		storage[slot(contracts.TestTokenSlotName)] = shortString(name)
		storage[slot(contracts.TestTokenSlotSymbol)] = shortString(tok.Symbol)
		storage[slot(contracts.TestTokenSlotDecimals)] = common.BigToHash(big.NewInt(int64(tok.Decimals)))
		storage[slot(contracts.TestTokenSlotMinter)] = common.BytesToHash(MinterAddress().Bytes())
		total := new(big.Int)
		for holder, amount := range tok.Balances {
			if amount == nil || amount.Sign() < 0 {
				return nil, fmt.Errorf("%w: token %s: negative or nil balance for %s", ErrInvalidConfig, tok.Symbol, holder)
			}
			storage[balanceSlot(holder)] = common.BigToHash(amount)
			total.Add(total, amount)
		}
		storage[slot(contracts.TestTokenSlotTotalSupply)] = common.BigToHash(total)
		alloc[tok.Address] = types.Account{Code: code, Storage: storage, Balance: new(big.Int)}
	}
	return alloc, nil
}

func slot(n int64) common.Hash { return common.BigToHash(big.NewInt(n)) }

// balanceSlot is the storage slot of balanceOf[holder]: keccak256(key . slot)
// for a Solidity mapping.
func balanceSlot(holder common.Address) common.Hash {
	return crypto.Keccak256Hash(common.LeftPadBytes(holder.Bytes(), 32), slot(contracts.TestTokenSlotBalances).Bytes())
}

// shortString encodes a Solidity string shorter than 32 bytes the way it is
// stored in one slot: the bytes left-aligned, the lowest byte length*2.
func shortString(s string) common.Hash {
	var h common.Hash
	copy(h[:], s)
	h[31] = byte(len(s) * 2)
	return h
}

// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package contracts

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// CoreDepositWalletMetaData contains all meta data concerning the CoreDepositWallet contract.
var CoreDepositWalletMetaData = bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"address\",\"name\":\"token_\",\"type\":\"address\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"address\",\"name\":\"user\",\"type\":\"address\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint32\",\"name\":\"destinationDex\",\"type\":\"uint32\"}],\"name\":\"Deposit\",\"type\":\"event\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"amount\",\"type\":\"uint256\"},{\"internalType\":\"uint32\",\"name\":\"destinationDex\",\"type\":\"uint32\"}],\"name\":\"deposit\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"token\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	ID:  "CoreDepositWallet",
	Bin: "0x60a0604052348015600e575f5ffd5b506040516102d83803806102d8833981016040819052602b91603b565b6001600160a01b03166080526066565b5f60208284031215604a575f5ffd5b81516001600160a01b0381168114605f575f5ffd5b9392505050565b6080516102556100835f395f81816052015260f401526102555ff3fe608060405234801561000f575f5ffd5b5060043610610034575f3560e01c80632b2dfd2c14610038578063fc0c546a1461004d575b5f5ffd5b61004b6100463660046101ec565b610090565b005b6100747f000000000000000000000000000000000000000000000000000000000000000081565b6040516001600160a01b03909116815260200160405180910390f35b5f82116100d25760405162461bcd60e51b815260206004820152600b60248201526a1e995c9bc8185b5bdd5b9d60aa1b60448201526064015b60405180910390fd5b6040516323b872dd60e01b8152336004820152306024820152604481018390527f00000000000000000000000000000000000000000000000000000000000000006001600160a01b0316906323b872dd906064016020604051808303815f875af1158015610142573d5f5f3e3d5ffd5b505050506040513d601f19601f820116820180604052508101906101669190610222565b6101a85760405162461bcd60e51b81526020600482015260136024820152721d1c985b9cd9995c919c9bdb4819985a5b1959606a1b60448201526064016100c9565b6040805183815263ffffffff8316602082015233917f738681ca441269aaa213f676d1b0ff77b3c266333326c36e69b5294966c02319910160405180910390a25050565b5f5f604083850312156101fd575f5ffd5b82359150602083013563ffffffff81168114610217575f5ffd5b809150509250929050565b5f60208284031215610232575f5ffd5b81518015158114610241575f5ffd5b939250505056fea164736f6c634300081c000a",
}

// CoreDepositWallet is an auto generated Go binding around an Ethereum contract.
type CoreDepositWallet struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *CoreDepositWallet) GetABI() abi.ABI {
	return c.abi
}

// NewCoreDepositWallet creates a new instance of CoreDepositWallet.
func NewCoreDepositWallet() *CoreDepositWallet {
	parsed, err := CoreDepositWalletMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &CoreDepositWallet{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *CoreDepositWallet) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address token_) returns()
func (coreDepositWallet *CoreDepositWallet) PackConstructor(token_ common.Address) []byte {
	enc, err := coreDepositWallet.abi.Pack("", token_)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackDeposit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2b2dfd2c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function deposit(uint256 amount, uint32 destinationDex) returns()
func (coreDepositWallet *CoreDepositWallet) PackDeposit(amount *big.Int, destinationDex uint32) []byte {
	enc, err := coreDepositWallet.abi.Pack("deposit", amount, destinationDex)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDeposit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x2b2dfd2c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function deposit(uint256 amount, uint32 destinationDex) returns()
func (coreDepositWallet *CoreDepositWallet) TryPackDeposit(amount *big.Int, destinationDex uint32) ([]byte, error) {
	return coreDepositWallet.abi.Pack("deposit", amount, destinationDex)
}

// PackToken is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfc0c546a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function token() view returns(address)
func (coreDepositWallet *CoreDepositWallet) PackToken() []byte {
	enc, err := coreDepositWallet.abi.Pack("token")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackToken is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xfc0c546a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function token() view returns(address)
func (coreDepositWallet *CoreDepositWallet) TryPackToken() ([]byte, error) {
	return coreDepositWallet.abi.Pack("token")
}

// UnpackToken is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xfc0c546a.
//
// Solidity: function token() view returns(address)
func (coreDepositWallet *CoreDepositWallet) UnpackToken(data []byte) (common.Address, error) {
	out, err := coreDepositWallet.abi.Unpack("token", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// CoreDepositWalletDeposit represents a Deposit event raised by the CoreDepositWallet contract.
type CoreDepositWalletDeposit struct {
	User           common.Address
	Amount         *big.Int
	DestinationDex uint32
	Raw            *types.Log // Blockchain specific contextual infos
}

const CoreDepositWalletDepositEventName = "Deposit"

// ContractEventName returns the user-defined event name.
func (CoreDepositWalletDeposit) ContractEventName() string {
	return CoreDepositWalletDepositEventName
}

// UnpackDepositEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event Deposit(address indexed user, uint256 amount, uint32 destinationDex)
func (coreDepositWallet *CoreDepositWallet) UnpackDepositEvent(log *types.Log) (*CoreDepositWalletDeposit, error) {
	event := "Deposit"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != coreDepositWallet.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(CoreDepositWalletDeposit)
	if len(log.Data) > 0 {
		if err := coreDepositWallet.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range coreDepositWallet.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

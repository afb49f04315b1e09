package contracts

import (
	_ "embed"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// MulticallAddress is where Multicall3 lives on (nearly) every EVM chain,
// deployed with the same keyless transaction everywhere.
var MulticallAddress = common.HexToAddress("0xcA11bde05977b3631167028862bE2a173976CA11")

// TransferTopic is topic 0 of the ERC20 Transfer(address,address,uint256) event.
var TransferTopic = common.HexToHash("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")

// Storage slots of TestToken's state variables (see TestToken.storage.json).
// The simulator writes them directly when it places a token in genesis.
const (
	TestTokenSlotBalances    = 0
	TestTokenSlotAllowances  = 1
	TestTokenSlotTotalSupply = 2
	TestTokenSlotName        = 3
	TestTokenSlotSymbol      = 4
	TestTokenSlotDecimals    = 5
	TestTokenSlotMinter      = 6
)

var (
	//go:embed TestToken.bin-runtime
	testTokenRuntime string
	//go:embed Multicall3.bin-runtime
	multicallRuntime string
	//go:embed TestToken.bin
	testTokenCreation string
	//go:embed Multicall3.bin
	multicallCreation string
)

// TestTokenRuntimeCode is TestToken's deployed (runtime) bytecode, for genesis
// allocations.
func TestTokenRuntimeCode() []byte { return common.FromHex(strings.TrimSpace(testTokenRuntime)) }

// MulticallRuntimeCode is Multicall3's deployed (runtime) bytecode, for
// genesis allocations.
func MulticallRuntimeCode() []byte { return common.FromHex(strings.TrimSpace(multicallRuntime)) }

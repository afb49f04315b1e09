package contracts

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The bindings must carry exactly the compiled bytecode, so a half-done regeneration fails here.
func TestBindingsMatchArtifacts(t *testing.T) {
	bin, err := os.ReadFile("CoreDepositWallet.bin")
	require.NoError(t, err)
	require.Equal(t, "0x"+strings.TrimSpace(string(bin)), CoreDepositWalletMetaData.Bin)
	abi, err := CoreDepositWalletMetaData.ParseABI()
	require.NoError(t, err)
	require.Contains(t, abi.Methods, "deposit")
	require.Contains(t, abi.Events, "Deposit")
	require.Equal(t, "0x2b2dfd2c", "0x"+common2hex(abi.Methods["deposit"].ID))
}

func common2hex(b []byte) string {
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, hexdigits[c>>4], hexdigits[c&15])
	}
	return string(out)
}

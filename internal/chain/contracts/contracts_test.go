package contracts

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
)

func TestArtifactsMatchBindings(t *testing.T) {
	cases := []struct {
		name     string
		bindings string
		creation string
		runtime  []byte
	}{
		{"TestToken", TestTokenMetaData.Bin, testTokenCreation, TestTokenRuntimeCode()},
		{"Multicall3", Multicall3MetaData.Bin, multicallCreation, MulticallRuntimeCode()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, "0x"+strings.TrimSpace(tc.creation), tc.bindings, "bindings out of date: regenerate (README.md)")
			require.Greater(t, len(tc.runtime), 100)
			// The creation code returns the runtime code, so it must contain it.
			require.True(t, bytes.Contains(common.FromHex(tc.bindings), tc.runtime), "creation code does not embed the runtime code")
		})
	}
}

func TestTransferTopic(t *testing.T) {
	require.Equal(t, crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)")), TransferTopic)
	ev, ok := NewTestToken().GetABI().Events["Transfer"]
	require.True(t, ok)
	require.Equal(t, ev.ID, TransferTopic)
}

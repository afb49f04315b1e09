package events

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/sha3"
)

func TestKeccak256KnownVectors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
		{"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
		// ERC20 Transfer(address,address,uint256) topic, which VENUES.md quotes.
		{"Transfer(address,address,uint256)", "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
	}
	for _, c := range cases {
		got := keccak256([]byte(c.in))
		require.Equal(t, c.want, hex.EncodeToString(got[:]), "keccak256(%q)", c.in)
	}
}

// Every length around the 136-byte rate boundary, against the reference implementation.
func TestKeccak256MatchesReference(t *testing.T) {
	for n := 0; n < 3*136+2; n++ {
		in := []byte(strings.Repeat("x", n))
		ref := sha3.NewLegacyKeccak256()
		ref.Write(in)
		got := keccak256(in)
		require.Equal(t, ref.Sum(nil), got[:], "length %d", n)
	}
}

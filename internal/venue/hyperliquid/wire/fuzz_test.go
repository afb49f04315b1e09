package wire

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
)

func FuzzDecodeAction(f *testing.F) {
	key, _ := crypto.HexToECDSA(vectorKey)
	for _, a := range []any{vectorOrder("0x00000000000000000000000000000001"), NewWithdraw3(Mainnet, "0x01", "1", 1),
		NewSpotSend(Testnet, "0x02", "USDC:0x01", "2.5", 2), NewUsdClassTransfer(Mainnet, "3", true, 3),
		CancelByCloidAction{Type: "cancelByCloid", Cancels: []CancelByCloid{{Asset: 1, Cloid: "0x01"}}}} {
		b, _ := json.Marshal(a)
		f.Add(b)
	}
	f.Add([]byte(`{"type":"order","orders":null}`))
	f.Add([]byte(`{"type":"nope"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := DecodeAction(raw)
		if err != nil {
			return
		}
		// Whatever decodes can be hashed and signed without panicking, and recovers to the signer.
		switch x := a.(type) {
		case L1Action:
			d, err := L1Digest(Mainnet, x, 1, nil, nil)
			require.NoError(t, err)
			sig, err := Sign(key, d)
			require.NoError(t, err)
			who, err := Recover(d, sig)
			require.NoError(t, err)
			require.Equal(t, crypto.PubkeyToAddress(key.PublicKey), who)
		case UserSignedAction:
			_, _ = UserSignedDigest(x)
		default:
			t.Fatalf("decoded %T", a)
		}
	})
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "1.5", "00.10", "-1", "1e5", "", ".", "1.", "123456789.123456789"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, d int) {
		if d < 0 || d > 30 {
			return
		}
		v, err := ParseDecimal(s, d)
		if err != nil {
			return
		}
		// Round trip: the canonical form parses back to the same units.
		back, err := ParseDecimal(FormatDecimal(v, d), d)
		require.NoError(t, err)
		require.Equal(t, 0, v.Cmp(back))
		require.GreaterOrEqual(t, v.Cmp(big.NewInt(0)), 0)
	})
}

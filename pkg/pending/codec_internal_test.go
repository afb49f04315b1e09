package pending

import (
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFastAndSlowDecodeAgree(t *testing.T) {
	t.Parallel()
	amounts := []string{"0", "-1", "1", "999999999999999999", "-999999999999999999",
		"1000000000000000000", "-123456789012345678901234567890"}
	for _, a := range amounts {
		t.Run(a, func(t *testing.T) {
			t.Parallel()
			amt, ok := new(big.Int).SetString(a, 10)
			require.True(t, ok)
			l := Leg{IntentID: "i-1", Name: "dst", ChainID: 56, Token: "USDT", Amount: amt, Decimals: 18,
				UntilBlock: 42, State: StateSettled, UpdatedAt: time.UnixMilli(1764000000123).UTC()}
			v, err := EncodeLeg(l)
			require.NoError(t, err)
			fast, ok := decodeFast(v, nil)
			require.True(t, ok, "the canonical form must take the fast path: %s", v)
			slow, err := decodeSlow(v)
			require.NoError(t, err)
			require.Equal(t, slow, fast)
			require.Equal(t, 0, fast.Amount.Cmp(amt))
		})
	}
}

// FuzzDecodeLeg checks that the fast path never accepts what the slow path (encoding/json) rejects
// or reads it differently, and that nothing panics.
func FuzzDecodeLeg(f *testing.F) {
	f.Add(`{"chainId":56,"token":"USDT","amount":"-5","decimals":18,"untilBlock":0,"intentId":"i1","state":"realized","updatedAt":1764000000000}`)
	f.Add(`{"chainId":1,"token":"USDC","amount":"123456789012345678901","decimals":6,"untilBlock":9,"intentId":"i1","state":"settled","updatedAt":0}`)
	f.Add(`{"chainId":01,"token":"USDT","amount":"5","decimals":18,"untilBlock":0,"intentId":"i1","state":"x","updatedAt":1}`)
	f.Add(`{ "token":"USDT","chainId":56,"amount":"-0","decimals":18,"untilBlock":0,"intentId":"i1","state":"x","updatedAt":1}`)
	f.Fuzz(func(t *testing.T, v string) {
		fast, fastOK := decodeFast(v, nil)
		slow, slowErr := decodeSlow(v)
		if fastOK {
			require.NoError(t, slowErr, "fast path accepted what encoding/json rejects: %s", v)
			require.Equal(t, slow, fast)
		}
		if l, err := DecodeLeg("i1:x", v); err == nil {
			require.NoError(t, l.Validate())
			again, err := EncodeLeg(l)
			require.NoError(t, err)
			back, err := DecodeLeg("i1:x", again)
			require.NoError(t, err)
			require.Equal(t, l, back)
		}
	})
}

func TestParseAmountEveryLength(t *testing.T) {
	t.Parallel()
	allocators := map[string]func() *amounts{
		"nil":     func() *amounts { return nil },
		"slab":    func() *amounts { return newAmounts(4) },
		"scratch": newScratchAmount,
	}
	for name, alloc := range allocators {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := alloc()
			for n := 1; n <= 80; n++ {
				for _, fill := range []byte{'9', '1', '7'} {
					d := []byte{fill}
					for len(d) < n {
						d = append(d, byte('0'+(len(d)*7+int(fill))%10))
					}
					for _, s := range []string{string(d), "-" + string(d)} {
						want, ok := new(big.Int).SetString(s, 10)
						require.True(t, ok)
						got, ok := a.parse(s)
						require.True(t, ok, s)
						require.Equal(t, 0, want.Cmp(got), "%s parsed as %s", s, got)
					}
				}
			}
			for _, bad := range []string{"", "-", "-0", "00", "01", "+1", "1.0", "1e3", " 1", "1_000", "٣"} {
				_, ok := a.parse(bad)
				require.False(t, ok, "%q", bad)
			}
		})
	}
}

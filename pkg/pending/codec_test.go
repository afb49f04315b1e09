package pending_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

func TestEncodeLegCanonicalForm(t *testing.T) {
	t.Parallel()
	l := pending.Leg{IntentID: "i-1", Name: "src", ChainID: 56, Token: "USDT", Amount: big.NewInt(-5),
		Decimals: 18, State: pending.StateRealized, UpdatedAt: time.UnixMilli(1764000000000)}
	v, err := pending.EncodeLeg(l)
	require.NoError(t, err)
	require.Equal(t, `{"chainId":56,"token":"USDT","amount":"-5","decimals":18,"untilBlock":0,"intentId":"i-1","state":"realized","updatedAt":1764000000000}`, v)
}

func TestDecodeLeg(t *testing.T) {
	t.Parallel()
	canonical := `{"chainId":56,"token":"USDT","amount":"-5","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1764000000000}`
	want := pending.Leg{IntentID: "i1", Name: "src", ChainID: 56, Token: "USDT", Amount: big.NewInt(-5),
		Decimals: 18, UntilBlock: 7, State: pending.StateSettled, UpdatedAt: time.UnixMilli(1764000000000).UTC()}
	ok := []struct{ name, value string }{
		{"canonical", canonical},
		{"other order and spaces", `{ "state":"settled", "intentId":"i1", "updatedAt":1764000000000, "untilBlock":7,
			"decimals":18, "amount":"-5", "token":"USDT", "chainId":56 }`},
		{"unknown key is ignored", `{"chainId":56,"token":"USDT","amount":"-5","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1764000000000,"note":"x"}`},
		{"escaped letters", `{"chainId":56,"token":"US\u0044T","amount":"-5","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1764000000000}`},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := pending.DecodeLeg("i1:src", tc.value)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	bad := []struct{ name, field, value string }{
		{"field without colon", "i1src", canonical},
		{"field of another intent", "i2:src", canonical},
		{"empty leg name", "i1:", canonical},
		{"not json", "i1:src", `nope`},
		{"amount as number", "i1:src", `{"chainId":56,"token":"USDT","amount":-5,"decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"amount with plus", "i1:src", `{"chainId":56,"token":"USDT","amount":"+5","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"amount minus zero", "i1:src", `{"chainId":56,"token":"USDT","amount":"-0","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"amount leading zero", "i1:src", `{"chainId":56,"token":"USDT","amount":"05","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"amount decimal point", "i1:src", `{"chainId":56,"token":"USDT","amount":"5.0","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"amount empty", "i1:src", `{"chainId":56,"token":"USDT","amount":"","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"missing untilBlock", "i1:src", `{"chainId":56,"token":"USDT","amount":"5","decimals":18,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"null untilBlock", "i1:src", `{"chainId":56,"token":"USDT","amount":"5","decimals":18,"untilBlock":null,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"untilBlock past 2^53-1", "i1:src", `{"chainId":56,"token":"USDT","amount":"5","decimals":18,"untilBlock":9007199254740992,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"untilBlock float", "i1:src", `{"chainId":56,"token":"USDT","amount":"5","decimals":18,"untilBlock":7.5,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"decimals 256", "i1:src", `{"chainId":56,"token":"USDT","amount":"5","decimals":256,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"chain 0", "i1:src", `{"chainId":0,"token":"USDT","amount":"5","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"empty token", "i1:src", `{"chainId":56,"token":"","amount":"5","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"token with space", "i1:src", `{"chainId":56,"token":"US DT","amount":"5","decimals":18,"untilBlock":7,"intentId":"i1","state":"settled","updatedAt":1}`},
		{"trailing garbage", "i1:src", canonical + "x"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := pending.DecodeLeg(tc.field, tc.value)
			require.ErrorIs(t, err, pending.ErrMalformed)
		})
	}
}

func TestNormalizeAccountAndKeys(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"checksummed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", true},
		{"upper 0X", "0X5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", true},
		{"lower", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", true},
		{"no prefix", "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00", "", false},
		{"short", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", "", false},
		{"not hex", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", "", false},
		{"brace", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea}{", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := pending.NormalizeAccount(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, pending.ErrInvalid)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			k, err := pending.LedgerKey(tc.in)
			require.NoError(t, err)
			require.Equal(t, "rebal:v1:{"+tc.want+"}:ledger", k)
			k, err = pending.IntentKey(tc.in, "abc")
			require.NoError(t, err)
			require.Equal(t, "rebal:v1:{"+tc.want+"}:intent:abc", k)
		})
	}
	_, err := pending.IntentKey("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "asof")
	require.ErrorIs(t, err, pending.ErrInvalid, "an intent named asof would collide with the asof fields")
	_, err = pending.IntentKey("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "a:b")
	require.ErrorIs(t, err, pending.ErrInvalid)
}

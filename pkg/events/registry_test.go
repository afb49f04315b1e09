package events

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDecodeRejects(t *testing.T) {
	raw, err := os.ReadFile(goldenPath("ledger_watermark"))
	require.NoError(t, err)

	_, err = Decode("no_such_type", 1, raw)
	require.ErrorIs(t, err, ErrUnknownType)
	_, err = Decode(TypeLedgerWatermark, 2, raw)
	require.ErrorIs(t, err, ErrUnknownType)
	_, err = Decode(TypeBalanceSnapshot, 1, raw)
	require.ErrorIs(t, err, ErrInvalid, "headers and body disagree on the type")
	_, err = Decode(TypeLedgerWatermark, 1, []byte(`{"type":`))
	require.ErrorIs(t, err, ErrInvalid)
	_, err = DecodeHeaders(func(string) string { return "" }, raw)
	require.ErrorIs(t, err, ErrInvalid)
	_, err = DecodeHeaders(func(k string) string {
		if k == HeaderType {
			return TypeLedgerWatermark
		}
		return "one"
	}, raw)
	require.ErrorIs(t, err, ErrInvalid)
}

func TestEncodeHeadersDecodeRoundTrip(t *testing.T) {
	for name, ev := range samples() {
		body, h, err := Encode(ev)
		require.NoError(t, err, name)
		got, err := DecodeHeaders(func(k string) string { return h[k] }, body)
		require.NoError(t, err, name)
		again, err := json.Marshal(got)
		require.NoError(t, err)
		require.JSONEq(t, string(body), string(again), name)
		require.Equal(t, ev.EventMeta().CausationID, h[HeaderCausation], name)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	wm := sample[LedgerWatermark](t, "ledger_watermark")
	wm.ChainID = 0
	_, _, err := Encode(wm)
	require.ErrorIs(t, err, ErrInvalid)
}

// TestUpgradeFromOlderVersion proves the registry's upgrade path with a made-up version 0 of the
// watermark whose chain field had another name: consumers receive the current struct.
func TestUpgradeFromOlderVersion(t *testing.T) {
	registry[TypeLedgerWatermark][0] = func(data []byte) (Event, error) {
		var old struct {
			Meta
			Account string `json:"account"`
			Chain   uint64 `json:"chain"`
			AsOf    uint64 `json:"asOf"`
		}
		if err := json.Unmarshal(data, &old); err != nil {
			return nil, err
		}
		return &LedgerWatermark{Meta: old.Meta, Account: old.Account, ChainID: old.Chain, AsOf: old.AsOf}, nil
	}
	t.Cleanup(func() { delete(registry[TypeLedgerWatermark], 0) })

	v0 := `{"type":"ledger_watermark","version":0,"id":"wm:x","producer":"executor","producedAt":"2026-01-01T00:00:00Z","account":"` + acct + `","chain":10,"asOf":7}`
	ev, err := Decode(TypeLedgerWatermark, 0, []byte(v0))
	require.NoError(t, err)
	wm := ev.(*LedgerWatermark)
	require.Equal(t, uint64(10), wm.ChainID)
	require.Equal(t, 1, wm.Version, "decoded events are at the current version")
}

func TestAmountParsing(t *testing.T) {
	good := []string{"0", "1", "-1", "1000000000000000000000000", "-98765432109876543210"}
	for _, s := range good {
		a, err := ParseAmount(s)
		require.NoError(t, err, s)
		require.Equal(t, s, a.String())
		var b Amount
		require.NoError(t, json.Unmarshal([]byte(`"`+s+`"`), &b))
		require.Equal(t, s, b.String())
	}
	bad := []string{"", "-", "-0", "01", "+1", "1.5", "1e6", " 1", "0x10", "１"}
	for _, s := range bad {
		_, err := ParseAmount(s)
		require.Error(t, err, "%q", s)
	}
	var a Amount
	require.Error(t, json.Unmarshal([]byte(`123`), &a), "a bare JSON number is refused")
	require.Error(t, json.Unmarshal([]byte(`"`+string(make([]byte, 0))+`"`), &a))
	long := make([]byte, maxAmountDigits+1)
	for i := range long {
		long[i] = '9'
	}
	_, err := ParseAmount(string(long))
	require.Error(t, err)

	// Amounts are immutable: mutating what Big returns changes nothing.
	x := MustAmount("5")
	x.Big().SetInt64(7)
	require.Equal(t, "5", x.String())
	require.Equal(t, "0", Amount{}.String())
}

func TestChecksumAddress(t *testing.T) {
	// The examples from EIP-55.
	for _, want := range []string{
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
		"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
	} {
		require.Equal(t, want, ChecksumAddress(want))
		require.Equal(t, want, ChecksumAddress("0x"+lower(want[2:])))
	}
	require.Equal(t, "", ChecksumAddress("0x123"))
	require.Equal(t, "", ChecksumAddress("0xZZeb6053F3E94C9b9A09f33669435E7Ef1BeAed"))
	require.True(t, errors.Is(validateAddress("a", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), ErrInvalid))
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

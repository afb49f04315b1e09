package venue

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		dec     uint8
		want    string
		wantErr bool
	}{
		{name: "integer", in: "12", dec: 6, want: "12000000"},
		{name: "fraction", in: "12.5", dec: 6, want: "12500000"},
		{name: "trailing zeros beyond decimals", in: "0.10000000", dec: 6, want: "100000"},
		{name: "18 decimals", in: "1.000000000000000001", dec: 18, want: "1000000000000000001"},
		{name: "too many digits", in: "0.0000001", dec: 6, wantErr: true},
		{name: "exponent refused", in: "1e6", dec: 6, wantErr: true},
		{name: "fraction refused", in: "1/3", dec: 6, wantErr: true},
		{name: "empty", in: "", dec: 6, wantErr: true},
		{name: "garbage", in: "abc", dec: 6, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAmount(tc.in, tc.dec)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrInvalidAmount)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, a.Units.String())
			require.Equal(t, tc.dec, a.Decimals)
		})
	}
}

func TestRoundingDirection(t *testing.T) {
	tests := []struct {
		name string
		in   string
		dec  uint8
		mode Rounding
		want string
	}{
		{name: "down positive", in: "1.2345679", dec: 6, mode: Down, want: "1234567"},
		{name: "up positive", in: "1.2345671", dec: 6, mode: Up, want: "1234568"},
		{name: "down negative goes away from zero", in: "-1.2345671", dec: 6, mode: Down, want: "-1234568"},
		{name: "up negative goes toward zero", in: "-1.2345679", dec: 6, mode: Up, want: "-1234567"},
		{name: "exact stays", in: "1.5", dec: 6, mode: Up, want: "1500000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAmountRounded(tc.in, tc.dec, tc.mode)
			require.NoError(t, err)
			require.Equal(t, tc.want, a.Units.String())
		})
	}
}

func TestRescaleAndString(t *testing.T) {
	bsc := Amount{Units: mustInt(t, "1234567890123456789"), Decimals: 18}
	require.Equal(t, "1.234567890123456789", bsc.String())
	require.Equal(t, "1234567", bsc.Rescale(6, Down).Units.String())
	require.Equal(t, "1234568", bsc.Rescale(6, Up).Units.String())
	require.Equal(t, "1234567000000000000", bsc.Rescale(6, Down).Rescale(18, Down).Units.String())
	require.Equal(t, 0, Amount{Units: big.NewInt(1_000_000), Decimals: 6}.Cmp(Amount{Units: mustInt(t, "1000000000000000000"), Decimals: 18}))
	require.Equal(t, "0", Zero(6).String())
	require.Equal(t, "0.000001", Amount{Units: big.NewInt(1), Decimals: 6}.String())
	require.Equal(t, "-2.5", Amount{Units: big.NewInt(-2_500_000), Decimals: 6}.String())
	require.Equal(t, "7", Amount{Units: big.NewInt(7), Decimals: 0}.String())
}

func TestQuoteCostRoundsUp(t *testing.T) {
	q := Quote{
		AmountIn: Amount{Units: big.NewInt(100_000_000), Decimals: 6},
		Out:      Amount{Units: mustInt(t, "99899999999999999999"), Decimals: 18},
	}
	// 100 − 99.899999999999999999 = 0.100000000000000001 → rounds up to 0.100001 in 6 decimals.
	require.Equal(t, "100001", q.Cost().Units.String())
}

func mustInt(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	require.True(t, ok)
	return v
}

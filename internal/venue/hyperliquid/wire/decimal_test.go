package wire

import (
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatDecimal(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		d    int
		want string
	}{{0, 8, "0"}, {1, 8, "0.00000001"}, {150000000, 8, "1.5"}, {1000000000, 8, "10"}, {12, 0, "12"}, {-5, 1, "-0.5"}} {
		require.Equal(t, tc.want, FormatDecimal(big.NewInt(tc.v), tc.d))
	}
}

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		name string
		s    string
		d    int
		want int64
		err  bool
	}{
		{"integer", "10", 6, 10000000, false},
		{"fraction", "1.5", 8, 150000000, false},
		{"trailing zeros beyond unit", "1.500000000", 6, 1500000, false},
		{"too precise", "1.23", 1, 0, true},
		{"negative", "-1", 6, 0, true},
		{"exponent", "1e3", 6, 0, true},
		{"empty", "", 6, 0, true},
		{"dot only", ".", 6, 0, true},
		{"leading dot", ".5", 6, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDecimal(tc.s, tc.d)
			if tc.err {
				require.ErrorIs(t, err, ErrBadDecimal)
				return
			}
			require.NoError(t, err)
			require.Equal(t, big.NewInt(tc.want), got)
		})
	}
}

func TestFormatPrice(t *testing.T) {
	r := func(s string) *big.Rat { v, _ := new(big.Rat).SetString(s); return v }
	tests := []struct {
		name string
		px   string
		szd  int
		up   bool
		want string
	}{
		{"five sig figs up", "0.999951", 2, true, "0.99996"},
		{"five sig figs down", "0.999959", 2, false, "0.99995"},
		{"exact", "1.0001", 2, false, "1.0001"},
		{"bounded by decimals", "0.000012345678", 2, false, "0.000012"},
		{"integer allowed beyond five figures", "123456.7", 2, false, "123456"},
		{"round up carries", "0.999999", 2, true, "1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FormatPrice(r(tc.px), tc.szd, tc.up)
			require.Equal(t, tc.want, got)
			require.True(t, ValidPrice(got, tc.szd), got)
		})
	}
	for _, bad := range []string{"1.00", "0.999951", "1.0000001", "abc", "0"} {
		require.False(t, ValidPrice(bad, 2), bad)
	}
}

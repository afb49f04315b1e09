package venue

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParseAmount: parsing never panics, and what parses formats back to the same value.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-2.25", "0.000001", "1e6", "", ".5", "5.", "1/3", " 7 ", "00012.3400"} {
		f.Add(s, uint8(6))
	}
	f.Fuzz(func(t *testing.T, s string, dec uint8) {
		dec %= 40
		a, err := ParseAmount(s, dec)
		if err != nil {
			return
		}
		back, err := ParseAmount(a.String(), dec)
		require.NoError(t, err)
		require.Equal(t, 0, a.Units.Cmp(back.Units), "%q → %s → %s", s, a, back)
	})
}

package config_test

import (
	"math/big"
	"testing"

	"github.com/rebalancer-dev/rebalancer/internal/config"
)

// FuzzParse: no input crashes the parser, and whatever it accepts validates and hashes stably.
func FuzzParse(f *testing.F) {
	f.Add(config.DevnetYAML())
	f.Add([]byte("network: x\n"))
	f.Add([]byte("planner: {feeBound: 0.5}\n"))
	f.Add([]byte("targets: [{token: USDC, chain: 1, target: \"1e9\"}]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := config.Parse(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted a config that does not validate: %v", err)
		}
		again, err := config.Parse(b)
		if err != nil {
			t.Fatalf("parsing the same bytes again failed: %v", err)
		}
		if again.Hash() != c.Hash() {
			t.Fatalf("hash not stable: %s vs %s", again.Hash(), c.Hash())
		}
	})
}

// FuzzDecimal: a parsed decimal converts exactly or reports too much precision, and the units
// scale back to the same value.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"0", "1.5", "50000", "0.000001", "123456789.123456789123", "00.10"} {
		f.Add(s, uint8(6))
	}
	f.Fuzz(func(t *testing.T, s string, dec uint8) {
		dec %= 37
		d, err := config.ParseDecimal(s)
		if err != nil {
			return
		}
		u, err := d.Units(dec)
		if err != nil {
			return
		}
		back := new(big.Rat).SetFrac(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(dec)), nil))
		if back.Cmp(d.Rat()) != 0 {
			t.Fatalf("%s with %d decimals: %s base units is %s", s, dec, u, back.RatString())
		}
	})
}

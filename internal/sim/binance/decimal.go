package simbinance

import (
	"math/big"
	"strings"
)

// Balances and prices are exact rationals; the wire carries plain decimal strings.

// parseDec parses a plain decimal string; exponents and fractions are refused.
func parseDec(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "eE/+") {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

func mustDec(s string) *big.Rat {
	if s == "" {
		return new(big.Rat)
	}
	r, ok := parseDec(s)
	if !ok {
		panic("simbinance: bad decimal in config: " + s)
	}
	return r
}

// fmtDec formats r with exactly places decimals, truncating toward zero (Binance shows 8).
func fmtDec(r *big.Rat, places int) string {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	n := new(big.Int).Mul(r.Num(), scale)
	n.Quo(n, r.Denom())
	neg := n.Sign() < 0
	s := n.Abs(n).String()
	if len(s) <= places {
		s = strings.Repeat("0", places-len(s)+1) + s
	}
	out := s[:len(s)-places]
	if places > 0 {
		out += "." + s[len(s)-places:]
	}
	if neg {
		out = "-" + out
	}
	return out
}

// truncDec truncates r toward zero to places decimals.
func truncDec(r *big.Rat, places int) *big.Rat {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	n := new(big.Int).Mul(r.Num(), scale)
	n.Quo(n, r.Denom())
	return new(big.Rat).SetFrac(n, scale)
}

// ceilDec rounds r up (away from zero for positives) to places decimals.
func ceilDec(r *big.Rat, places int) *big.Rat {
	t := truncDec(r, places)
	if t.Cmp(r) < 0 {
		t.Add(t, new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)))
	}
	return t
}

// isMultiple reports whether r is an integer multiple of step (a zero step accepts anything).
func isMultiple(r, step *big.Rat) bool {
	if step.Sign() == 0 {
		return true
	}
	q := new(big.Rat).Quo(r, step)
	return q.IsInt()
}

// floorTo rounds r down to a multiple of step.
func floorTo(r, step *big.Rat) *big.Rat {
	if step.Sign() == 0 {
		return new(big.Rat).Set(r)
	}
	q := new(big.Rat).Quo(r, step)
	n := new(big.Int).Quo(q.Num(), q.Denom())
	return new(big.Rat).Mul(new(big.Rat).SetInt(n), step)
}

// toUnits converts r tokens to base units with decimals, truncating.
func toUnits(r *big.Rat, decimals uint8) *big.Int {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	n := new(big.Int).Mul(r.Num(), scale)
	return n.Quo(n, r.Denom())
}

// fromUnits converts base units to tokens.
func fromUnits(u *big.Int, decimals uint8) *big.Rat {
	return new(big.Rat).SetFrac(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil))
}

func ratMin(a, b *big.Rat) *big.Rat {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

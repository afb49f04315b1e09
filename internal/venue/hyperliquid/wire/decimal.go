package wire

import (
	"fmt"
	"math/big"
	"strings"
)

// FormatDecimal writes v base units with the given decimals as the venue's decimal string: no
// exponent, no trailing zeros, no trailing point ("1.5", "10", "0.0001").
func FormatDecimal(v *big.Int, decimals int) string {
	neg := v.Sign() < 0
	s := new(big.Int).Abs(v).String()
	if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		s = s[:len(s)-decimals] + "." + s[len(s)-decimals:]
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if neg && s != "0" {
		s = "-" + s
	}
	return s
}

// ParseDecimal reads a non-negative decimal string into base units with the given decimals. Digits
// beyond the unit must be zeros: "1.23" with 1 decimal is ErrBadDecimal, never rounded.
func ParseDecimal(s string, decimals int) (*big.Int, error) {
	r, err := ParseRat(s)
	if err != nil {
		return nil, err
	}
	if r.Sign() < 0 {
		return nil, fmt.Errorf("%w: negative %q", ErrBadDecimal, s)
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(decimals)))
	if !scaled.IsInt() {
		return nil, fmt.Errorf("%w: %q has more than %d decimals", ErrBadDecimal, s, decimals)
	}
	return new(big.Int).Set(scaled.Num()), nil
}

// ParseRat reads a plain decimal string ("-1.25", "3", "0.001") exactly; exponents, hex and
// fractions are rejected.
func ParseRat(s string) (*big.Rat, error) {
	body := strings.TrimPrefix(s, "-")
	if body == "" || strings.Count(body, ".") > 1 || strings.HasPrefix(body, ".") || strings.HasSuffix(body, ".") {
		return nil, fmt.Errorf("%w: %q", ErrBadDecimal, s)
	}
	for _, c := range body {
		if c != '.' && (c < '0' || c > '9') {
			return nil, fmt.Errorf("%w: %q", ErrBadDecimal, s)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrBadDecimal, s)
	}
	return r, nil
}

// FormatRat writes r with at most maxDecimals decimals, rounding up when up is set and down
// otherwise, in the venue's canonical form (no trailing zeros).
func FormatRat(r *big.Rat, maxDecimals int, up bool) string {
	return FormatDecimal(scaleRound(r, maxDecimals, up), maxDecimals)
}

// PriceDecimals is the venue's bound on a spot price's decimals: 8 − szDecimals of the base token.
func PriceDecimals(szDecimals int) int { return 8 - szDecimals }

// FormatPrice rounds a price to the venue's tick rules for a spot asset whose base token has
// szDecimals: at most 5 significant figures (integers are always allowed) and at most
// 8 − szDecimals decimals. up rounds toward a higher price (a buyer's bound), otherwise lower.
func FormatPrice(px *big.Rat, szDecimals int, up bool) string {
	for d := PriceDecimals(szDecimals); d > 0; d-- {
		n := scaleRound(px, d, up)
		if sigFigs(n) <= 5 {
			return FormatDecimal(n, d)
		}
	}
	return FormatDecimal(scaleRound(px, 0, up), 0)
}

// ValidPrice reports whether s is a canonical price string that obeys the tick rules of FormatPrice.
func ValidPrice(s string, szDecimals int) bool {
	r, err := ParseRat(s)
	if err != nil || r.Sign() <= 0 {
		return false
	}
	d := PriceDecimals(szDecimals)
	n, err := ParseDecimal(s, d)
	if err != nil {
		return false
	}
	if FormatDecimal(n, d) != s {
		return false // not canonical: trailing zeros or a leading '+'
	}
	return r.IsInt() || sigFigs(n) <= 5
}

func sigFigs(n *big.Int) int {
	s := strings.TrimRight(new(big.Int).Abs(n).String(), "0")
	return len(s)
}

func scaleRound(r *big.Rat, decimals int, up bool) *big.Int {
	num := new(big.Int).Mul(r.Num(), pow10(decimals))
	q, m := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if m.Sign() != 0 && up && r.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

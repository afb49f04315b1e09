package venue

import (
	"fmt"
	"math/big"
	"strings"
)

// Amount is a quantity of a token in base units with its decimals: Units / 10^Decimals tokens.
type Amount struct {
	Units    *big.Int
	Decimals uint8
}

// Rounding is the direction a conversion rounds when it loses digits.
type Rounding int

// Round against yourself: Down for what you receive or size, Up for what you pay.
const (
	Down Rounding = iota
	Up
)

// NewAmount returns an Amount holding a copy of units.
func NewAmount(units *big.Int, decimals uint8) Amount {
	if units == nil {
		return Amount{Units: new(big.Int), Decimals: decimals}
	}
	return Amount{Units: new(big.Int).Set(units), Decimals: decimals}
}

// Zero returns a zero amount with the given decimals.
func Zero(decimals uint8) Amount { return Amount{Units: new(big.Int), Decimals: decimals} }

// ParseAmount parses a plain decimal string ("12.5", "0.00010000") into base units with the given
// decimals. It fails when the string has more significant fractional digits than decimals allow.
func ParseAmount(s string, decimals uint8) (Amount, error) {
	r, err := parseRat(s)
	if err != nil {
		return Amount{}, err
	}
	a, exact := FromRat(r, decimals, Down)
	if !exact {
		return Amount{}, fmt.Errorf("%w: %q has more than %d decimals", ErrInvalidAmount, s, decimals)
	}
	return a, nil
}

// ParseAmountRounded parses a decimal string like ParseAmount but rounds extra digits in the given
// direction instead of failing.
func ParseAmountRounded(s string, decimals uint8, mode Rounding) (Amount, error) {
	r, err := parseRat(s)
	if err != nil {
		return Amount{}, err
	}
	a, _ := FromRat(r, decimals, mode)
	return a, nil
}

func parseRat(s string) (*big.Rat, error) {
	t := strings.TrimSpace(s)
	if t == "" || strings.ContainsAny(t, "eE/") {
		return nil, fmt.Errorf("%w: %q is not a plain decimal", ErrInvalidAmount, s)
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a decimal", ErrInvalidAmount, s)
	}
	return r, nil
}

// FromRat converts an exact rational number of tokens to base units, rounding in the given
// direction; exact reports whether no digits were lost.
func FromRat(r *big.Rat, decimals uint8, mode Rounding) (a Amount, exact bool) {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(decimals)))
	q, m := new(big.Int).QuoRem(scaled.Num(), scaled.Denom(), new(big.Int))
	// QuoRem truncates toward zero; adjust toward the requested direction.
	if m.Sign() != 0 {
		if mode == Up && scaled.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
		if mode == Down && scaled.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		}
	}
	return Amount{Units: q, Decimals: decimals}, m.Sign() == 0
}

// Rat returns the amount in tokens as an exact rational.
func (a Amount) Rat() *big.Rat {
	if a.Units == nil {
		return new(big.Rat)
	}
	return new(big.Rat).SetFrac(a.Units, pow10(a.Decimals))
}

// Rescale converts a to another number of decimals, rounding in the given direction when digits are
// lost.
func (a Amount) Rescale(decimals uint8, mode Rounding) Amount {
	out, _ := FromRat(a.Rat(), decimals, mode)
	return out
}

// Sign returns -1, 0 or +1; a nil amount is zero.
func (a Amount) Sign() int {
	if a.Units == nil {
		return 0
	}
	return a.Units.Sign()
}

// Cmp compares two amounts by value, whatever their decimals.
func (a Amount) Cmp(b Amount) int { return a.Rat().Cmp(b.Rat()) }

// String formats the amount as a plain decimal with trailing fractional zeros removed ("12.5", "0").
func (a Amount) String() string {
	if a.Units == nil {
		return "0"
	}
	s := new(big.Int).Abs(a.Units).String()
	d := int(a.Decimals)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	intPart, frac := s[:len(s)-d], strings.TrimRight(s[len(s)-d:], "0")
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if a.Units.Sign() < 0 {
		out = "-" + out
	}
	return out
}

var tens = func() []*big.Int {
	t := make([]*big.Int, 78)
	for i := range t {
		t[i] = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(i)), nil)
	}
	return t
}()

func pow10(d uint8) *big.Int {
	if int(d) < len(tens) {
		return tens[d]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil)
}

// FromRatUp converts r tokens to base units rounding up.
func FromRatUp(r *big.Rat, decimals uint8) Amount {
	a, _ := FromRat(r, decimals, Up)
	return a
}

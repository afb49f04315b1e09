package events

import (
	"bytes"
	"fmt"
	"math/big"
)

// maxAmountDigits bounds the decimal digits of an amount: a uint256 has 78, so nothing real is
// longer, and a hostile 1 MB number never reaches big.Int parsing.
const maxAmountDigits = 80

// Amount is a signed integer amount in a token's base units. Its JSON form is a decimal string
// ("-1500000"), canonical: no sign on zero, no leading zeros, no plus sign. The zero value is 0.
// An Amount is immutable: constructors and Big copy.
type Amount struct{ v *big.Int }

// NewAmount returns an Amount holding a copy of x (nil means 0).
func NewAmount(x *big.Int) Amount {
	if x == nil {
		return Amount{}
	}
	return Amount{v: new(big.Int).Set(x)}
}

// AmountFromInt64 is a convenience for tests and constants.
func AmountFromInt64(x int64) Amount { return Amount{v: big.NewInt(x)} }

// ParseAmount parses a canonical decimal string.
func ParseAmount(s string) (Amount, error) {
	var a Amount
	if err := a.parse([]byte(s)); err != nil {
		return Amount{}, err
	}
	return a, nil
}

// MustAmount parses s and panics if it is not a canonical decimal; for tests and constants.
func MustAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// Big returns a copy of the amount as a *big.Int.
func (a Amount) Big() *big.Int {
	if a.v == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(a.v)
}

// Sign is -1, 0 or +1.
func (a Amount) Sign() int {
	if a.v == nil {
		return 0
	}
	return a.v.Sign()
}

// Cmp compares two amounts of the same token and decimals.
func (a Amount) Cmp(b Amount) int { return a.Big().Cmp(b.Big()) }

// String is the canonical decimal form.
func (a Amount) String() string {
	if a.v == nil {
		return "0"
	}
	return a.v.String()
}

// MarshalJSON writes the amount as a JSON string.
func (a Amount) MarshalJSON() ([]byte, error) {
	return []byte(`"` + a.String() + `"`), nil
}

// UnmarshalJSON accepts only a JSON string holding a canonical decimal integer: a bare JSON number
// is refused because it invites float parsing by other languages' readers.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("amount must be a decimal string, got %.40s", b)
	}
	return a.parse(b[1 : len(b)-1])
}

func (a *Amount) parse(s []byte) error {
	digits := s
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	switch {
	case len(digits) == 0:
		return fmt.Errorf("amount %q is not a decimal integer", s)
	case len(digits) > maxAmountDigits:
		return fmt.Errorf("amount has %d digits, more than %d", len(digits), maxAmountDigits)
	case len(digits) > 1 && digits[0] == '0':
		return fmt.Errorf("amount %q has leading zeros", s)
	case len(s) > len(digits) && bytes.Equal(digits, []byte("0")):
		return fmt.Errorf("amount %q: negative zero", s)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return fmt.Errorf("amount %q is not a decimal integer", s)
		}
	}
	v, ok := new(big.Int).SetString(string(s), 10)
	if !ok {
		return fmt.Errorf("amount %q is not a decimal integer", s)
	}
	a.v = v
	return nil
}

// maxDecimals bounds token decimals; ERC20 uses uint8, and nothing sane exceeds 36.
const maxDecimals = 36

func validateDecimals(field string, d uint8) error {
	if d > maxDecimals {
		return fieldErr(field, "%d decimals is more than %d", d, maxDecimals)
	}
	return nil
}

func validateNonNegative(field string, a Amount) error {
	if a.Sign() < 0 {
		return fieldErr(field, "amount %s is negative", a)
	}
	return nil
}

func validatePositive(field string, a Amount) error {
	if a.Sign() <= 0 {
		return fieldErr(field, "amount %s must be positive", a)
	}
	return nil
}

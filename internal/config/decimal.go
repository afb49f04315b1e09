package config

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxDecimalLen bounds a decimal string, so a hostile file never reaches big.Rat with a huge number.
const maxDecimalLen = 60

// Decimal is a non-negative human decimal ("50000", "1.5") held exactly. Its YAML form must be a
// string or a plain integer: "1.5" written as a YAML float is refused, because a float in the file
// invites the binary rounding this type exists to avoid.
type Decimal struct {
	raw string
	r   *big.Rat
}

// ParseDecimal reads a plain decimal: digits, at most one '.', no sign, no exponent.
func ParseDecimal(s string) (Decimal, error) {
	if s == "" {
		return Decimal{}, fmt.Errorf("empty decimal")
	}
	if len(s) > maxDecimalLen {
		return Decimal{}, fmt.Errorf("decimal %.20q… longer than %d characters", s, maxDecimalLen)
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") {
		return Decimal{}, fmt.Errorf("%q is not a plain decimal like 1.5", s)
	}
	for _, c := range intPart + frac {
		if c < '0' || c > '9' {
			return Decimal{}, fmt.Errorf("%q is not a plain decimal like 1.5 (digits and one '.', no sign or exponent)", s)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return Decimal{}, fmt.Errorf("%q is not a decimal", s)
	}
	return Decimal{raw: s, r: r}, nil
}

// MustDecimal parses s or panics; for tests and constants.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports whether the decimal was not set (or is 0).
func (d Decimal) IsZero() bool { return d.r == nil || d.r.Sign() == 0 }

// Set reports whether the field was present in the file.
func (d Decimal) Set() bool { return d.r != nil }

// Rat returns a copy of the value (0 when unset).
func (d Decimal) Rat() *big.Rat {
	if d.r == nil {
		return new(big.Rat)
	}
	return new(big.Rat).Set(d.r)
}

// String is the decimal as written.
func (d Decimal) String() string {
	if d.r == nil {
		return ""
	}
	return d.raw
}

// Units converts the decimal to base units of a token with the given decimals, exactly: a value
// with more fractional digits than the token has is an error.
func (d Decimal) Units(decimals uint8) (*big.Int, error) {
	if d.r == nil {
		return new(big.Int), nil
	}
	scaled := new(big.Rat).Mul(d.r, new(big.Rat).SetInt(pow10(decimals)))
	if !scaled.IsInt() {
		return nil, fmt.Errorf("%s has more precision than the token's %d decimals", d.raw, decimals)
	}
	return new(big.Int).Set(scaled.Num()), nil
}

// UnmarshalYAML accepts a string or an integer scalar.
func (d *Decimal) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!int") {
		return fmt.Errorf("line %d: want a decimal string like \"1.5\", got %s", n.Line, describe(n))
	}
	v, err := ParseDecimal(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalYAML writes the decimal as a string.
func (d Decimal) MarshalYAML() (any, error) { return d.String(), nil }

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%s %q", strings.TrimPrefix(n.Tag, "!!"), n.Value)
	}
	return "a " + map[yaml.Kind]string{yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}[n.Kind]
}

var pow10cache = func() [256]*big.Int {
	var t [256]*big.Int
	x := big.NewInt(1)
	for i := range t {
		t[i] = new(big.Int).Set(x)
		x.Mul(x, big.NewInt(10))
	}
	return t
}()

// pow10 returns 10^n; the result is shared and must not be modified.
func pow10(n uint8) *big.Int { return pow10cache[n] }

// Duration is a time.Duration written as Go duration text ("30s", "10m").
type Duration struct{ time.Duration }

// UnmarshalYAML parses Go duration text.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return fmt.Errorf("line %d: want a duration like \"30s\", got %s", n.Line, describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes Go duration text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

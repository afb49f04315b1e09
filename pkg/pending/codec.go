package pending

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// appendLegValue appends the leg's JSON value in the canonical form the writer stores:
//
//	{"chainId":56,"token":"USDT","amount":"-5","decimals":18,"untilBlock":0,"intentId":"i1","state":"realized","updatedAt":1764000000000}
//
// Validate must have accepted the leg: names then need no JSON escaping.
func appendLegValue(b []byte, l Leg) []byte {
	b = append(b, `{"chainId":`...)
	b = strconv.AppendUint(b, l.ChainID, 10)
	b = append(b, `,"token":"`...)
	b = append(b, l.Token...)
	b = append(b, `","amount":"`...)
	b = l.Amount.Append(b, 10)
	b = append(b, `","decimals":`...)
	b = strconv.AppendUint(b, uint64(l.Decimals), 10)
	b = append(b, `,"untilBlock":`...)
	b = strconv.AppendUint(b, l.UntilBlock, 10)
	b = append(b, `,"intentId":"`...)
	b = append(b, l.IntentID...)
	b = append(b, `","state":"`...)
	b = append(b, l.State...)
	b = append(b, `","updatedAt":`...)
	b = strconv.AppendInt(b, l.UpdatedAt.UnixMilli(), 10)
	return append(b, '}')
}

// EncodeLeg returns the JSON value the writer stores for the leg.
func EncodeLeg(l Leg) (string, error) {
	if err := l.Validate(); err != nil {
		return "", err
	}
	return string(appendLegValue(make([]byte, 0, 160), l)), nil
}

// DecodeLeg parses a ledger field (<intent id>:<leg name>) and its JSON value. The canonical form
// the writer produces takes a fast path that allocates only the amount; any other valid JSON
// object (keys in another order, spaces, unknown keys) takes the slow path through encoding/json.
// Both apply the same checks, so they accept and reject the same values.
func DecodeLeg(field, value string) (Leg, error) {
	return decodeLeg(field, value, nil)
}

// decodeLeg returns the leg by value: Parse keeps it in a local variable, and storing a decoded
// leg's strings through a pointer would cost a GC write barrier each.
func decodeLeg(field, value string, a *amounts) (Leg, error) {
	l, err := decodeValue(value, a)
	if err != nil {
		return Leg{}, fmt.Errorf("%w: field %q: %w", ErrMalformed, field, err)
	}
	return withField(field, l)
}

// decodeValue decodes and checks a leg's JSON value; Name is left empty (it is in the field).
func decodeValue(value string, a *amounts) (Leg, error) {
	l, fast := decodeFast(value, a)
	if fast && l.ChainID != 0 {
		return l, nil // the fast path has checked everything else as validateValue would
	}
	if !fast {
		var err error
		if l, err = decodeSlow(value); err != nil {
			return Leg{}, err
		}
	}
	if err := l.validateValue(); err != nil {
		return Leg{}, err
	}
	return l, nil
}

// withField sets the leg's Name from its field, <intent id>:<leg name>, and checks that the
// field's intent is the value's.
func withField(field string, l Leg) (Leg, error) {
	i := strings.IndexByte(field, ':')
	if i < 0 {
		return Leg{}, fmt.Errorf("%w: field %q is neither asof:<chain> nor <intent>:<leg>", ErrMalformed, field)
	}
	if field[:i] != l.IntentID {
		return Leg{}, fmt.Errorf("%w: field %q holds intent %q", ErrMalformed, field, l.IntentID)
	}
	l.Name = field[i+1:]
	if l.Name == "" || len(l.Name) > maxNameLen || !validName(l.Name) {
		return Leg{}, fmt.Errorf("%w: field %q: leg name %q: want 1 to %d of A-Z a-z 0-9 . _ -", ErrMalformed, field, l.Name, maxNameLen)
	}
	return l, nil
}

type cursor struct {
	s  string
	i  int
	ok bool
}

// lit consumes the literal the caller compared: callers write the comparison with a constant
// string of at most 16 bytes, which the compiler turns into a couple of word compares.
func (c *cursor) lit(equal bool, n int) {
	if c.ok && equal {
		c.i += n
		return
	}
	c.ok = false
}

// next returns the next n bytes, or fewer at the end of the input.
func (c *cursor) next(n int) string { return c.s[c.i:min(c.i+n, len(c.s))] }

// num reads a JSON non-negative integer no larger than MaxSafeInteger.
func (c *cursor) num() uint64 {
	if !c.ok {
		return 0
	}
	j := c.i
	var n uint64
	for j < len(c.s) && c.s[j] >= '0' && c.s[j] <= '9' && j-c.i < 16 {
		n = n*10 + uint64(c.s[j]-'0')
		j++
	}
	if j == c.i || (c.s[c.i] == '0' && j-c.i > 1) || n > MaxSafeInteger || (j < len(c.s) && c.s[j] >= '0' && c.s[j] <= '9') {
		c.ok = false
		return 0
	}
	c.i = j
	return n
}

// name reads the rest of a JSON string whose opening quote was consumed, and its closing quote,
// when it is 1 to maxNameLen name characters (A-Z a-z 0-9 . _ -). Anything else (escapes,
// non-ASCII, other characters) sends the value to the slow path, which decides.
func (c *cursor) name() string {
	if !c.ok {
		return ""
	}
	for j := c.i; j < len(c.s); j++ {
		ch := c.s[j]
		if nameChar[ch] {
			continue
		}
		if ch == '"' && j > c.i && j-c.i <= maxNameLen {
			v := c.s[c.i:j]
			c.i = j + 1
			return v
		}
		break
	}
	c.ok = false
	return ""
}

// amount reads the rest of a JSON string holding a canonical signed integer, -?(0|[1-9][0-9]*)
// but not "-0", and its closing quote.
func (c *cursor) amount() string {
	if !c.ok {
		return ""
	}
	j := c.i
	if j < len(c.s) && c.s[j] == '-' {
		j++
	}
	k := j
	for k < len(c.s) && c.s[k] >= '0' && c.s[k] <= '9' {
		k++
	}
	if k == j || k == len(c.s) || c.s[k] != '"' || (c.s[j] == '0' && (k-j > 1 || j > c.i)) {
		c.ok = false
		return ""
	}
	v := c.s[c.i:k]
	c.i = k + 1
	return v
}

// decodeFast decodes the canonical form and reports whether it could.
func decodeFast(v string, a *amounts) (l Leg, ok bool) {
	c := cursor{s: v, ok: true}
	c.lit(c.next(11) == `{"chainId":`, 11)
	l.ChainID = c.num()
	c.lit(c.next(10) == `,"token":"`, 10)
	l.Token = c.name()
	c.lit(c.next(11) == `,"amount":"`, 11)
	amount := c.amount()
	c.lit(c.next(12) == `,"decimals":`, 12)
	dec := c.num()
	c.lit(c.next(14) == `,"untilBlock":`, 14)
	l.UntilBlock = c.num()
	c.lit(c.next(13) == `,"intentId":"`, 13)
	l.IntentID = c.name()
	c.lit(c.next(10) == `,"state":"`, 10)
	l.State = c.name()
	c.lit(c.next(13) == `,"updatedAt":`, 13)
	ms := c.num()
	c.lit(c.next(1) == `}`, 1)
	if !c.ok || c.i != len(v) || dec > 255 {
		return Leg{}, false
	}
	l.Decimals = uint8(dec)
	l.UpdatedAt = time.UnixMilli(int64(ms)).UTC()
	l.Amount = a.parseChecked(amount)
	return l, true
}

func decodeSlow(v string) (Leg, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return Leg{}, fmt.Errorf("value is not a JSON object: %w", err)
	}
	var l Leg
	var amount string
	var dec, ms uint64
	for _, f := range []struct {
		key string
		dst any
	}{
		{"chainId", &l.ChainID}, {"token", &l.Token}, {"amount", &amount}, {"decimals", &dec},
		{"untilBlock", &l.UntilBlock}, {"intentId", &l.IntentID}, {"state", &l.State}, {"updatedAt", &ms},
	} {
		raw, ok := m[f.key]
		if !ok || string(raw) == "null" {
			return Leg{}, fmt.Errorf("missing %q", f.key)
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return Leg{}, fmt.Errorf("%q: %w", f.key, err)
		}
	}
	if dec > 255 {
		return Leg{}, fmt.Errorf("decimals %d out of range", dec)
	}
	if ms > MaxSafeInteger || l.ChainID > MaxSafeInteger || l.UntilBlock > MaxSafeInteger {
		return Leg{}, fmt.Errorf("integer past 2^53-1")
	}
	l.Decimals = uint8(dec)
	l.UpdatedAt = time.UnixMilli(int64(ms)).UTC()
	var ok bool
	if l.Amount, ok = (*amounts)(nil).parse(amount); !ok {
		return Leg{}, fmt.Errorf("amount %q is not a canonical signed decimal integer", amount)
	}
	return l, nil
}

// amounts hands out big.Ints for decoded amounts from slabs, so that decoding a whole ledger makes
// a few allocations instead of two per leg. A nil *amounts allocates each Int on its own. Every Int
// gets a words slice whose capacity is its length, so arithmetic on one never writes into another.
type amounts struct {
	ints  []big.Int
	words []big.Word
	// scratch makes every parse return the same Int over the same words, for callers that only
	// add the amount somewhere else.
	scratch    bool
	scratchInt big.Int
}

func newAmounts(n int) *amounts {
	return &amounts{ints: make([]big.Int, 0, n), words: make([]big.Word, 0, 2*n)}
}

func newScratchAmount() *amounts { return &amounts{scratch: true, words: make([]big.Word, 0, 4)} }

func (a *amounts) newInt() *big.Int {
	switch {
	case a == nil || (!a.scratch && len(a.ints) == cap(a.ints)):
		return new(big.Int)
	case a.scratch:
		return &a.scratchInt
	}
	a.ints = a.ints[:len(a.ints)+1]
	return &a.ints[len(a.ints)-1]
}

func (a *amounts) newWords(n int) []big.Word {
	switch {
	case a == nil:
		return make([]big.Word, n)
	case a.scratch:
		if cap(a.words) < n {
			a.words = make([]big.Word, n)
		}
		return a.words[:n]
	case cap(a.words)-len(a.words) < n:
		return make([]big.Word, n)
	}
	w := a.words[len(a.words) : len(a.words)+n : len(a.words)+n]
	a.words = a.words[:len(a.words)+n]
	return w
}

// digits returns the value of up to 19 decimal digits, already checked.
func digits(d string) uint64 {
	var n uint64
	for i := 0; i < len(d); i++ {
		n = n*10 + uint64(d[i]-'0')
	}
	return n
}

// pow10 holds 10^0 … 10^19.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// parse accepts -?(0|[1-9][0-9]*), except "-0", and returns the amount.
func (a *amounts) parse(s string) (*big.Int, bool) {
	d := s
	neg := false
	if len(d) > 0 && d[0] == '-' {
		neg = true
		d = d[1:]
	}
	if len(d) == 0 || (d[0] == '0' && (len(d) > 1 || neg)) {
		return nil, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return nil, false
		}
	}
	return a.parseChecked(s), true
}

// parseChecked converts an amount parse has accepted (or cursor.amount has read).
func (a *amounts) parseChecked(s string) *big.Int {
	d := s
	neg := d[0] == '-'
	if neg {
		d = d[1:]
	}
	x := a.newInt()
	switch {
	case bits.UintSize != 64:
		x.SetString(d, 10)
	case len(d) <= 19:
		w := a.newWords(1)
		w[0] = big.Word(digits(d))
		x.SetBits(w)
	case len(d) <= 38: // hi·10^19 + lo, at most 2^127: two words
		hi, lo := bits.Mul64(digits(d[:len(d)-19]), pow10[19])
		var c uint64
		lo, c = bits.Add64(lo, digits(d[len(d)-19:]), 0)
		w := a.newWords(2)
		w[0], w[1] = big.Word(lo), big.Word(hi+c)
		x.SetBits(w)
	default:
		// Base 10^19 chunks into 64-bit words: words = words·10^n + chunk.
		ws := make([]uint64, 0, len(d)/19+1)
		for i := 0; i < len(d); {
			n := min(19, len(d)-i)
			carry := digits(d[i : i+n])
			for j := range ws {
				hi, lo := bits.Mul64(ws[j], pow10[n])
				var c uint64
				lo, c = bits.Add64(lo, carry, 0)
				ws[j], carry = lo, hi+c
			}
			if carry != 0 {
				ws = append(ws, carry)
			}
			i += n
		}
		w := a.newWords(len(ws))
		for i, v := range ws {
			w[i] = big.Word(v)
		}
		x.SetBits(w)
	}
	if neg {
		x.Neg(x)
	}
	return x
}

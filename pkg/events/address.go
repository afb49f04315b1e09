package events

import (
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
)

// ChecksumAddress returns the EIP-55 form of a 20-byte hex address ("0x" + 40 hex digits in any
// case), or "" if s is not one.
func ChecksumAddress(s string) string {
	if len(s) != 42 || (s[:2] != "0x" && s[:2] != "0X") {
		return ""
	}
	lower := strings.ToLower(s[2:])
	if _, err := hex.DecodeString(lower); err != nil {
		return ""
	}
	h := keccak256([]byte(lower))
	out := []byte("0x" + lower)
	for i := 0; i < 40; i++ {
		c := out[2+i]
		if c < 'a' {
			continue
		}
		nibble := h[i/2]
		if i%2 == 0 {
			nibble >>= 4
		}
		if nibble&0x0f >= 8 {
			out[2+i] = c - 32
		}
	}
	return string(out)
}

// checked remembers addresses already found to be in EIP-55 form. A deployment sees a handful of
// accounts and token contracts, and hashing each on every decode was the largest cost of a replay;
// the cache stops growing at checkedMax so hostile input cannot grow it without bound.
var (
	checked      sync.Map
	checkedCount atomic.Int64
)

const checkedMax = 1 << 14

// validateAddress requires the exact EIP-55 form, so that one account never appears under two
// spellings (in subjects, message ids and ledger keys).
func validateAddress(field, s string) error {
	if s == "" {
		return fieldErr(field, "missing address")
	}
	if _, ok := checked.Load(s); ok {
		return nil
	}
	cs := ChecksumAddress(s)
	if cs == "" {
		return fieldErr(field, "%q is not a 0x-prefixed 20-byte hex address", s)
	}
	if cs != s {
		return fieldErr(field, "%q is not EIP-55 checksummed (want %s)", s, cs)
	}
	if checkedCount.Load() < checkedMax {
		if _, loaded := checked.LoadOrStore(s, struct{}{}); !loaded {
			checkedCount.Add(1)
		}
	}
	return nil
}

package pending

import (
	"fmt"
	"strconv"
)

// Key layout, version 1. Everything an account owns shares the hash tag {<account>} so that it lives
// in one Redis Cluster slot and one Lua script may touch all of it.
const (
	keyPrefix     = "rebal:v1:{"
	ledgerSuffix  = "}:ledger"
	intentSuffix  = "}:intent:"
	rewindsSuffix = "}:rewinds"
	asOfPrefix    = "asof:"
	maxNameLen    = 128
	maxLegsPerSet = 64
)

// MaxSafeInteger is the largest chain id, block number or timestamp the ledger stores: 2^53-1, the
// largest integer a JavaScript number (the TypeScript reader's JSON.parse) holds exactly.
const MaxSafeInteger = 1<<53 - 1

// NormalizeAccount returns the account as it appears in keys: "0x" and 40 lowercase hex digits. It
// accepts any letter case (EIP-55 checksummed or not) and does not verify the checksum; callers
// that take addresses from people should.
func NormalizeAccount(account string) (string, error) {
	if len(account) != 42 || account[0] != '0' || (account[1] != 'x' && account[1] != 'X') {
		return "", fmt.Errorf("%w: account %q is not a 0x-prefixed 20-byte hex address", ErrInvalid, account)
	}
	b := []byte(account)
	b[1] = 'x'
	for i := 2; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", fmt.Errorf("%w: account %q is not a 0x-prefixed 20-byte hex address", ErrInvalid, account)
		}
	}
	return string(b), nil
}

// LedgerKey returns the Redis key of the account's ledger hash: rebal:v1:{<account>}:ledger, the
// account lowercased.
func LedgerKey(account string) (string, error) {
	a, err := NormalizeAccount(account)
	if err != nil {
		return "", err
	}
	return keyPrefix + a + ledgerSuffix, nil
}

// RewindsKey returns the Redis key of the account's rewind counts: rebal:v1:{<account>}:rewinds, a
// hash of chain id → how many times the chain's asOf was rewound. Readers do not need it: it
// lets the writer refuse to advance asOf over a rewind it did not see (Writer.AdvanceAsOfSince).
func RewindsKey(account string) (string, error) {
	a, err := NormalizeAccount(account)
	if err != nil {
		return "", err
	}
	return keyPrefix + a + rewindsSuffix, nil
}

// IntentKey returns the Redis key of an intent's record: rebal:v1:{<account>}:intent:<id>.
func IntentKey(account, intentID string) (string, error) {
	a, err := NormalizeAccount(account)
	if err != nil {
		return "", err
	}
	if err := checkName("intent id", intentID); err != nil {
		return "", err
	}
	return keyPrefix + a + intentSuffix + intentID, nil
}

// LegField returns the ledger field of a leg: <intent id>:<leg name>.
func LegField(intentID, leg string) string { return intentID + ":" + leg }

// AsOfField returns the ledger field holding a chain's asOf block: asof:<chain id>.
func AsOfField(chainID uint64) string { return asOfPrefix + strconv.FormatUint(chainID, 10) }

// checkName accepts the names the ledger builds fields from: intent ids, leg names, tokens and
// states. The character set keeps fields unambiguous (no ':'), values free of JSON escapes, and
// keys free of glob characters.
func checkName(what, s string) error {
	if s == "" || len(s) > maxNameLen {
		return fmt.Errorf("%w: %s %q: want 1 to %d characters", ErrInvalid, what, s, maxNameLen)
	}
	if !validName(s) {
		return fmt.Errorf("%w: %s %q: want only A-Z a-z 0-9 . _ -", ErrInvalid, what, s)
	}
	if what == "intent id" && s == "asof" {
		return fmt.Errorf("%w: intent id %q is reserved", ErrInvalid, s)
	}
	return nil
}

func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !nameChar[s[i]] {
			return false
		}
	}
	return true
}

var nameChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	return t
}()

package events

import (
	"strconv"
	"strings"
)

// Location is where balances live: an EVM chain, written in CAIP-2 form "eip155:<chain id>", or a
// venue account, written as the venue's name.
type Location string

// Venue names the rebalancer knows.
const (
	VenueBinance     = "binance"
	VenueHyperliquid = "hyperliquid"
)

// KnownVenues lists the venues in a fixed order.
var KnownVenues = []string{VenueBinance, VenueHyperliquid}

const chainPrefix = "eip155:"

// ChainLocation is the location of an EVM chain.
func ChainLocation(chainID uint64) Location {
	return Location(chainPrefix + strconv.FormatUint(chainID, 10))
}

// VenueLocation is the location of a venue account.
func VenueLocation(venue string) Location { return Location(venue) }

// ChainID returns the chain id of a chain location.
func (l Location) ChainID() (uint64, bool) {
	s, ok := strings.CutPrefix(string(l), chainPrefix)
	if !ok || s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, false
	}
	return id, true
}

// IsVenue reports whether l names a known venue.
func (l Location) IsVenue() bool { return IsKnownVenue(string(l)) }

// IsKnownVenue reports whether v is a venue name the rebalancer knows.
func IsKnownVenue(v string) bool {
	for _, k := range KnownVenues {
		if v == k {
			return true
		}
	}
	return false
}

// Validate accepts a chain location or a known venue.
func (l Location) Validate() error {
	if l == "" {
		return fieldErr("location", "missing")
	}
	if _, ok := l.ChainID(); ok || l.IsVenue() {
		return nil
	}
	return fieldErr("location", "unknown location %q (want eip155:<chain id> or one of %s)", string(l), strings.Join(KnownVenues, ", "))
}

func validateVenue(field, v string) error {
	if !IsKnownVenue(v) {
		return fieldErr(field, "unknown venue %q (want one of %s)", v, strings.Join(KnownVenues, ", "))
	}
	return nil
}

func validateChainID(field string, id uint64) error {
	if id == 0 {
		return fieldErr(field, "missing chain id")
	}
	return nil
}

// CheckToken applies the wire contract's rules for a token to a symbol and its decimals, so that
// configuration and events can never disagree on what a valid token is.
func CheckToken(symbol string, decimals uint8) error {
	if err := validateToken("token", symbol); err != nil {
		return err
	}
	return validateDecimals("decimals", decimals)
}

// validateToken checks a token symbol: upper-case letters and digits, 1 to 16 of them.
func validateToken(field, s string) error {
	if s == "" {
		return fieldErr(field, "missing token symbol")
	}
	if len(s) > 16 {
		return fieldErr(field, "token symbol %q longer than 16", s)
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return fieldErr(field, "token symbol %q: only A-Z and 0-9", s)
		}
	}
	return nil
}

// validateID checks an identifier that may appear in a subject or a message id: printable
// ASCII, no spaces, none of NATS's separators and wildcards.
func validateID(field, s string) error {
	if s == "" {
		return fieldErr(field, "missing id")
	}
	if len(s) > 200 {
		return fieldErr(field, "id longer than 200")
	}
	for _, c := range s {
		if c <= ' ' || c > '~' || c == '.' || c == '*' || c == '>' {
			return fieldErr(field, "id %q: only printable ASCII without spaces, '.', '*' or '>'", s)
		}
	}
	return nil
}

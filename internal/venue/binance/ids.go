package binance

import (
	"fmt"
	"regexp"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// Venue ids derive from the intent id so that a restarted executor finds what it submitted.
//
// Format: "rb" + step + "-" + as many leading hex digits of the intent id as fit in 36
// characters in all (Binance's limit for newClientOrderId, charset [a-zA-Z0-9-_]). With a one-letter
// step that keeps 32 hex digits (128 bits) of the intent id, so two intents collide with
// negligible probability. Steps are 1–4 of [a-z0-9]: "o" for the first order of an intent, "o2"
// for a second attempt after the first expired unfilled, "w" for its withdrawal. The same form is
// used for withdrawOrderId.

const clientIDLen = 36

var (
	intentPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	stepPattern   = regexp.MustCompile(`^[a-z0-9]{1,4}$`)
)

// ClientID returns the venue id of (intent, step).
func ClientID(intentID, step string) (string, error) {
	if !intentPattern.MatchString(intentID) {
		return "", fmt.Errorf("%w: %q", venue.ErrBadIntentID, intentID)
	}
	if !stepPattern.MatchString(step) {
		return "", fmt.Errorf("%w: step %q is not 1-4 of [a-z0-9]", venue.ErrBadIntentID, step)
	}
	prefix := "rb" + step + "-"
	return prefix + intentID[:clientIDLen-len(prefix)], nil
}

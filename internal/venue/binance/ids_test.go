package binance

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

func TestClientID(t *testing.T) {
	intent := strings.Repeat("0123456789abcdef", 4)
	other := "f" + intent[1:]
	valid := regexp.MustCompile(`^[a-zA-Z0-9-_]{1,36}$`)
	tests := []struct {
		name, intent, step string
		want               string
		wantErr            bool
	}{
		{name: "order", intent: intent, step: "o", want: "rbo-0123456789abcdef0123456789abcdef"},
		{name: "withdrawal", intent: intent, step: "w", want: "rbw-0123456789abcdef0123456789abcdef"},
		{name: "second attempt keeps 36 chars", intent: intent, step: "o2", want: "rbo2-0123456789abcdef0123456789abcde"},
		{name: "longest step", intent: intent, step: "abcd", want: "rbabcd-0123456789abcdef0123456789abc"},
		{name: "upper-case intent refused", intent: strings.ToUpper(intent), step: "o", wantErr: true},
		{name: "short intent refused", intent: intent[:63], step: "o", wantErr: true},
		{name: "empty step refused", intent: intent, step: "", wantErr: true},
		{name: "step with dash refused", intent: intent, step: "o-1", wantErr: true},
		{name: "long step refused", intent: intent, step: "abcde", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ClientID(tc.intent, tc.step)
			if tc.wantErr {
				require.ErrorIs(t, err, venue.ErrBadIntentID)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Len(t, got, 36)
			require.Regexp(t, valid, got)
		})
	}
	a, _ := ClientID(intent, "o")
	b, _ := ClientID(other, "o")
	require.NotEqual(t, a, b, "different intents give different ids")
	c, _ := ClientID(intent, "w")
	require.NotEqual(t, a, c, "different steps give different ids")
}

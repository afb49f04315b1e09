package bus

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func TestClassify(t *testing.T) {
	bo := Backoff{Base: time.Second, Max: 5 * time.Second}
	tests := []struct {
		name      string
		err       error
		delivered uint64
		want      outcome
		reasonHas string
	}{
		{"success acks", nil, 1, outcome{action: actAck}, ""},
		{"plain error retries after the backoff", errors.New("boom"), 1, outcome{action: actRetry, delay: time.Second}, ""},
		{"backoff grows with deliveries", errors.New("boom"), 3, outcome{action: actRetry, delay: 4 * time.Second}, ""},
		{"backoff is capped", errors.New("boom"), 4, outcome{action: actRetry, delay: 5 * time.Second}, ""},
		{"retry with its own delay", Retry(errors.New("lease"), 250*time.Millisecond), 2, outcome{action: actRetry, delay: 250 * time.Millisecond}, ""},
		{"retry without a delay uses the backoff", Retry(errors.New("lease"), 0), 2, outcome{action: actRetry, delay: 2 * time.Second}, ""},
		{"wrapped retry", fmt.Errorf("accept: %w", Retry(errors.New("redis"), time.Minute)), 1, outcome{action: actRetry, delay: time.Minute}, ""},
		{"reject dead-letters", Reject(errors.New("bad route")), 1, outcome{action: actDLQ}, "reject: bad route"},
		{"wrapped reject", fmt.Errorf("intent x: %w", Reject(errors.New("bad route"))), 1, outcome{action: actDLQ}, "intent x: reject: bad route"},
		{"invalid event dead-letters", fmt.Errorf("check: %w", events.ErrInvalid), 1, outcome{action: actDLQ}, "invalid event"},
		{"unknown type dead-letters", events.ErrUnknownType, 1, outcome{action: actDLQ}, "unknown event type"},
		{"panic dead-letters", &panicError{value: "oops"}, 1, outcome{action: actDLQ}, "panic: oops"},
		{"last delivery turns a retry into a dead letter", errors.New("boom"), 5, outcome{action: actDLQ}, "max deliveries (5) exhausted: boom"},
		{"last delivery turns an explicit retry too", Retry(errors.New("lease"), time.Second), 5, outcome{action: actDLQ}, "max deliveries (5)"},
		{"last delivery still acks a success", nil, 5, outcome{action: actAck}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(tc.err, tc.delivered, 5, bo)
			require.Equal(t, tc.want.action, got.action)
			require.Equal(t, tc.want.delay, got.delay)
			if tc.reasonHas != "" {
				require.Contains(t, got.reason, tc.reasonHas)
			}
		})
	}
}

func TestRetryAndRejectAreRecognisable(t *testing.T) {
	cause := errors.New("cause")
	require.ErrorIs(t, Retry(cause, 0), ErrRetry)
	require.ErrorIs(t, Retry(cause, 0), cause)
	require.ErrorIs(t, Reject(cause), ErrReject)
	require.ErrorIs(t, Reject(cause), cause)
	require.NotErrorIs(t, Reject(cause), ErrRetry)
	require.ErrorIs(t, Reject(nil), ErrReject)
}

func TestBackoffDelay(t *testing.T) {
	bo := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	tests := []struct {
		n    uint64
		want time.Duration
	}{{0, 100 * time.Millisecond}, {1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {1 << 40, time.Second}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) { require.Equal(t, tc.want, bo.Delay(tc.n)) })
	}
}

func TestSubjectClass(t *testing.T) {
	tests := map[string]string{
		"rebal.v1.balances.eip155:1.0xabc": "balances",
		"rebal.v1.intents.binance":         "intents",
		"rebal.v1.executions.binance.i1":   "executions",
		"rebal.v1.ledger.0xabc":            "ledger",
		"rebal.v1.dlq.planner":             "dlq",
		"rebal.v1.control.pause":           "control",
		"rebal.v1.something.else":          "other",
		"orders.new":                       "other",
		"rebal.v1":                         "other",
	}
	for subj, want := range tests {
		t.Run(subj, func(t *testing.T) { require.Equal(t, want, subjectClass(subj)) })
	}
}

func TestHeaderValue(t *testing.T) {
	require.Equal(t, "line one  line two", headerValue("line one\r\nline two"))
	require.Equal(t, "a b", headerValue("a\nb"))
	long := strings.Repeat("é", maxReasonLen) // 2 bytes each
	got := headerValue(long)
	require.LessOrEqual(t, len(got), maxReasonLen+len("…"))
	require.True(t, strings.HasSuffix(got, "…"))
	require.True(t, strings.HasPrefix(got, "éé"))
	for _, r := range got {
		require.NotEqual(t, '\uFFFD', r, "cut on a rune boundary")
	}
}

func TestDeadLetterOfRejectsOrdinaryMessages(t *testing.T) {
	tests := []struct {
		name string
		m    Message
	}{
		{"not a DLQ subject", Message{Subject: "rebal.v1.ledger.x", Headers: Header{events.HeaderDLQReason: {"r"}}}},
		{"no reason header", Message{Subject: "rebal.v1.dlq.planner", Headers: Header{events.HeaderDLQSeq: {"1"}}}},
		{"bad seq header", Message{Subject: "rebal.v1.dlq.planner", Headers: Header{events.HeaderDLQReason: {"r"}, events.HeaderDLQSeq: {"x"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DeadLetterOf(tc.m)
			require.ErrorIs(t, err, ErrNotDeadLetter)
		})
	}
}

func TestFailureLevel(t *testing.T) {
	require.Equal(t, zerolog.WarnLevel, failureLevel(errors.New("boom"), 1), "an unexpected failure warns")
	require.Equal(t, zerolog.DebugLevel, failureLevel(Retry(errors.New("waiting"), 0), 3), "a requested retry is a wait")
	require.Equal(t, zerolog.WarnLevel, failureLevel(Retry(errors.New("waiting"), 0), 10))
	require.Equal(t, zerolog.DebugLevel, failureLevel(Retry(errors.New("waiting"), 0), 11))
	require.Equal(t, zerolog.WarnLevel, failureLevel(Retry(errors.New("waiting"), 0), 100))
}

package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// HeaderDLQMsgID carries the original Nats-Msg-Id on a dead letter. The dead letter cannot reuse
// it as its own Nats-Msg-Id: the DLQ subjects live in the REBAL stream, whose duplicate window
// would drop the dead letter as a copy of the original.
const HeaderDLQMsgID = events.HeaderDLQMsgID

// maxReasonLen bounds the reason header; the full error is in the log line.
const maxReasonLen = 1024

// DLQSubject is where a service's dead letters go: rebal.v1.dlq.<service>.
func DLQSubject(service string) string { return events.SubjectDLQ + "." + service }

// dlqMsgID de-duplicates dead letters: one per (service, original message), however many
// replicas or deliveries reject it.
func dlqMsgID(service string, seq uint64) string {
	return (&events.DeadLetter{Service: service, Seq: seq}).MsgID()
}

// deadLetter republishes src on the service's DLQ subject: the original body byte for byte, the
// original headers (except the Nats-* publish controls), and the reason headers.
func (b *Bus) deadLetter(ctx context.Context, service string, src Message, reason string) (PublishResult, error) {
	h := make(nats.Header, len(src.Headers)+7)
	for k, v := range src.Headers {
		if len(k) >= 5 && strings.EqualFold(k[:5], "Nats-") {
			continue
		}
		h[k] = append([]string(nil), v...)
	}
	dl := events.DeadLetter{
		Service:     service,
		OrigSubject: src.Subject,
		Seq:         src.Seq,
		Deliveries:  src.NumDelivered,
		Reason:      headerValue(reason),
	}
	for k, v := range dl.DLQHeaders() {
		h[k] = []string{v}
	}
	if src.MsgID != "" {
		h[HeaderDLQMsgID] = []string{src.MsgID}
	}
	h[jetstream.MsgIDHeader] = []string{dlqMsgID(service, src.Seq)}
	return b.publishMsg(ctx, &nats.Msg{Subject: DLQSubject(service), Data: src.Data, Header: h})
}

// headerValue makes s safe as one header line and bounds it.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) <= maxReasonLen {
		return s
	}
	cut := maxReasonLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// DeadLetterOf reads a message from a DLQ subject back into the typed view of pkg/events. Data is
// the original body; OrigType and OrigVersion come from the original's headers; ID is the dead
// letter's own message id and CausationID the original's, when it is a valid id.
func DeadLetterOf(m Message) (*events.DeadLetter, error) {
	service, ok := strings.CutPrefix(m.Subject, events.SubjectDLQ+".")
	if !ok || m.Headers.Get(events.HeaderDLQReason) == "" {
		return nil, fmt.Errorf("%w: subject %s", ErrNotDeadLetter, m.Subject)
	}
	if s := m.Headers.Get(events.HeaderDLQService); s != "" {
		service = s
	}
	seq, err := strconv.ParseUint(m.Headers.Get(events.HeaderDLQSeq), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s header %q", ErrNotDeadLetter, events.HeaderDLQSeq, m.Headers.Get(events.HeaderDLQSeq))
	}
	deliveries, _ := strconv.ParseUint(m.Headers.Get(events.HeaderDLQDeliveries), 10, 64)
	origVersion, _ := strconv.Atoi(m.Headers.Get(events.HeaderVersion))
	id := m.MsgID
	if id == "" {
		id = dlqMsgID(service, seq)
	}
	causation := m.Headers.Get(HeaderDLQMsgID)
	if !plainID(causation) {
		causation = ""
	}
	return &events.DeadLetter{
		Meta:        events.NewMeta(events.TypeDeadLetter, id, causation, service, m.Time),
		Service:     service,
		OrigSubject: m.Headers.Get(events.HeaderDLQSubject),
		Seq:         seq,
		Deliveries:  deliveries,
		Reason:      m.Headers.Get(events.HeaderDLQReason),
		OrigType:    m.Headers.Get(events.HeaderType),
		OrigVersion: origVersion,
		Data:        m.Data,
	}, nil
}

// plainID mirrors pkg/events' id rule (printable ASCII without spaces, '.', '*', '>'), so that a
// foreign message id never makes a dead letter invalid.
func plainID(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c > '~' || c == '.' || c == '*' || c == '>' {
			return false
		}
	}
	return true
}

package bus

import (
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Header holds a message's headers. Keys are case-sensitive, as NATS sends them.
type Header map[string][]string

// Get returns the first value of key, or "".
func (h Header) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Message is one stored message as a handler or a replay sees it.
type Message struct {
	// Event is the decoded, validated event. On a DLQ subject it is the *events.DeadLetter.
	Event events.Event
	// DecodeErr says why Event is nil. Consume never hands such a message to a handler (it goes
	// to the DLQ); ReadRange passes it on so a replay sees what the live consumers saw.
	DecodeErr error

	Subject string
	// Seq is the stream sequence, the total order DESIGN §4 builds on.
	Seq   uint64
	MsgID string
	// Time is when the stream stored the message.
	Time    time.Time
	Headers Header
	// Data is the body, byte for byte.
	Data []byte
	// NumDelivered counts deliveries to this consumer, this one included (1 on first delivery;
	// 1 in a replay).
	NumDelivered uint64
}

// decode fills Event or DecodeErr from the headers and body. A message on a DLQ subject decodes
// to its dead letter.
func (m *Message) decode() {
	// A dead letter carries the original's headers plus the DLQ ones; an events.DeadLetter
	// published in its JSON form (a tool re-filing one) decodes like any event.
	if strings.HasPrefix(m.Subject, events.SubjectDLQ+".") && m.Headers.Get(events.HeaderDLQReason) != "" {
		dl, err := DeadLetterOf(*m)
		if err == nil {
			err = dl.Validate()
		}
		if err != nil {
			m.DecodeErr = err
			return
		}
		m.Event = dl
		return
	}
	m.Event, m.DecodeErr = events.DecodeHeaders(m.Headers.Get, m.Data)
}

func fromStreamMsg(subject string, seq uint64, at time.Time, h Header, data []byte, delivered uint64) Message {
	return Message{
		Subject:      subject,
		Seq:          seq,
		MsgID:        h.Get(jetstream.MsgIDHeader),
		Time:         at,
		Headers:      h,
		Data:         data,
		NumDelivered: delivered,
	}
}

package events

import (
	"strconv"
	"strings"
)

// Dead-letter headers, added to the original message's headers when a consumer rejects it. The DLQ
// message keeps the original body byte for byte; its own Nats-Msg-Id is dlq:<service>:<seq> (see
// DeadLetter.MsgID) and the original id travels in HeaderDLQMsgID.
const (
	HeaderDLQReason     = "Rebal-Dlq-Reason"
	HeaderDLQService    = "Rebal-Dlq-Service"
	HeaderDLQSubject    = "Rebal-Dlq-Subject"
	HeaderDLQSeq        = "Rebal-Dlq-Seq"
	HeaderDLQDeliveries = "Rebal-Dlq-Deliveries"
	// HeaderDLQMsgID carries the original Nats-Msg-Id. The dead letter cannot reuse it as its own:
	// the DLQ subjects live in the REBAL stream, whose duplicate window would drop the dead letter
	// as a copy of the original.
	HeaderDLQMsgID = "Rebal-Dlq-Msg-Id"
)

// DeadLetter is a rejected message: the envelope a tool reads back from rebal.v1.dlq.<service>.
// On the stream it travels as the original body with the HeaderDLQ* headers; its JSON form (with
// Data in base64) is for tools and replays.
type DeadLetter struct {
	Meta
	Service string `json:"service"`
	// OrigSubject and Seq locate the original message in the stream.
	OrigSubject string `json:"origSubject"`
	Seq         uint64 `json:"seq"`
	Deliveries  uint64 `json:"deliveries"`
	Reason      string `json:"reason"`
	// OrigType and OrigVersion are the original's headers, if it had them.
	OrigType    string `json:"origType,omitempty"`
	OrigVersion int    `json:"origVersion,omitempty"`
	Data        []byte `json:"data"`
}

// Validate implements Event.
func (d *DeadLetter) Validate() error {
	if err := d.Meta.validate(TypeDeadLetter); err != nil {
		return err
	}
	if err := validateID("service", d.Service); err != nil {
		return err
	}
	if d.OrigSubject == "" {
		return fieldErr("origSubject", "missing")
	}
	if strings.TrimSpace(d.Reason) == "" {
		return fieldErr("reason", "missing")
	}
	return nil
}

// Subject implements Event: rebal.v1.dlq.<service>.
func (d *DeadLetter) Subject() string { return SubjectDLQ + "." + d.Service }

// MsgID implements Event: dlq:<service>:<stream seq of the original>, so that a message rejected
// twice by one service lands once, and never collides with the original's own id (ID), which the
// stream's duplicate window would otherwise treat as the same message.
func (d *DeadLetter) MsgID() string {
	return "dlq:" + d.Service + ":" + strconv.FormatUint(d.Seq, 10)
}

// DLQHeaders returns the headers that describe the rejection.
func (d *DeadLetter) DLQHeaders() map[string]string {
	return map[string]string{
		HeaderDLQReason:     d.Reason,
		HeaderDLQService:    d.Service,
		HeaderDLQSubject:    d.OrigSubject,
		HeaderDLQSeq:        strconv.FormatUint(d.Seq, 10),
		HeaderDLQDeliveries: strconv.FormatUint(d.Deliveries, 10),
		HeaderDLQMsgID:      d.ID,
	}
}

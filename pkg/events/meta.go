package events

import (
	"time"
)

// Event types, as they appear in the "type" field and the HeaderType header.
const (
	TypeBalanceSnapshot = "balance_snapshot"
	TypeRebalanceIntent = "rebalance_intent"
	TypeExecutionUpdate = "execution_update"
	TypeLedgerWatermark = "ledger_watermark"
	TypeDeadLetter      = "dead_letter"
	TypeControlCommand  = "control_command"
)

// Message headers. Type and version travel in headers so that a consumer can route, upgrade or
// dead-letter a message without parsing its body; the body carries them too so that a payload
// stored on its own still says what it is.
const (
	HeaderType      = "Rebal-Type"
	HeaderVersion   = "Rebal-Version"
	HeaderCausation = "Rebal-Causation"
	HeaderProducer  = "Rebal-Producer"
)

// Meta is the part every event shares.
type Meta struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	// ID identifies this event. For most types it equals the message id on the stream.
	ID string `json:"id"`
	// CausationID is the id of what triggered this event (a snapshot for an intent, an intent for an
	// execution update); empty for events nothing else caused.
	CausationID string `json:"causationId,omitempty"`
	// Producer is the service that wrote the event ("balancewatcher", "planner", ...).
	Producer string `json:"producer"`
	// ProducedAt is informational only: decisions use block numbers and stream order, never clocks.
	ProducedAt time.Time `json:"producedAt"`
}

// Event is what every wire type implements.
type Event interface {
	// EventMeta returns the shared fields.
	EventMeta() *Meta
	// Validate reports the first thing wrong with the event, naming the field.
	Validate() error
	// Subject is the stream subject the event is published on (DESIGN §4).
	Subject() string
	// MsgID is the Nats-Msg-Id that de-duplicates republishing the same fact.
	MsgID() string
}

// EventMeta implements Event for every type that embeds Meta.
func (m *Meta) EventMeta() *Meta { return m }

func (m *Meta) validate(wantType string) error {
	if m.Type != wantType {
		return fieldErr("type", "%q, want %q", m.Type, wantType)
	}
	if m.Version != CurrentVersion(wantType) {
		return fieldErr("version", "%d, want %d", m.Version, CurrentVersion(wantType))
	}
	if err := validateID("id", m.ID); err != nil {
		return err
	}
	if m.CausationID != "" {
		if err := validateID("causationId", m.CausationID); err != nil {
			return err
		}
	}
	if m.Producer == "" {
		return fieldErr("producer", "missing")
	}
	if m.ProducedAt.IsZero() {
		return fieldErr("producedAt", "missing")
	}
	return nil
}

// NewMeta fills the shared fields for a new event of the given type at its current version.
func NewMeta(typ, id, causation, producer string, at time.Time) Meta {
	return Meta{Type: typ, Version: CurrentVersion(typ), ID: id, CausationID: causation, Producer: producer, ProducedAt: at.UTC()}
}

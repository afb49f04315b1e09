package events

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// A decoder turns one (type, version) payload into the current struct of that type.
type decoder func(data []byte) (Event, error)

// current is the version each type is written at today.
var current = map[string]int{
	TypeBalanceSnapshot: 1,
	TypeRebalanceIntent: 1,
	TypeExecutionUpdate: 1,
	TypeLedgerWatermark: 1,
	TypeDeadLetter:      1,
	TypeControlCommand:  1,
}

// registry maps type → version → decoder. A new version of a type adds an entry whose decoder
// reads the old shape and returns the current struct (an upgrade), so consumers never branch on
// versions.
var registry = map[string]map[int]decoder{
	TypeBalanceSnapshot: {1: decodeJSON[BalanceSnapshot]},
	TypeRebalanceIntent: {1: decodeJSON[RebalanceIntent]},
	TypeExecutionUpdate: {1: decodeJSON[ExecutionUpdate]},
	TypeLedgerWatermark: {1: decodeJSON[LedgerWatermark]},
	TypeDeadLetter:      {1: decodeJSON[DeadLetter]},
	TypeControlCommand:  {1: decodeJSON[ControlCommand]},
}

// eventPtr constrains decodeJSON to pointer types that implement Event.
type eventPtr[T any] interface {
	*T
	Event
}

func decodeJSON[T any, P eventPtr[T]](data []byte) (Event, error) {
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return P(&v), nil
}

// CurrentVersion is the version new events of typ are written at (0 for an unknown type).
func CurrentVersion(typ string) int { return current[typ] }

// Supported reports whether Decode can read (typ, version).
func Supported(typ string, version int) bool {
	_, ok := registry[typ][version]
	return ok
}

// Decode reads a payload of the given type and version, upgrades it to the current version and
// validates it. The body's own type must agree with typ: a message whose headers and body disagree
// is invalid. Errors wrap ErrUnknownType or ErrInvalid.
func Decode(typ string, version int, data []byte) (Event, error) {
	dec, ok := registry[typ][version]
	if !ok {
		return nil, fmt.Errorf("%w: %q version %d", ErrUnknownType, typ, version)
	}
	ev, err := dec(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s v%d: %w", typ, version, err)
	}
	m := ev.EventMeta()
	if m.Type != typ || m.Version != version {
		return nil, fmt.Errorf("decode %s v%d: %w", typ, version,
			fieldErr("type", "body says %q v%d, headers say %q v%d", m.Type, m.Version, typ, version))
	}
	m.Version = CurrentVersion(typ)
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("decode %s v%d: %w", typ, version, err)
	}
	return ev, nil
}

// DecodeHeaders decodes a message from its headers (HeaderType, HeaderVersion) and body.
func DecodeHeaders(get func(key string) string, data []byte) (Event, error) {
	typ := get(HeaderType)
	if typ == "" {
		return nil, fmt.Errorf("%w: missing %s header", ErrInvalid, HeaderType)
	}
	v, err := strconv.Atoi(get(HeaderVersion))
	if err != nil {
		return nil, fmt.Errorf("%w: bad %s header %q", ErrInvalid, HeaderVersion, get(HeaderVersion))
	}
	return Decode(typ, v, data)
}

// DecodeBody decodes a payload that carries no headers (a file, a golden sample) from the type and
// version in its body.
func DecodeBody(data []byte) (Event, error) {
	var probe struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return Decode(probe.Type, probe.Version, data)
}

// Encode validates ev and returns its body and the headers that go with it (type, version,
// causation, producer). The caller adds Nats-Msg-Id from ev.MsgID().
func Encode(ev Event) ([]byte, map[string]string, error) {
	if err := ev.Validate(); err != nil {
		return nil, nil, fmt.Errorf("encode: %w", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, nil, fmt.Errorf("encode: %w", err)
	}
	m := ev.EventMeta()
	h := map[string]string{
		HeaderType:     m.Type,
		HeaderVersion:  strconv.Itoa(m.Version),
		HeaderProducer: m.Producer,
	}
	if m.CausationID != "" {
		h[HeaderCausation] = m.CausationID
	}
	return body, h, nil
}

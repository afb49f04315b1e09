package events

import "strings"

// Verb is what a control command asks for.
type Verb string

// Control verbs. Kill stops every side effect of the executor until Unkill, and survives restarts
// because the command stays in the stream; Pause and Resume do the same for one scope without the
// alarm that a kill raises.
const (
	VerbPause  Verb = "pause"
	VerbResume Verb = "resume"
	VerbKill   Verb = "kill"
	VerbUnkill Verb = "unkill"
)

// ScopeAll applies a command to every venue.
const ScopeAll = "all"

// ControlCommand is an operator's command on the stream.
type ControlCommand struct {
	Meta
	Verb Verb `json:"verb"`
	// Scope is "all" or a venue name.
	Scope    string `json:"scope"`
	Reason   string `json:"reason"`
	Operator string `json:"operator"`
}

// Validate implements Event.
func (c *ControlCommand) Validate() error {
	if err := c.Meta.validate(TypeControlCommand); err != nil {
		return err
	}
	switch c.Verb {
	case VerbPause, VerbResume, VerbKill, VerbUnkill:
	default:
		return fieldErr("verb", "unknown verb %q (want pause, resume, kill or unkill)", c.Verb)
	}
	if c.Scope != ScopeAll && !IsKnownVenue(c.Scope) {
		return fieldErr("scope", "unknown scope %q (want all or one of %s)", c.Scope, strings.Join(KnownVenues, ", "))
	}
	if strings.TrimSpace(c.Reason) == "" {
		return fieldErr("reason", "missing: say why, it is read during incidents")
	}
	if strings.TrimSpace(c.Operator) == "" {
		return fieldErr("operator", "missing")
	}
	return nil
}

// Subject implements Event: rebal.v1.control.<verb>.
func (c *ControlCommand) Subject() string { return SubjectControl + "." + string(c.Verb) }

// MsgID implements Event: the command id.
func (c *ControlCommand) MsgID() string { return c.ID }

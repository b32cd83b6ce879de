package secmsg

import (
	"strconv"
	"strings"
)

// Reason codes of a [ValidationError]. They are part of the API: the server
// answers a refused message with one of them.
const (
	// ReasonBadJSON: the bytes are not JSON, not UTF-8, or a value has the
	// wrong JSON type (a string where a number belongs, an item that is not
	// an object…).
	ReasonBadJSON = "bad_json"
	// ReasonUnknownField: the envelope or an event has a field this schema
	// does not define (payload items tolerate unknown fields).
	ReasonUnknownField = "unknown_field"
	// ReasonMissingField: a required field is absent or empty.
	ReasonMissingField = "missing_field"
	// ReasonBadValue: a value is outside its enumeration or range, or not
	// the format it must have (UUID, RFC 3339 time, IP address, port…).
	ReasonBadValue = "bad_value"
	// ReasonTooLarge: the message, a string, a list, the number of events
	// or the number of payload items exceeds its limit.
	ReasonTooLarge = "too_large"
	// ReasonUnknownEvent: an event Name this schema does not define.
	ReasonUnknownEvent = "unknown_event"
	// ReasonInconsistent: values that are each valid contradict each other:
	// EventType or Category not those of the Name, IsEmpty not matching the
	// Payload, an item of another event's type, Change in a Full snapshot,
	// LastSeen before FirstSeen, the two timestamps of an event apart…
	ReasonInconsistent = "inconsistent"
	// ReasonDuplicateID: two events of one message share an Id.
	ReasonDuplicateID = "duplicate_id"
	// ReasonUnsupportedVersion: MessageSchemaVersion or PayloadSchemaVersion
	// is not one this package reads.
	ReasonUnsupportedVersion = "unsupported_version"
)

// ValidationError is why a message was refused by [Parse],
// [Message.Validate] or [Message.Marshal].
type ValidationError struct {
	// Path locates the offending value, in Go-like syntax:
	// "Events[3].Payload[0].RemotePort", "AgentId", or "" for the whole
	// message.
	Path string
	// Reason is one of the Reason constants.
	Reason string
	// Detail is a short human-readable explanation. It quotes at most a
	// short prefix of the offending value.
	Detail string
	// Err is the underlying error (a JSON decoding or time parsing error),
	// or nil.
	Err error
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("secmsg: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns the underlying error, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

// quote returns s quoted for an error message, cut to a short prefix so that
// an error never echoes a large hostile value.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

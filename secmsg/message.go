package secmsg

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// SchemaVersion is the MessageSchemaVersion and the PayloadSchemaVersion
// this package writes and reads.
const SchemaVersion = "1.0"

// Event types (Event.EventType).
const (
	TypeSecurity    = "Security"
	TypeOperational = "Operational"
	TypeDiagnostic  = "Diagnostic"
)

// Event categories (Event.Category): a Periodic event is a snapshot taken on
// a schedule, a Triggered event reports things that happened.
const (
	CategoryPeriodic  = "Periodic"
	CategoryTriggered = "Triggered"
)

// Snapshot modes of a Periodic event (Event.SnapshotMode, a Moat
// extension). An absent mode means SnapshotFull.
const (
	SnapshotFull = "Full" // the payload is the whole snapshot
	SnapshotDiff = "Diff" // the payload holds the items that changed since the previous snapshot
)

// Changes of a periodic item in a Diff snapshot (the item's Change field).
const (
	ChangeAdded   = "Added"   // the item is new; it holds its current values
	ChangeRemoved = "Removed" // the item is gone; it holds its last values
	ChangeChanged = "Changed" // an item of the same Key() has new values, which it holds
)

// Message is one security message: the sending agent and its events.
type Message struct {
	AgentVersion         string  `json:"AgentVersion"`         // the agent's version, e.g. "1.2.0"
	AgentID              string  `json:"AgentId"`              // the agent's UUID, stable across restarts
	MessageSchemaVersion string  `json:"MessageSchemaVersion"` // SchemaVersion
	Events               []Event `json:"Events"`               // 1 to MaxEvents events
}

// Event is one event: a typed, named payload of items.
type Event struct {
	EventType            string `json:"EventType"`            // TypeSecurity, TypeOperational or TypeDiagnostic, fixed by Name
	Category             string `json:"Category"`             // CategoryPeriodic or CategoryTriggered, fixed by Name
	Name                 string `json:"Name"`                 // one of the Name constants
	IsEmpty              bool   `json:"IsEmpty"`              // true exactly when Payload is empty
	PayloadSchemaVersion string `json:"PayloadSchemaVersion"` // SchemaVersion
	ID                   string `json:"Id"`                   // a UUID, unique per event: consumers count an event once by it
	TimestampLocal       string `json:"TimestampLocal"`       // RFC 3339 with the device's UTC offset
	TimestampUTC         string `json:"TimestampUTC"`         // the same instant, RFC 3339 in UTC ("Z")
	// SnapshotMode is SnapshotFull (or empty, the same) or SnapshotDiff;
	// Periodic events only. A Moat extension.
	SnapshotMode string `json:"SnapshotMode,omitempty"`
	// Payload holds items of the Go type of Name (see Item). Encode with
	// Message.Marshal, which writes an empty Payload as [] (encoding/json
	// would write a nil slice as null, which Parse refuses).
	Payload []Item `json:"Payload"`
}

// NewMessage returns a message of the current schema version holding events.
func NewMessage(agentVersion, agentID string, events ...Event) *Message {
	return &Message{
		AgentVersion:         agentVersion,
		AgentID:              agentID,
		MessageSchemaVersion: SchemaVersion,
		Events:               events,
	}
}

// NewEvent returns an event named name, with the EventType and Category of
// that name, a fresh random Id, IsEmpty set from items, and timestamps of now
// to the second (TimestampLocal in now's location, TimestampUTC in UTC).
// For an unknown name, EventType and Category are left empty and
// Validate refuses the event.
func NewEvent(name string, now time.Time, items ...Item) Event {
	typ, cat, _ := Classify(name)
	if items == nil {
		items = []Item{}
	}
	return Event{
		EventType:            typ,
		Category:             cat,
		Name:                 name,
		IsEmpty:              len(items) == 0,
		PayloadSchemaVersion: SchemaVersion,
		ID:                   NewID(),
		TimestampLocal:       now.Format(time.RFC3339),
		TimestampUTC:         now.UTC().Format(time.RFC3339),
		Payload:              items,
	}
}

// NewID returns a random (version 4) UUID in lower case, read from
// crypto/rand. It suits event Ids and a new agent's AgentId.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])  // never fails (Go ≥ 1.24 crashes the program instead)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// FormatTime formats t as payload timestamps are written: RFC 3339 in UTC,
// to the second ("2025-01-01T10:00:00Z").
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ParseTime parses a timestamp of a validated message (any of them: they
// are RFC 3339, with fractional seconds allowed).
func ParseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }

// isUUID reports whether s has the 8-4-4-4-12 hexadecimal UUID form (any
// version, either case).
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

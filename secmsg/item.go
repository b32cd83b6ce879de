package secmsg

import (
	"strconv"
	"strings"
)

// Item is one element of an event's Payload. Its dynamic type is the
// payload type of the event's Name, a value (not a pointer) of one of:
//
//	NameProcessCreate           ProcessCreate
//	NameProcessTerminate        ProcessTerminate
//	NameLogin                   Login
//	NameConnectionCreate        ConnectionCreate
//	NameListeningPorts          ListeningPort
//	NameFirewallConfiguration   FirewallRule
//	NameLocalUsers              LocalUser
//	NameOSBaseline              BaselineCheck
//	NameSystemInformation       SystemInformation
//	NameDiagnostic              Diagnostic
//	NameConfigurationError      ConfigurationError
//	NameDroppedEventsStatistics DroppedEvents
//	NameMessageStatistics       MessageStatistics
//
// The interface is sealed: only this package's types implement it.
type Item interface {
	// EventName is the Name of the events whose payload holds this type.
	EventName() string
	// Key identifies what the item describes, among the items of one event
	// name of one device. For a Periodic item it is the identity that a
	// snapshot difference compares (a listening socket: protocol, address
	// and port; a user: its name): the same Key with other values is a
	// Change "Changed". For a Triggered item it covers every field but the
	// aggregation fields, so that items of equal Key may be aggregated
	// into one with a HitCount. Keys are readable ("tcp|0.0.0.0|22"),
	// injective (a '|' or '\' inside a field is escaped) and stable for a
	// schema version: consumers may store them.
	Key() string
	check(c *checker)
}

// Aggregate holds the aggregation fields that every Triggered payload type
// embeds (a Moat extension): HitCount identical occurrences, the first at
// FirstSeen and the last at LastSeen, reported as one item.
type Aggregate struct {
	// HitCount is the number of occurrences; 0 (absent) means 1. For a
	// Login with Result Fail it is the number of failed attempts.
	HitCount int64 `json:"HitCount,omitempty"`
	// FirstSeen and LastSeen are RFC 3339 UTC times of the first and the
	// last occurrence. They come together; they are required when HitCount
	// is above 1. When absent, the event's timestamp is the time of the
	// single occurrence.
	FirstSeen string `json:"FirstSeen,omitempty"`
	LastSeen  string `json:"LastSeen,omitempty"`
}

// Hits returns the number of occurrences: HitCount, or 1 when absent.
func (a Aggregate) Hits() int64 { return max(a.HitCount, 1) }

// key joins parts with '|', escaping '|' and '\' inside them.
func key(parts ...string) string {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('|')
		}
		if !strings.ContainsAny(p, `|\`) {
			b.WriteString(p)
			continue
		}
		for j := 0; j < len(p); j++ {
			if p[j] == '|' || p[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p[j])
		}
	}
	return b.String()
}

func itoa[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }

func btoa(v bool) string {
	if v {
		return "true"
	}
	return "false"
}

// Package center is Moat's security center: it follows the security
// stream (agents' events, token decisions, authorization failures), stores
// the events, runs detection rules on them, keeps alerts, computes
// recommendations, notifies and, where a response policy says so,
// quarantines the attacked device.
//
// This file holds the types every part of the center shares: the
// normalized Event, the Alert and the small interfaces between the parts.
package center

import (
	"context"
	"time"
)

// Sources of events (the security stream's source token).
const (
	SourceAgent     = "agent"     // moat-agent security events
	SourceDiscovery = "discovery" // token decisions
	SourceHub       = "hub"       // authorization failures
)

// Names of the events that do not come from secmsg.
const (
	NameTokenDecision = "TokenDecision" // Fields: result, sourceAddress, proof, message, lat, lon
	NameAuthFailure   = "AuthFailure"   // Fields: reason, publisher, sourceAddress
)

// Event is one security event as the center sees it: one payload item of
// an agent event, one token decision, or one authorization failure,
// flattened so that rules can match and group on its fields.
type Event struct {
	// ID is unique and stable across redeliveries: the agent event's Id
	// and the item's index ("<uuid>/<n>"), the decision's id, the
	// failure's id. The store drops an event whose ID it holds.
	ID     string
	Device string // device (publisher) id; "" when unknown
	Hub    string
	Source string // SourceAgent, SourceDiscovery, SourceHub
	// Name is the secmsg event name (Login, ListeningPorts, …) or
	// NameTokenDecision / NameAuthFailure.
	Name string
	// Time is when it happened (the item's FirstSeen, else the event's
	// timestamp); LastTime is its LastSeen (= Time for a single one).
	Time, LastTime time.Time
	// Count is how many occurrences the event stands for (HitCount, ≥ 1).
	Count int64
	// SnapshotMode and Change are set for snapshot items: "Full" or
	// "Diff", and "Added", "Removed" or "Changed" in a Diff. ItemKey is the
	// item's secmsg Key (what a difference compares).
	SnapshotMode, Change, ItemKey string
	// Fields are the item's fields by their secmsg JSON name (RemoteAddress,
	// Result, UserName, LocalPort, …), every value as a string (numbers in
	// decimal, booleans "true"/"false", lists joined with ","). Absent
	// fields are absent from the map.
	Fields map[string]string
	// Received is when the hub stored the record (the stream's time): the
	// start of the detection latency.
	Received time.Time
}

// Field returns a field, or "" when absent. The pseudo-fields "device",
// "hub", "source" and "name" return the Event's own.
func (e *Event) Field(name string) string {
	switch name {
	case "device":
		return e.Device
	case "hub":
		return e.Hub
	case "source":
		return e.Source
	case "name":
		return e.Name
	case "change":
		return e.Change
	}
	return e.Fields[name]
}

// Severities, highest first.
const (
	SeverityHigh          = "High"
	SeverityMedium        = "Medium"
	SeverityLow           = "Low"
	SeverityInformational = "Informational"
)

// SeverityRank orders severities: High 3 … Informational 0, unknown -1.
func SeverityRank(s string) int {
	switch s {
	case SeverityHigh:
		return 3
	case SeverityMedium:
		return 2
	case SeverityLow:
		return 1
	case SeverityInformational:
		return 0
	}
	return -1
}

// Alert statuses.
const (
	StatusNew       = "new"       // raised, nobody looked at it
	StatusActive    = "active"    // raised again (count grew) or acknowledged
	StatusDismissed = "dismissed" // an operator dismissed it (closed)
	StatusResolved  = "resolved"  // an operator resolved it (closed)
)

// Alert is a detection. One alert is open (new or active) per rule, device
// and key; further matches grow its count and lastSeen.
type Alert struct {
	ID            string     `json:"id"`
	Rule          string     `json:"rule"`
	Title         string     `json:"title"`
	Severity      string     `json:"severity"`
	Technique     string     `json:"technique"` // MITRE ATT&CK id, e.g. T1110.001
	DeviceID      string     `json:"deviceId"`
	Hub           string     `json:"hub,omitempty"`
	Key           string     `json:"key"` // the grouping key's values joined with "|", "" when none
	SourceAddress string     `json:"sourceAddress,omitempty"`
	FirstSeen     time.Time  `json:"firstSeen"`
	LastSeen      time.Time  `json:"lastSeen"`
	Count         int64      `json:"count"`
	Evidence      []Evidence `json:"evidence"`
	Status        string     `json:"status"`
	StatusReason  string     `json:"statusReason,omitempty"` // why it was dismissed or resolved
	UpdatedAt     time.Time  `json:"updatedAt"`
	// Remediation is the rule's advice.
	Remediation string `json:"remediation,omitempty"`
}

// Evidence is one event behind an alert (at most MaxEvidence are kept,
// the first ones and the latest ones).
type Evidence struct {
	EventID string    `json:"eventId"`
	Time    time.Time `json:"time"`
	Excerpt string    `json:"excerpt"` // a short readable summary of the event
}

// MaxEvidence bounds Alert.Evidence.
const MaxEvidence = 20

// Detection is what a rule reports: the engine's output, turned into an
// alert (new, or an existing open one grown) by the alert store.
type Detection struct {
	Rule          string
	Title         string
	Severity      string
	Technique     string
	Remediation   string
	DeviceID      string
	Hub           string
	Key           string // grouping key values joined with "|"
	SourceAddress string // when the rule groups by a source address
	Count         int64  // occurrences this detection adds
	First, Last   time.Time
	Evidence      []Evidence
	// Trigger is the event that completed the detection (its Received is
	// the start of the detection latency).
	Trigger *Event
}

// AlertSink receives detections. The alert store implements it: it creates
// the alert or grows the open one and returns it, and whether it is new.
type AlertSink interface {
	Raise(ctx context.Context, d Detection) (Alert, bool, error)
}

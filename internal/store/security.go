package store

import (
	"context"
	"time"
)

// SecurityStore is the security center's storage: its event history,
// alerts, the devices' latest snapshot state, the baselines of the
// new-value detections, and response policies and actions. Implemented by
// every Store; the center owns narrower interfaces over these methods.
//
// Free-text values (ids, names, keys, addresses, field values) are stored
// as valid UTF-8 without NUL bytes: invalid bytes and NULs become U+FFFD,
// the same in every backend (PostgreSQL's text refuses both).
//
// Deleting a device keeps its security history (events, alerts, response
// actions) and forgets its state (snapshot items, agent statistics,
// baseline values), so a device re-registered under the same ID starts a
// new baseline. Deleting a hub keeps everything: the security tables name
// hubs as plain text, and a hub with devices cannot be deleted anyway.
type SecurityStore interface {
	SecurityEventStore
	AlertStore
	PostureStore
	ResponseStore
}

// SecurityEvent is one stored security event (the center's Event).
type SecurityEvent struct {
	// ID is stable across redeliveries; 1..MaxSecurityEventID bytes. An
	// event is identified by its Time and ID together (see
	// PutSecurityEvents).
	ID string
	// Group names the events that arrive together and are stored together
	// (the payload items of one agent event: its Id), "" for an event on
	// its own. It is not read back. See PutSecurityEvents.
	Group    string
	Device   string
	Hub      string
	Source   string
	Name     string
	Time     time.Time // when it happened
	LastTime time.Time // its last occurrence (zero: Time)
	// Count is how many occurrences the event stands for, clamped by
	// PutSecurityEvents into 0..MaxSecurityEventCount so that sums cannot
	// overflow.
	Count        int64
	SnapshotMode string
	Change       string
	// RemoteAddress and Result are copies of fields the overview groups
	// and filters on, filled by the caller (for a Login event, its
	// RemoteAddress and Result; for a token decision, its sourceAddress and
	// result). "" when the event has none.
	RemoteAddress string
	Result        string
	Fields        map[string]string // never nil when read
	// Received is when the hub stored the event (zero: now). Retention
	// goes by it, not by Time, which comes from the device.
	Received time.Time
}

// Limits of security events.
const (
	// MaxSecurityEventID bounds SecurityEvent.ID.
	MaxSecurityEventID = 256
	// MaxSecurityEventCount is the largest Count stored.
	MaxSecurityEventCount = 1<<31 - 1
	// MaxSecurityEventPage caps ListSecurityEvents.
	MaxSecurityEventPage = 1000
)

// SecurityEventCursor is a position in ListSecurityEvents' order: the
// Time and ID of the last event of the previous page.
type SecurityEventCursor struct {
	Time time.Time
	ID   string
}

// IsZero reports whether c is no position (the first page).
func (c SecurityEventCursor) IsZero() bool { return c.Time.IsZero() && c.ID == "" }

// SecurityEventFilter selects events in ListSecurityEvents. Zero fields
// match everything.
type SecurityEventFilter struct {
	Device string
	Name   string
	Source string
	Since  time.Time // Time >= Since
	Until  time.Time // Time < Until
	// After continues a listing: only events after this position in the
	// newest-first order (older, or as old with a smaller ID).
	After SecurityEventCursor
	Limit int // 1..MaxSecurityEventPage; others mean MaxSecurityEventPage
}

// Groupings of TopSecurityEvents.
const (
	TopByDevice        = "device"
	TopByRemoteAddress = "remote_address"
)

// TopQuery asks TopSecurityEvents for the keys with the most occurrences
// of one event, e.g. the most attacked devices (Name "Login", Result
// "Fail", By TopByDevice) or the top attacking sources (By
// TopByRemoteAddress).
type TopQuery struct {
	Name   string    // required
	Result string    // "" = any
	Since  time.Time // Time >= Since
	Until  time.Time // Time < Until; zero = no bound
	By     string    // TopByDevice or TopByRemoteAddress
	Limit  int       // 1..1000; others mean 10
}

// TopEntry is one key of a TopSecurityEvents answer.
type TopEntry struct {
	Key     string    `json:"key"`     // the device or the remote address
	Count   int64     `json:"count"`   // sum of the events' Count
	Events  int64     `json:"events"`  // number of events
	Devices int64     `json:"devices"` // distinct devices among them
	Last    time.Time `json:"last"`    // latest event Time
}

// SecurityEventStore keeps the security event history.
type SecurityEventStore interface {
	// PutSecurityEvents stores a batch of events in one transaction and
	// reports, per event, whether it was new: an event whose Time and ID
	// are already stored, or repeat an earlier one of the batch, is
	// dropped and reported false (dedup for at-least-once delivery: a
	// redelivered event has both). Two events with one ID and different
	// times are both kept. An event with an empty or too long ID, or a
	// time outside years 0..9999, fails the whole batch. Times are stored
	// to the microsecond.
	//
	// Events of one Group (with the same Device, Hub, Source, Name,
	// SnapshotMode and Received) are stored together, a few dozen to a
	// record, which makes a high rate of events affordable. Such a group
	// is put in one call and redelivered whole: its dedup goes by the
	// group's earliest event (a redelivered group is dropped whole),
	// and one of its events put again on its own is not recognized.
	PutSecurityEvents(ctx context.Context, events []SecurityEvent) (inserted []bool, err error)
	// ListSecurityEvents returns the events matching f, newest first
	// (Time descending, then ID descending), at most f.Limit.
	ListSecurityEvents(ctx context.Context, f SecurityEventFilter) ([]SecurityEvent, error)
	// SecurityEventsSince calls fn with every event with Time >= since
	// whose name is one of names (all when names is empty), oldest first,
	// until fn returns an error, which it returns wrapped.
	SecurityEventsSince(ctx context.Context, since time.Time, names []string, fn func(SecurityEvent) error) error
	// DeleteSecurityEventsBefore deletes the events received before t, in
	// bounded chunks (each its own statement), and returns how many.
	DeleteSecurityEventsBefore(ctx context.Context, t time.Time) (int64, error)
	// TopSecurityEvents returns the keys with the largest sums of Count
	// among the events matching q, largest first, then by key. Events
	// without the key (no remote address) are left out.
	TopSecurityEvents(ctx context.Context, q TopQuery) ([]TopEntry, error)
}

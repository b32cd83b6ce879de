package store

import (
	"context"
	"time"
)

// Alert statuses (the center's). An alert is open while new or active;
// at most one alert is open per rule, device and key.
const (
	AlertNew       = "new"
	AlertActive    = "active"
	AlertDismissed = "dismissed"
	AlertResolved  = "resolved"
	// AlertOpen is a filter value of ListAlerts: new or active.
	AlertOpen = "open"
)

// Alert severities (the center's), highest first. RaiseAlert keeps the
// highest severity an open alert was raised with; an unknown severity
// ranks below Informational.
const (
	SeverityHigh          = "High"
	SeverityMedium        = "Medium"
	SeverityLow           = "Low"
	SeverityInformational = "Informational"
)

// Limits of alerts.
const (
	// MaxAlertEvidence bounds Alert.Evidence: the first
	// MaxAlertEvidence/2 pieces and the latest ones.
	MaxAlertEvidence = 20
	// MaxEvidenceExcerpt bounds an evidence excerpt, in bytes; a longer
	// one is cut at a character boundary.
	MaxEvidenceExcerpt = 1000
	// MaxAlertPage caps ListAlerts.
	MaxAlertPage = 1000
)

// Alert is a stored alert.
type Alert struct {
	ID            string // 32 lower-case hex digits, sortable by creation time
	Rule          string
	Title         string
	Severity      string
	Technique     string
	Remediation   string
	Device        string
	Hub           string
	Key           string
	SourceAddress string
	FirstSeen     time.Time
	LastSeen      time.Time
	Count         int64
	Evidence      []AlertEvidence // never nil when read
	Status        string
	StatusReason  string // why the status was last set by SetAlertStatus
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AlertEvidence is one event behind an alert.
type AlertEvidence struct {
	EventID string
	Time    time.Time
	Excerpt string
}

// AlertRaise is a detection to record: it grows the open alert of its
// rule, device and key, or opens a new one.
type AlertRaise struct {
	Rule          string // required
	Title         string
	Severity      string
	Technique     string
	Remediation   string
	Device        string
	Hub           string
	Key           string
	SourceAddress string
	Count         int64     // occurrences to add, >= 0
	First, Last   time.Time // zero First: Last; zero Last: First; both zero: now
	Evidence      []AlertEvidence
}

// AlertFilter selects alerts in ListAlerts. Zero fields match everything.
type AlertFilter struct {
	Rule     string
	Severity string
	Status   string // a status, or AlertOpen for new and active
	Device   string
	Since    time.Time // LastSeen >= Since
	After    string    // keyset paging: IDs less than this (older alerts)
	Limit    int       // 1..MaxAlertPage; others mean MaxAlertPage
}

// AlertBucket counts the alerts of one severity created in one time bucket.
type AlertBucket struct {
	Start    time.Time `json:"start"` // the bucket's start, a multiple of its width since the Unix epoch (UTC)
	Severity string    `json:"severity"`
	Count    int64     `json:"count"`
}

// AlertStore keeps alerts.
type AlertStore interface {
	// RaiseAlert records a detection in one transaction, safe against
	// concurrent raisers: it grows the open alert of (Rule, Device, Key)
	// — Count added, FirstSeen the earliest, LastSeen the latest, the
	// highest Severity, evidence appended keeping the first and the
	// latest pieces, Title, Technique and Remediation the raise's when
	// not empty, status new turned active (raised again), active kept —
	// or, when none is open, creates one with status new; created
	// reports which.
	RaiseAlert(ctx context.Context, r AlertRaise) (a Alert, created bool, err error)
	// GetAlert returns an alert or ErrNotFound.
	GetAlert(ctx context.Context, id string) (Alert, error)
	// ListAlerts returns the alerts matching f, newest created first.
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// SetAlertStatus sets an alert's status (one of the four) and reason
	// and returns the alert: ErrNotFound if absent. Dismissed and
	// resolved close the alert, so the next raise opens a new one;
	// reopening a closed alert while another is open for its rule,
	// device and key is ErrConflict.
	SetAlertStatus(ctx context.Context, id, status, reason string) (Alert, error)
	// CountAlerts counts the alerts created since a time by severity, in
	// buckets of the given width (at least a second); only non-empty
	// buckets are returned, by Start then severity (highest first).
	CountAlerts(ctx context.Context, since time.Time, bucket time.Duration) ([]AlertBucket, error)
	// DeleteClosedAlertsBefore deletes the dismissed and resolved alerts
	// last updated before t and returns how many. Open alerts stay,
	// however old.
	DeleteClosedAlertsBefore(ctx context.Context, t time.Time) (int64, error)
}

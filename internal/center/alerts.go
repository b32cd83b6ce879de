package center

import (
	"context"

	"github.com/moatsec/moat/internal/store"
)

// AlertStore is the part of the store that keeps alerts.
type AlertStore interface {
	RaiseAlert(ctx context.Context, r store.AlertRaise) (store.Alert, bool, error)
}

// StoreAlerts is the AlertSink over the metadata store: one open alert per
// rule, device and key, grown by each detection.
type StoreAlerts struct{ Store AlertStore }

var _ AlertSink = StoreAlerts{}

// Raise records a detection.
func (s StoreAlerts) Raise(ctx context.Context, d Detection) (Alert, bool, error) {
	ev := make([]store.AlertEvidence, len(d.Evidence))
	for i, e := range d.Evidence {
		ev[i] = store.AlertEvidence{EventID: e.EventID, Time: e.Time, Excerpt: e.Excerpt}
	}
	a, created, err := s.Store.RaiseAlert(ctx, store.AlertRaise{Rule: d.Rule, Title: d.Title, Severity: d.Severity, Technique: d.Technique,
		Remediation: d.Remediation, Device: d.DeviceID, Hub: d.Hub, Key: d.Key, SourceAddress: d.SourceAddress, Count: d.Count,
		First: d.First, Last: d.Last, Evidence: ev})
	if err != nil {
		return Alert{}, false, err
	}
	return AlertFromStore(a), created, nil
}

// AlertFromStore converts a stored alert.
func AlertFromStore(a store.Alert) Alert {
	ev := make([]Evidence, len(a.Evidence))
	for i, e := range a.Evidence {
		ev[i] = Evidence{EventID: e.EventID, Time: e.Time, Excerpt: e.Excerpt}
	}
	return Alert{ID: a.ID, Rule: a.Rule, Title: a.Title, Severity: a.Severity, Technique: a.Technique, DeviceID: a.Device, Hub: a.Hub,
		Key: a.Key, SourceAddress: a.SourceAddress, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Count: a.Count, Evidence: ev,
		Status: a.Status, StatusReason: a.StatusReason, UpdatedAt: a.UpdatedAt, Remediation: a.Remediation}
}

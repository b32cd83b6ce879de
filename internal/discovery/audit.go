package discovery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/moatsec/moat/internal/eventlog"
)

// JournalAuditor records decisions in an eventlog journal filed under
// (result, device), so they can be queried by either.
type JournalAuditor struct{ J *eventlog.Journal }

// AuditRetention is how long decisions are kept.
const AuditRetention = 90 * 24 * time.Hour

// NewJournalAuditor opens the "discovery-audit" journal.
func NewJournalAuditor(ctx context.Context, l *eventlog.Log) (*JournalAuditor, error) {
	j, err := l.Journal(ctx, "discovery-audit", 2, AuditRetention)
	if err != nil {
		return nil, err
	}
	return &JournalAuditor{J: j}, nil
}

// Record appends a decision.
func (a *JournalAuditor) Record(ctx context.Context, d Decision) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("discovery: audit: %w", err)
	}
	dev := d.DeviceID
	if dev == "" {
		dev = "-" // an unidentified device
	}
	_, err = a.J.Append(ctx, []string{d.Result, dev}, data)
	return err
}

// Query returns decisions since a time, oldest first; device and result ""
// match any.
func (a *JournalAuditor) Query(ctx context.Context, device, result string, since time.Time, limit int) ([]Decision, error) {
	es, err := a.J.Query(ctx, []string{result, device}, since, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Decision, 0, len(es))
	for _, e := range es {
		var d Decision
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return nil, fmt.Errorf("discovery: audit record %d: %w", e.Sequence, err)
		}
		out = append(out, d)
	}
	return out, nil
}

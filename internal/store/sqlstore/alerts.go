package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/moatsec/moat/internal/store"
)

const (
	alertColumns = `id, rule, title, severity, technique, remediation, device, hub, key, source_address,
		first_seen, last_seen, count, evidence, status, status_reason, created_at, updated_at`
	openStatuses = `status IN ('new', 'active')`

	// lockOpenAlert reads the open alert of a rule, device and key and,
	// through a no-op update, locks its row until the transaction ends
	// (SELECT … FOR UPDATE is not SQLite; there the write transaction holds
	// the database lock anyway).
	lockOpenAlert = `UPDATE alerts SET updated_at = updated_at
		WHERE rule = $1 AND device = $2 AND key = $3 AND ` + openStatuses + ` RETURNING ` + alertColumns
	// insertAlert does nothing when another alert of the rule, device and
	// key was opened concurrently (the alerts_open unique index).
	insertAlert = `INSERT INTO alerts (` + alertColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
		ON CONFLICT DO NOTHING`
	updateAlert = `UPDATE alerts SET title = $2, severity = $3, technique = $4, remediation = $5, hub = $6,
		source_address = $7, first_seen = $8, last_seen = $9, count = $10, evidence = $11, status = $12,
		updated_at = $13 WHERE id = $1`
	getAlert       = `SELECT ` + alertColumns + ` FROM alerts WHERE id = $1`
	setAlertStatus = `UPDATE alerts SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1
		RETURNING ` + alertColumns
	alertsCreatedSince = `SELECT created_at, severity FROM alerts WHERE created_at >= $1`
)

// maxRaiseAttempts bounds RaiseAlert's read-or-insert loop. Another round
// is needed only when a concurrent raiser opens the alert between the two
// statements and an operator closes it again before the next one.
const maxRaiseAttempts = 8

// maxStatusReason bounds an alert's status reason, in bytes.
const maxStatusReason = 1000

// severityRank orders the center's severities; unknown ones rank lowest.
func severityRank(s string) int {
	switch s {
	case store.SeverityHigh:
		return 3
	case store.SeverityMedium:
		return 2
	case store.SeverityLow:
		return 1
	case store.SeverityInformational:
		return 0
	}
	return -1
}

// RaiseAlert grows the open alert of r's rule, device and key, or opens one.
func (s *Store) RaiseAlert(ctx context.Context, r store.AlertRaise) (store.Alert, bool, error) {
	r, err := normalizeRaise(r, s.timestamp())
	if err != nil {
		return store.Alert{}, false, fmt.Errorf("raise alert: %w", err)
	}
	var (
		a       store.Alert
		created bool
	)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for range maxRaiseAttempts {
			now := s.timestamp()
			open, err := scanAlert(tx.QueryRowContext(ctx, lockOpenAlert, r.Rule, r.Device, r.Key))
			if err == nil {
				a, created = grow(open, r, now), false
				_, err = tx.ExecContext(ctx, updateAlert, a.ID, a.Title, a.Severity, a.Technique, a.Remediation,
					a.Hub, a.SourceAddress, a.FirstSeen, a.LastSeen, a.Count, encodeEvidence(a.Evidence), a.Status, a.UpdatedAt)
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			a, created = newAlert(r, now), true
			ok, err := execOne(ctx, tx, insertAlert, alertArgs(a)...)
			if err != nil || ok {
				return err
			}
			// Another raiser opened the alert meanwhile: grow theirs.
		}
		return fmt.Errorf("the alert was opened and closed concurrently %d times in a row; giving up", maxRaiseAttempts)
	})
	if err != nil {
		return store.Alert{}, false, fmt.Errorf("raise alert %q for device %q key %q: %w", r.Rule, r.Device, r.Key, err)
	}
	return a, created, nil
}

// normalizeRaise checks r and returns it cleaned, with First and Last set
// and ordered.
func normalizeRaise(r store.AlertRaise, now time.Time) (store.AlertRaise, error) {
	if r.Rule == "" {
		return r, errors.New("empty rule")
	}
	if r.Count < 0 {
		return r, fmt.Errorf("negative count %d", r.Count)
	}
	switch {
	case r.First.IsZero() && r.Last.IsZero():
		r.First, r.Last = now, now
	case r.First.IsZero():
		r.First = r.Last
	case r.Last.IsZero():
		r.Last = r.First
	}
	var err error
	if r.First, err = checkTime("first seen", r.First); err != nil {
		return r, err
	}
	if r.Last, err = checkTime("last seen", r.Last); err != nil {
		return r, err
	}
	if r.Last.Before(r.First) {
		r.First, r.Last = r.Last, r.First
	}
	r.Rule, r.Title, r.Severity, r.Technique = clean(r.Rule), clean(r.Title), clean(r.Severity), clean(r.Technique)
	r.Remediation, r.Device, r.Hub, r.Key = clean(r.Remediation), clean(r.Device), clean(r.Hub), clean(r.Key)
	r.SourceAddress = clean(r.SourceAddress)
	r.Evidence = mergeEvidence(nil, r.Evidence)
	return r, nil
}

func newAlert(r store.AlertRaise, now time.Time) store.Alert {
	return store.Alert{
		ID: newID(now), Rule: r.Rule, Title: r.Title, Severity: r.Severity, Technique: r.Technique,
		Remediation: r.Remediation, Device: r.Device, Hub: r.Hub, Key: r.Key, SourceAddress: r.SourceAddress,
		FirstSeen: r.First, LastSeen: r.Last, Count: r.Count, Evidence: r.Evidence, Status: store.AlertNew,
		CreatedAt: now, UpdatedAt: now,
	}
}

// grow returns the open alert a grown by r.
func grow(a store.Alert, r store.AlertRaise, now time.Time) store.Alert {
	if a.Count > math.MaxInt64-r.Count {
		a.Count = math.MaxInt64
	} else {
		a.Count += r.Count
	}
	if r.First.Before(a.FirstSeen) {
		a.FirstSeen = r.First
	}
	if r.Last.After(a.LastSeen) {
		a.LastSeen = r.Last
	}
	if severityRank(r.Severity) > severityRank(a.Severity) {
		a.Severity = r.Severity
	}
	replaceIfSet(&a.Title, r.Title)
	replaceIfSet(&a.Technique, r.Technique)
	replaceIfSet(&a.Remediation, r.Remediation)
	if a.Hub == "" {
		a.Hub = r.Hub
	}
	if a.SourceAddress == "" {
		a.SourceAddress = r.SourceAddress
	}
	a.Evidence = mergeEvidence(a.Evidence, r.Evidence)
	a.Status = store.AlertActive // raised again
	a.UpdatedAt = now
	return a
}

func replaceIfSet(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// mergeEvidence appends add to old, skipping pieces whose event is already
// there, and keeps the first and the latest MaxAlertEvidence/2 pieces.
// Pieces are cleaned; a time outside the supported years becomes zero.
func mergeEvidence(old, add []store.AlertEvidence) []store.AlertEvidence {
	out := slices.Clone(old)
	if out == nil {
		out = []store.AlertEvidence{}
	}
	seen := make(map[string]bool, len(out)+len(add))
	for _, e := range out {
		seen[e.EventID] = true
	}
	for _, e := range add {
		e.EventID, e.Excerpt = cut(e.EventID, store.MaxSecurityEventID), cut(e.Excerpt, store.MaxEvidenceExcerpt)
		if e.EventID != "" && seen[e.EventID] {
			continue
		}
		seen[e.EventID] = true
		if inRange(e.Time) {
			e.Time = stamp(e.Time)
		} else {
			e.Time = time.Time{}
		}
		out = append(out, e)
	}
	if half := store.MaxAlertEvidence / 2; len(out) > store.MaxAlertEvidence {
		out = append(out[:half:half], out[len(out)-half:]...)
	}
	return out
}

// evidenceJSON is how evidence is stored.
type evidenceJSON struct {
	EventID string    `json:"eventId"`
	Time    time.Time `json:"time"`
	Excerpt string    `json:"excerpt"`
}

func encodeEvidence(ev []store.AlertEvidence) string {
	out := make([]evidenceJSON, len(ev))
	for i, e := range ev {
		out[i] = evidenceJSON(e)
	}
	b, err := json.Marshal(out)
	if err != nil {
		// Unreachable: mergeEvidence keeps times within years 0..9999.
		panic(fmt.Sprintf("encode alert evidence: %v", err))
	}
	return string(b)
}

func decodeEvidence(s string) ([]store.AlertEvidence, error) {
	var in []evidenceJSON
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("evidence column: %w", err)
	}
	out := make([]store.AlertEvidence, len(in))
	for i, e := range in {
		e.Time = e.Time.UTC()
		out[i] = store.AlertEvidence(e)
	}
	return out, nil
}

func alertArgs(a store.Alert) []any {
	return []any{a.ID, a.Rule, a.Title, a.Severity, a.Technique, a.Remediation, a.Device, a.Hub, a.Key,
		a.SourceAddress, a.FirstSeen, a.LastSeen, a.Count, encodeEvidence(a.Evidence), a.Status, a.StatusReason,
		a.CreatedAt, a.UpdatedAt}
}

func scanAlert(row scanner) (store.Alert, error) {
	var a store.Alert
	var evidence string
	err := row.Scan(&a.ID, &a.Rule, &a.Title, &a.Severity, &a.Technique, &a.Remediation, &a.Device, &a.Hub,
		&a.Key, &a.SourceAddress, &a.FirstSeen, &a.LastSeen, &a.Count, &evidence, &a.Status, &a.StatusReason,
		&a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return a, err
	}
	a.FirstSeen, a.LastSeen = a.FirstSeen.UTC(), a.LastSeen.UTC()
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	a.Evidence, err = decodeEvidence(evidence)
	return a, err
}

// GetAlert returns an alert or store.ErrNotFound.
func (s *Store) GetAlert(ctx context.Context, id string) (store.Alert, error) {
	a, err := scanAlert(s.read.QueryRowContext(ctx, getAlert, clean(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Alert{}, fmt.Errorf("alert %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Alert{}, fmt.Errorf("get alert %q: %w", id, err)
	}
	return a, nil
}

// ListAlerts returns the alerts matching f, newest created first.
func (s *Store) ListAlerts(ctx context.Context, f store.AlertFilter) ([]store.Alert, error) {
	var w where
	w.eq("rule", f.Rule)
	w.eq("severity", f.Severity)
	w.eq("device", f.Device)
	if f.Status == store.AlertOpen {
		w.conds = append(w.conds, openStatuses)
	} else {
		w.eq("status", f.Status)
	}
	if !f.Since.IsZero() {
		w.add("last_seen >= ", stamp(f.Since))
	}
	if f.After != "" {
		w.add("id < ", clean(f.After))
	}
	limit := w.arg(pageLimit(f.Limit, store.MaxAlertPage, store.MaxAlertPage))
	query := `SELECT ` + alertColumns + ` FROM alerts` + w.String() + ` ORDER BY id DESC LIMIT ` + limit
	alerts, err := list(ctx, s, scanAlert, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return alerts, nil
}

// SetAlertStatus sets an alert's status and reason.
func (s *Store) SetAlertStatus(ctx context.Context, id, status, reason string) (store.Alert, error) {
	switch status {
	case store.AlertNew, store.AlertActive, store.AlertDismissed, store.AlertResolved:
	default:
		return store.Alert{}, fmt.Errorf("set status of alert %q: unknown status %q", id, status)
	}
	a, err := scanAlert(s.write.QueryRowContext(ctx, setAlertStatus, clean(id), status, cut(reason, maxStatusReason), s.timestamp()))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.Alert{}, fmt.Errorf("alert %q: %w", id, store.ErrNotFound)
	case err != nil && s.dialect.IsUniqueViolation(err):
		return store.Alert{}, fmt.Errorf("set status of alert %q to %s: another alert of its rule, device and key is open: %w",
			id, status, store.ErrConflict)
	case err != nil:
		return store.Alert{}, fmt.Errorf("set status of alert %q: %w", id, err)
	}
	return a, nil
}

// CountAlerts counts the alerts created since a time by bucket and severity.
func (s *Store) CountAlerts(ctx context.Context, since time.Time, bucket time.Duration) ([]store.AlertBucket, error) {
	if bucket < time.Second {
		return nil, fmt.Errorf("count alerts: bucket width %v, want at least 1s", bucket)
	}
	type key struct {
		start    time.Time
		severity string
	}
	counts := map[key]int64{}
	rows, err := s.read.QueryContext(ctx, alertsCreatedSince, stamp(since))
	if err != nil {
		return nil, fmt.Errorf("count alerts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.start, &k.severity); err != nil {
			return nil, fmt.Errorf("count alerts: %w", err)
		}
		k.start = bucketStart(k.start, bucket)
		counts[k]++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count alerts: %w", err)
	}
	out := make([]store.AlertBucket, 0, len(counts))
	for k, n := range counts {
		out = append(out, store.AlertBucket{Start: k.start, Severity: k.severity, Count: n})
	}
	slices.SortFunc(out, func(a, b store.AlertBucket) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(severityRank(b.Severity), severityRank(a.Severity)),
			cmp.Compare(a.Severity, b.Severity))
	})
	return out, nil
}

// bucketStart returns the start of the bucket of width b holding t: the
// largest multiple of b since the Unix epoch not after t, in UTC.
func bucketStart(t time.Time, b time.Duration) time.Time {
	us, w := t.UnixMicro(), b.Microseconds()
	start := us / w * w
	if start > us { // negative us: division truncated toward zero
		start -= w
	}
	return time.UnixMicro(start).UTC()
}

// DeleteClosedAlertsBefore deletes the closed alerts last updated before t.
func (s *Store) DeleteClosedAlertsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM alerts WHERE status IN ($1, $2) AND updated_at < $3`,
		store.AlertDismissed, store.AlertResolved, stamp(t))
	var n int64
	if err == nil {
		n, err = res.RowsAffected()
	}
	if err != nil {
		return n, fmt.Errorf("delete alerts closed before %v: %w", t, err)
	}
	return n, nil
}

package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/store"
)

const (
	secEventColumns = `id, device, hub, source, name, time, last_time, count, snapshot_mode, change,
		remote_address, result, fields, received`
	secEventValues = 14

	// eventsPerStatement bounds the rows of one PutSecurityEvents
	// statement: 500 rows bind 7,000 values, well within SQLite's 32,766
	// and PostgreSQL's 65,535.
	eventsPerStatement = 500
	// deleteEventsChunk bounds the rows one retention statement deletes, so
	// that it holds the write lock briefly.
	deleteEventsChunk = 5000

	insertEventsHead = `INSERT INTO security_events (` + secEventColumns + `) VALUES `
	insertEventsTail = ` ON CONFLICT (time, id) DO NOTHING RETURNING id, time`
	selectEvents     = `SELECT ` + secEventColumns + ` FROM security_events`
	// The retention deletes go through the received index in chunks: the
	// receive time of the chunk's last row, then every row up to it.
	oldEventsChunkEnd = `SELECT received FROM security_events WHERE received < $1
		ORDER BY received LIMIT 1 OFFSET $2`
	deleteEventsUpTo = `DELETE FROM security_events WHERE received <= $1`
	deleteEventsTo   = `DELETE FROM security_events WHERE received < $1`
)

// PutSecurityEvents stores a batch of events in one transaction and
// reports which were new: an event is a duplicate when one with its Time
// and ID is stored. Events are inserted in (Time, ID) order, in statements
// of up to 500 rows, so concurrent batches lock keys in the same order.
func (s *Store) PutSecurityEvents(ctx context.Context, events []store.SecurityEvent) ([]bool, error) {
	inserted := make([]bool, len(events))
	if len(events) == 0 {
		return inserted, nil
	}
	now := s.timestamp()
	first := make(map[eventKey]int, len(events)) // index of each key's first occurrence
	rows := make([]eventRow, 0, len(events))
	for i, e := range events {
		r, err := newEventRow(e, now)
		if err != nil {
			return nil, fmt.Errorf("put security events: event %d: %w", i, err)
		}
		k := eventKey{r.time.UnixMicro(), r.id}
		if _, dup := first[k]; dup {
			continue
		}
		first[k] = i
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b eventRow) int { return cmp.Or(a.time.Compare(b.time), strings.Compare(a.id, b.id)) })

	full, err := s.fullEvents.get(ctx, s.write)
	if err != nil {
		return nil, fmt.Errorf("put %d security events: prepare: %w", len(events), err)
	}
	if len(rows) <= eventsPerStatement {
		// One statement is atomic by itself. Outside a transaction, SQLite
		// also skips the statement journal it keeps to undo one
		// statement of a transaction.
		var q *sql.Rows
		if len(rows) == eventsPerStatement {
			q, err = full.QueryContext(ctx, eventArgs(rows)...)
		} else {
			q, err = s.write.QueryContext(ctx, s.insertEventsQuery(len(rows)), eventArgs(rows)...)
		}
		if err == nil {
			err = markInserted(q, first, inserted)
		}
		if err != nil {
			return nil, fmt.Errorf("put %d security events: %w", len(events), err)
		}
		return inserted, nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(rows, eventsPerStatement) {
			var q *sql.Rows
			var err error
			if len(chunk) == eventsPerStatement {
				q, err = tx.StmtContext(ctx, full).QueryContext(ctx, eventArgs(chunk)...)
			} else {
				q, err = tx.QueryContext(ctx, s.insertEventsQuery(len(chunk)), eventArgs(chunk)...)
			}
			if err != nil {
				return err
			}
			if err := markInserted(q, first, inserted); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("put %d security events: %w", len(events), err)
	}
	return inserted, nil
}

func (s *Store) insertEventsQuery(n int) string {
	return insertEventsHead + s.rows(n, secEventValues) + insertEventsTail
}

// eventKey identifies a stored event: its time in microseconds and its ID.
type eventKey struct {
	us int64
	id string
}

// markInserted reads the keys an insert returned and marks their first
// occurrences.
func markInserted(rows *sql.Rows, first map[eventKey]int, inserted []bool) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		var at any // SQLite returns the stored text: RETURNING has no declared type
		if err := rows.Scan(&id, &at); err != nil {
			return err
		}
		t, err := scanTime(at)
		if err != nil {
			return err
		}
		if i, ok := first[eventKey{t.UnixMicro(), id}]; ok {
			inserted[i] = true
		}
	}
	return rows.Err()
}

// eventRow is a validated event ready to bind.
type eventRow struct {
	id                                      string
	time, lastTime, received                time.Time
	count                                   int64
	device, hub, source, name, mode, change string
	remoteAddress, result, fields           string
}

func newEventRow(e store.SecurityEvent, now time.Time) (eventRow, error) {
	r := eventRow{id: clean(e.ID)}
	if r.id == "" || len(e.ID) > store.MaxSecurityEventID {
		return r, fmt.Errorf("ID of %d bytes (1..%d)", len(e.ID), store.MaxSecurityEventID)
	}
	var err error
	if r.time, err = checkTime("time", e.Time); err != nil {
		return r, err
	}
	r.lastTime = r.time
	if !e.LastTime.IsZero() {
		if r.lastTime, err = checkTime("last time", e.LastTime); err != nil {
			return r, err
		}
	}
	r.received = now
	if !e.Received.IsZero() {
		if r.received, err = checkTime("received time", e.Received); err != nil {
			return r, err
		}
	}
	r.count = min(max(e.Count, 0), store.MaxSecurityEventCount)
	r.device, r.hub, r.source, r.name = clean(e.Device), clean(e.Hub), clean(e.Source), clean(e.Name)
	r.mode, r.change = clean(e.SnapshotMode), clean(e.Change)
	r.remoteAddress, r.result = clean(e.RemoteAddress), clean(e.Result)
	r.fields = encodeFields(e.Fields)
	return r, nil
}

// eventArgs returns the arguments of rows.
func eventArgs(rows []eventRow) []any {
	args := make([]any, 0, secEventValues*len(rows))
	for i := range rows {
		args = rows[i].appendArgs(args)
	}
	return args
}

func (r *eventRow) appendArgs(args []any) []any {
	return append(args, r.id, r.device, r.hub, r.source, r.name, r.time, r.lastTime, r.count,
		r.mode, r.change, r.remoteAddress, r.result, r.fields, r.received)
}

// ListSecurityEvents returns the events matching f, newest first.
func (s *Store) ListSecurityEvents(ctx context.Context, f store.SecurityEventFilter) ([]store.SecurityEvent, error) {
	var w where
	w.eq("device", f.Device)
	w.eq("name", f.Name)
	w.eq("source", f.Source)
	if !f.Since.IsZero() {
		w.add("time >= ", stamp(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("time < ", stamp(f.Until))
	}
	if !f.After.IsZero() {
		t, id := w.arg(stamp(f.After.Time)), w.arg(clean(f.After.ID))
		// time <= t bounds the index range; the rest settles ties.
		w.conds = append(w.conds, "time <= "+t, "(time < "+t+" OR id < "+id+")")
	}
	limit := w.arg(pageLimit(f.Limit, store.MaxSecurityEventPage, store.MaxSecurityEventPage))
	query := selectEvents + w.String() + ` ORDER BY time DESC, id DESC LIMIT ` + limit
	evs, err := list(ctx, s, scanEvent, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("list security events: %w", err)
	}
	return evs, nil
}

// SecurityEventsSince streams the events with Time >= since of the given
// names, oldest first, through one query on the read pool.
func (s *Store) SecurityEventsSince(ctx context.Context, since time.Time, names []string, fn func(store.SecurityEvent) error) error {
	var w where
	w.add("time >= ", stamp(since))
	if len(names) > 0 {
		ph := make([]string, len(names))
		for i, n := range names {
			ph[i] = w.arg(clean(n))
		}
		w.conds = append(w.conds, "name IN ("+strings.Join(ph, ", ")+")")
	}
	rows, err := s.read.QueryContext(ctx, selectEvents+w.String()+` ORDER BY time, id`, w.args...)
	if err != nil {
		return fmt.Errorf("read security events since %v: %w", since, err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return fmt.Errorf("read security events since %v: %w", since, err)
		}
		if err := fn(e); err != nil {
			return fmt.Errorf("security events since %v: %w", since, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read security events since %v: %w", since, err)
	}
	return nil
}

// DeleteSecurityEventsBefore deletes the events received before t, about
// 5,000 per statement (more when many share a receive time), and returns
// how many it deleted. Canceled midway, it returns what it deleted so far
// with the error.
func (s *Store) DeleteSecurityEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for {
		var end time.Time
		err := s.read.QueryRowContext(ctx, oldEventsChunkEnd, stamp(t), deleteEventsChunk-1).Scan(&end)
		last := errors.Is(err, sql.ErrNoRows) // fewer than a chunk left
		if err != nil && !last {
			return total, fmt.Errorf("delete security events received before %v: %w", t, err)
		}
		var res sql.Result
		if last {
			res, err = s.write.ExecContext(ctx, deleteEventsTo, stamp(t))
		} else {
			res, err = s.write.ExecContext(ctx, deleteEventsUpTo, end)
		}
		if err == nil {
			var n int64
			n, err = res.RowsAffected()
			total += n
		}
		if err != nil {
			return total, fmt.Errorf("delete security events received before %v: %w", t, err)
		}
		if last {
			return total, nil
		}
	}
}

// TopSecurityEvents sums the counts of the events matching q per device or
// remote address.
func (s *Store) TopSecurityEvents(ctx context.Context, q store.TopQuery) ([]store.TopEntry, error) {
	var w where
	w.add("name = ", clean(q.Name))
	w.add("time >= ", stamp(q.Since))
	if !q.Until.IsZero() {
		w.add("time < ", stamp(q.Until))
	}
	w.eq("result", q.Result)
	var key string
	switch q.By {
	case store.TopByDevice:
		key = "device"
	case store.TopByRemoteAddress:
		key = "remote_address"
	default:
		return nil, fmt.Errorf("top security events: grouping %q (want %q or %q)", q.By, store.TopByDevice, store.TopByRemoteAddress)
	}
	w.conds = append(w.conds, key+" <> ''")
	limit := w.arg(pageLimit(q.Limit, 1000, 10))
	query := `SELECT ` + key + `, CAST(SUM(count) AS BIGINT), COUNT(*), COUNT(DISTINCT device), MAX(time)
		FROM security_events` + w.String() + ` GROUP BY ` + key + ` ORDER BY 2 DESC, 1 LIMIT ` + limit
	top, err := list(ctx, s, scanTopEntry, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("top security events %q by %s: %w", q.Name, q.By, err)
	}
	return top, nil
}

func scanTopEntry(row scanner) (store.TopEntry, error) {
	var e store.TopEntry
	var last any
	if err := row.Scan(&e.Key, &e.Count, &e.Events, &e.Devices, &last); err != nil {
		return e, err
	}
	var err error
	e.Last, err = scanTime(last)
	return e, err
}

func scanEvent(row scanner) (store.SecurityEvent, error) {
	var e store.SecurityEvent
	var fields string
	err := row.Scan(&e.ID, &e.Device, &e.Hub, &e.Source, &e.Name, &e.Time, &e.LastTime, &e.Count,
		&e.SnapshotMode, &e.Change, &e.RemoteAddress, &e.Result, &fields, &e.Received)
	if err != nil {
		return e, err
	}
	e.Time, e.LastTime, e.Received = e.Time.UTC(), e.LastTime.UTC(), e.Received.UTC()
	e.Fields, err = decodeFields(fields)
	return e, err
}

// where builds a WHERE clause of ANDed conditions with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// arg adds an argument and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// add adds the condition expr followed by v's placeholder, e.g. add("time >= ", t).
func (w *where) add(expr string, v any) {
	w.conds = append(w.conds, expr+w.arg(v))
}

// eq adds column = v, cleaned like stored values, unless v is "".
func (w *where) eq(column, v string) {
	if v != "" {
		w.add(column+" = ", clean(v))
	}
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

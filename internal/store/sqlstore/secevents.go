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
	secEventColumns = `id, device, hub, source, name, snapshot_mode, time, max_time, received, events, items`
	secEventValues  = 11

	// rowSpread bounds max_time - time of a row: the items of a group are
	// cut into rows of at most ten minutes, so a listing that stops at a
	// time reads at most ten minutes of rows past it.
	rowSpread = 10 * time.Minute
	// maxRowItems bounds the items of a row (a few kilobytes of JSON).
	maxRowItems = 64
	// rowsPerStatement bounds the rows of one PutSecurityEvents statement:
	// 250 rows bind 2,750 values, well within SQLite's 32,766 and
	// PostgreSQL's 65,535.
	rowsPerStatement = 250
	// deleteRowsChunk bounds the rows one retention statement deletes, so
	// that it holds the write lock briefly.
	deleteRowsChunk = 1000

	insertEventsHead = `INSERT INTO security_events (` + secEventColumns + `) VALUES `
	insertEventsTail = ` ON CONFLICT (time, id) DO NOTHING RETURNING id, time`
	selectRows       = `SELECT ` + secEventColumns + ` FROM security_events`
	// The retention deletes go through the received index in chunks: the
	// receive time of the chunk's last row, then every row up to it.
	oldRowsChunkEnd = `SELECT received FROM security_events WHERE received < $1
		ORDER BY received LIMIT 1 OFFSET $2`
	deleteRowsUpTo = `DELETE FROM security_events WHERE received <= $1 RETURNING events`
	deleteRowsTo   = `DELETE FROM security_events WHERE received < $1 RETURNING events`
)

// PutSecurityEvents stores a batch of events in one transaction and
// reports which were new. The events of a group become rows of up to 64
// items within ten minutes; an event without a group is a row of its own.
// A row is a duplicate when one with its Time and ID (its earliest item's)
// is stored. Rows are inserted in (Time, ID) order, in statements of up to
// 250 rows, so concurrent batches lock keys in the same order.
func (s *Store) PutSecurityEvents(ctx context.Context, events []store.SecurityEvent) ([]bool, error) {
	inserted := make([]bool, len(events))
	if len(events) == 0 {
		return inserted, nil
	}
	now := s.timestamp()
	seen := make(map[eventKey]struct{}, len(events))
	groups := map[rowHead][]eventItem{}
	var order []rowHead
	var rows []eventRow
	for i, e := range events {
		h, it, err := newEventItem(e, i, now)
		if err != nil {
			return nil, fmt.Errorf("put security events: event %d: %w", i, err)
		}
		k := eventKey{it.time.UnixMicro(), it.id}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		if e.Group == "" {
			rows = append(rows, newEventRow(h, []eventItem{it}))
			continue
		}
		h.group = e.Group
		if _, ok := groups[h]; !ok {
			order = append(order, h)
		}
		groups[h] = append(groups[h], it)
	}
	for _, h := range order {
		rows = appendGroupRows(rows, h, groups[h])
	}
	slices.SortFunc(rows, func(a, b eventRow) int { return cmp.Or(a.time.Compare(b.time), strings.Compare(a.id, b.id)) })
	rowAt := make(map[eventKey]int, len(rows))
	for i := range rows {
		rowAt[eventKey{rows[i].time.UnixMicro(), rows[i].id}] = i
	}
	mark := func(q *sql.Rows) error { return markInserted(q, rows, rowAt, inserted) }

	full, err := s.fullEvents.get(ctx, s.write)
	if err != nil {
		return nil, fmt.Errorf("put %d security events: prepare: %w", len(events), err)
	}
	if len(rows) <= rowsPerStatement {
		// One statement is atomic by itself. Outside a transaction, SQLite
		// also skips the statement journal it keeps to undo one
		// statement of a transaction.
		var q *sql.Rows
		if len(rows) == rowsPerStatement {
			q, err = full.QueryContext(ctx, eventArgs(rows)...)
		} else {
			q, err = s.write.QueryContext(ctx, s.insertEventsQuery(len(rows)), eventArgs(rows)...)
		}
		if err == nil {
			err = mark(q)
		}
		if err != nil {
			return nil, fmt.Errorf("put %d security events: %w", len(events), err)
		}
		return inserted, nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(rows, rowsPerStatement) {
			var q *sql.Rows
			var err error
			if len(chunk) == rowsPerStatement {
				q, err = tx.StmtContext(ctx, full).QueryContext(ctx, eventArgs(chunk)...)
			} else {
				q, err = tx.QueryContext(ctx, s.insertEventsQuery(len(chunk)), eventArgs(chunk)...)
			}
			if err != nil {
				return err
			}
			if err := mark(q); err != nil {
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

// eventKey identifies a stored event or row: its time in microseconds and
// its ID.
type eventKey struct {
	us int64
	id string
}

// markInserted reads the keys of the rows an insert returned and marks
// their items.
func markInserted(q *sql.Rows, rows []eventRow, rowAt map[eventKey]int, inserted []bool) error {
	defer q.Close()
	for q.Next() {
		var id string
		var at any // SQLite returns the stored text: RETURNING has no declared type
		if err := q.Scan(&id, &at); err != nil {
			return err
		}
		t, err := scanTime(at)
		if err != nil {
			return err
		}
		if i, ok := rowAt[eventKey{t.UnixMicro(), id}]; ok {
			for _, it := range rows[i].items {
				inserted[it.index] = true
			}
		}
	}
	return q.Err()
}

// rowHead is what the items of a row share.
type rowHead struct {
	group                           string
	device, hub, source, name, mode string
	receivedMicros                  int64
	received                        time.Time
}

// eventItem is a validated event ready to encode into a row.
type eventItem struct {
	index                         int // in the batch
	id                            string
	time, lastTime                time.Time
	count                         int64
	change, remoteAddress, result string
	fields                        map[string]string
}

// eventRow is a row ready to bind.
type eventRow struct {
	rowHead
	id            string
	time, maxTime time.Time
	items         []eventItem
}

func newEventItem(e store.SecurityEvent, index int, now time.Time) (rowHead, eventItem, error) {
	it := eventItem{index: index, id: clean(e.ID)}
	var h rowHead
	if it.id == "" || len(e.ID) > store.MaxSecurityEventID {
		return h, it, fmt.Errorf("ID of %d bytes (1..%d)", len(e.ID), store.MaxSecurityEventID)
	}
	var err error
	if it.time, err = checkTime("time", e.Time); err != nil {
		return h, it, err
	}
	it.lastTime = it.time
	if !e.LastTime.IsZero() {
		if it.lastTime, err = checkTime("last time", e.LastTime); err != nil {
			return h, it, err
		}
	}
	h.received = now
	if !e.Received.IsZero() {
		if h.received, err = checkTime("received time", e.Received); err != nil {
			return h, it, err
		}
	}
	h.receivedMicros = h.received.UnixMicro()
	h.device, h.hub, h.source, h.name = clean(e.Device), clean(e.Hub), clean(e.Source), clean(e.Name)
	h.mode = clean(e.SnapshotMode)
	it.count = min(max(e.Count, 0), store.MaxSecurityEventCount)
	it.change, it.remoteAddress, it.result = clean(e.Change), clean(e.RemoteAddress), clean(e.Result)
	it.fields = e.Fields
	return h, it, nil
}

// newEventRow returns the row of items, which are in (time, ID) order.
func newEventRow(h rowHead, items []eventItem) eventRow {
	return eventRow{rowHead: h, id: items[0].id, time: items[0].time, maxTime: items[len(items)-1].time, items: items}
}

// appendGroupRows cuts a group's items, in (time, ID) order, into rows of
// at most maxRowItems spanning at most rowSpread, and appends them.
func appendGroupRows(rows []eventRow, h rowHead, items []eventItem) []eventRow {
	slices.SortFunc(items, func(a, b eventItem) int { return cmp.Or(a.time.Compare(b.time), strings.Compare(a.id, b.id)) })
	start := 0
	for i := 1; i <= len(items); i++ {
		if i == len(items) || i-start == maxRowItems || items[i].time.Sub(items[start].time) > rowSpread {
			rows = append(rows, newEventRow(h, items[start:i]))
			start = i
		}
	}
	return rows
}

// eventArgs returns the arguments of rows.
func eventArgs(rows []eventRow) []any {
	args := make([]any, 0, secEventValues*len(rows))
	var buf []byte
	for i := range rows {
		r := &rows[i]
		buf = appendItems(buf[:0], r.items)
		args = append(args, r.id, r.device, r.hub, r.source, r.name, r.mode, r.time, r.maxTime, r.received,
			len(r.items), string(buf))
	}
	return args
}

// appendItems appends items as the JSON array of a row's items column.
func appendItems(b []byte, items []eventItem) []byte {
	b = append(b, '[')
	for i := range items {
		it := &items[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"i":`...)
		b = appendJSONString(b, it.id)
		b = append(b, `,"t":"`...)
		b = it.time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
		if !it.lastTime.Equal(it.time) {
			b = append(b, `,"l":"`...)
			b = it.lastTime.AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
		}
		b = append(b, `,"c":`...)
		b = strconv.AppendInt(b, it.count, 10)
		for _, f := range [...]struct{ name, v string }{{"ch", it.change}, {"ra", it.remoteAddress}, {"r", it.result}} {
			if f.v != "" {
				b = append(b, ',', '"')
				b = append(b, f.name...)
				b = append(b, '"', ':')
				b = appendJSONString(b, f.v)
			}
		}
		if len(it.fields) > 0 {
			b = append(b, `,"f":`...)
			b = appendFields(b, it.fields)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// storedRow is a row as read back, its items expanded into events.
type storedRow struct {
	time, maxTime time.Time
	events        []store.SecurityEvent
}

func scanRow(row scanner, ir *itemReader) (storedRow, error) {
	var r storedRow
	var id, device, hub, source, name, mode string
	var items []byte
	var received time.Time
	var n int
	if err := row.Scan(&id, &device, &hub, &source, &name, &mode, &r.time, &r.maxTime, &received, &n, &items); err != nil {
		return r, err
	}
	r.time, r.maxTime, received = r.time.UTC(), r.maxTime.UTC(), received.UTC()
	r.events = make([]store.SecurityEvent, 0, n)
	err := ir.each(items, true, func(it *storedItem) {
		e := store.SecurityEvent{ID: it.ID, Device: device, Hub: hub, Source: source, Name: name,
			Time: it.Time, LastTime: it.LastTime, Count: it.Count, SnapshotMode: mode, Change: it.Change,
			RemoteAddress: it.Remote, Result: it.Result, Fields: it.Fields, Received: received}
		if e.LastTime.IsZero() {
			e.LastTime = e.Time
		}
		if e.Fields == nil {
			e.Fields = map[string]string{}
		}
		r.events = append(r.events, e)
	})
	if err != nil {
		return r, fmt.Errorf("security event row %q: %w", id, err)
	}
	return r, nil
}

// ListSecurityEvents returns the events matching f, newest first. It reads
// the rows in descending order of their latest item and merges their items:
// an item is returned once no row still to be read can hold a newer one.
func (s *Store) ListSecurityEvents(ctx context.Context, f store.SecurityEventFilter) ([]store.SecurityEvent, error) {
	var w where
	w.eq("device", f.Device)
	w.eq("name", f.Name)
	w.eq("source", f.Source)
	since, until, after := stamp(f.Since), stamp(f.Until), stamp(f.After.Time)
	if !f.Since.IsZero() {
		w.add("max_time >= ", since)
	}
	if !f.Until.IsZero() {
		w.add("time < ", until)
		w.add("max_time < ", spreadAfter(until))
	}
	if !f.After.IsZero() {
		w.add("time <= ", after)
		w.add("max_time <= ", spreadAfter(after))
	}
	limit := pageLimit(f.Limit, store.MaxSecurityEventPage, store.MaxSecurityEventPage)
	afterID := clean(f.After.ID)
	keep := func(e *store.SecurityEvent) bool {
		return (f.Since.IsZero() || !e.Time.Before(since)) && (f.Until.IsZero() || e.Time.Before(until)) &&
			(f.After.IsZero() || e.Time.Before(after) || e.Time.Equal(after) && e.ID < afterID)
	}
	newer := func(a, b *store.SecurityEvent) bool {
		return a.Time.After(b.Time) || a.Time.Equal(b.Time) && a.ID > b.ID
	}
	out := []store.SecurityEvent{}
	h := &eventHeap{first: newer}
	err := s.eachRow(ctx, selectRows+w.String()+` ORDER BY max_time DESC`, w.args, func(r storedRow) bool {
		for h.Len() > 0 && h.peek().Time.After(r.maxTime) {
			if out = append(out, h.pop()); len(out) == limit {
				return false
			}
		}
		for i := range r.events {
			if keep(&r.events[i]) {
				h.push(r.events[i])
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list security events: %w", err)
	}
	for h.Len() > 0 && len(out) < limit {
		out = append(out, h.pop())
	}
	return out, nil
}

// SecurityEventsSince streams the events with Time >= since of the given
// names, oldest first, through one query on the read pool: the rows in
// order of their earliest item, their items merged.
func (s *Store) SecurityEventsSince(ctx context.Context, since time.Time, names []string, fn func(store.SecurityEvent) error) error {
	since = stamp(since)
	var w where
	w.add("time >= ", spreadBefore(since))
	w.add("max_time >= ", since)
	if len(names) > 0 {
		ph := make([]string, len(names))
		for i, n := range names {
			ph[i] = w.arg(clean(n))
		}
		w.conds = append(w.conds, "name IN ("+strings.Join(ph, ", ")+")")
	}
	older := func(a, b *store.SecurityEvent) bool {
		return a.Time.Before(b.Time) || a.Time.Equal(b.Time) && a.ID < b.ID
	}
	h := &eventHeap{first: older}
	var fnErr error
	emit := func() bool {
		if err := fn(h.pop()); err != nil {
			fnErr = err
			return false
		}
		return true
	}
	err := s.eachRow(ctx, selectRows+w.String()+` ORDER BY time, id`, w.args, func(r storedRow) bool {
		for h.Len() > 0 && h.peek().Time.Before(r.time) {
			if !emit() {
				return false
			}
		}
		for _, e := range r.events {
			if !e.Time.Before(since) {
				h.push(e)
			}
		}
		return true
	})
	for err == nil && fnErr == nil && h.Len() > 0 {
		emit()
	}
	if fnErr != nil {
		return fmt.Errorf("security events since %v: %w", since, fnErr)
	}
	if err != nil {
		return fmt.Errorf("read security events since %v: %w", since, err)
	}
	return nil
}

// eachRow runs query on the read pool and calls fn with each row until it
// returns false.
func (s *Store) eachRow(ctx context.Context, query string, args []any, fn func(storedRow) bool) error {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var ir itemReader
	for rows.Next() {
		r, err := scanRow(rows, &ir)
		if err != nil {
			return err
		}
		if !fn(r) {
			return nil
		}
	}
	return rows.Err()
}

// spreadAfter and spreadBefore move t by a row's largest spread, within
// the years the store accepts.
func spreadAfter(t time.Time) time.Time  { return minOf(t.Add(rowSpread), maxTime) }
func spreadBefore(t time.Time) time.Time { return maxOf(t.Add(-rowSpread), minTime) }

func minOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// eventHeap is a binary heap of events, first(a, b) when a comes out
// before b.
type eventHeap struct {
	evs   []store.SecurityEvent
	first func(a, b *store.SecurityEvent) bool
}

func (h *eventHeap) Len() int                   { return len(h.evs) }
func (h *eventHeap) peek() *store.SecurityEvent { return &h.evs[0] }
func (h *eventHeap) less(i, j int) bool         { return h.first(&h.evs[i], &h.evs[j]) }
func (h *eventHeap) swap(i, j int)              { h.evs[i], h.evs[j] = h.evs[j], h.evs[i] }

func (h *eventHeap) push(e store.SecurityEvent) {
	h.evs = append(h.evs, e)
	for i := len(h.evs) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.swap(i, p)
		i = p
	}
}

func (h *eventHeap) pop() store.SecurityEvent {
	top := h.evs[0]
	last := len(h.evs) - 1
	h.evs[0] = h.evs[last]
	h.evs[last] = store.SecurityEvent{}
	h.evs = h.evs[:last]
	for i := 0; ; {
		c := 2*i + 1
		if c >= last {
			break
		}
		if c+1 < last && h.less(c+1, c) {
			c++
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return top
}

// DeleteSecurityEventsBefore deletes the events received before t, about
// 1,000 rows per statement (more when many share a receive time), and
// returns how many events it deleted. Canceled midway, it returns what it
// deleted so far with the error.
func (s *Store) DeleteSecurityEventsBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for {
		var end time.Time
		err := s.read.QueryRowContext(ctx, oldRowsChunkEnd, stamp(t), deleteRowsChunk-1).Scan(&end)
		last := errors.Is(err, sql.ErrNoRows) // fewer than a chunk left
		if err != nil && !last {
			return total, fmt.Errorf("delete security events received before %v: %w", t, err)
		}
		var q *sql.Rows
		if last {
			q, err = s.write.QueryContext(ctx, deleteRowsTo, stamp(t))
		} else {
			q, err = s.write.QueryContext(ctx, deleteRowsUpTo, end)
		}
		if err == nil {
			err = sumEvents(q, &total)
		}
		if err != nil {
			return total, fmt.Errorf("delete security events received before %v: %w", t, err)
		}
		if last {
			return total, nil
		}
	}
}

// sumEvents adds the events counts a DELETE … RETURNING events returned.
func sumEvents(q *sql.Rows, total *int64) error {
	defer q.Close()
	for q.Next() {
		var n int64
		if err := q.Scan(&n); err != nil {
			return err
		}
		*total += n
	}
	return q.Err()
}

// TopSecurityEvents sums the counts of the events matching q per device or
// remote address. The rows of the window are read and their items summed
// here: the items are stored as JSON, which neither backend indexes.
func (s *Store) TopSecurityEvents(ctx context.Context, q store.TopQuery) ([]store.TopEntry, error) {
	if q.By != store.TopByDevice && q.By != store.TopByRemoteAddress {
		return nil, fmt.Errorf("top security events: grouping %q (want %q or %q)", q.By, store.TopByDevice, store.TopByRemoteAddress)
	}
	since, until := stamp(q.Since), stamp(q.Until)
	var w where
	w.add("name = ", clean(q.Name))
	w.add("max_time >= ", since)
	w.add("time >= ", spreadBefore(since))
	if !q.Until.IsZero() {
		w.add("time < ", until)
	}
	result := clean(q.Result)
	type sum struct {
		store.TopEntry
		devices map[string]struct{}
	}
	sums := map[string]*sum{}
	rows, err := s.read.QueryContext(ctx, `SELECT device, items FROM security_events`+w.String(), w.args...)
	if err != nil {
		return nil, fmt.Errorf("top security events %q by %s: %w", q.Name, q.By, err)
	}
	defer rows.Close()
	var ir itemReader
	var device string
	var raw []byte
	add := func(it *storedItem) {
		if it.Time.Before(since) || !q.Until.IsZero() && !it.Time.Before(until) || result != "" && it.Result != result {
			return
		}
		key := device
		if q.By == store.TopByRemoteAddress {
			key = it.Remote
		}
		if key == "" {
			return
		}
		e := sums[key]
		if e == nil {
			e = &sum{TopEntry: store.TopEntry{Key: key}, devices: map[string]struct{}{}}
			sums[key] = e
		}
		e.Count += it.Count
		e.Events++
		e.devices[device] = struct{}{}
		if it.Time.After(e.Last) {
			e.Last = it.Time
		}
	}
	for rows.Next() {
		if err := rows.Scan(&device, &raw); err != nil {
			return nil, fmt.Errorf("top security events %q by %s: %w", q.Name, q.By, err)
		}
		if err := ir.each(raw, false, add); err != nil {
			return nil, fmt.Errorf("top security events %q by %s: %w", q.Name, q.By, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("top security events %q by %s: %w", q.Name, q.By, err)
	}
	top := make([]store.TopEntry, 0, len(sums))
	for _, e := range sums {
		e.Devices = int64(len(e.devices))
		top = append(top, e.TopEntry)
	}
	slices.SortFunc(top, func(a, b store.TopEntry) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Key, b.Key))
	})
	return top[:min(len(top), pageLimit(q.Limit, 1000, 10))], nil
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

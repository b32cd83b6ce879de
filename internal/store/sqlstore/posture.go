package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/store"
)

// Rows per statement of the posture tables' bulk writes.
const (
	itemsPerStatement     = 500 // 5 values each
	agentSeenPerStatement = 500 // 7 values each
	baselinePerStatement  = 500 // 4 values each
)

const (
	deleteItemsOfName = `DELETE FROM device_items WHERE device = $1 AND name = $2`
	deleteItemsHead   = `DELETE FROM device_items WHERE device = $1 AND name = $2 AND key IN (`
	upsertItemsHead   = `INSERT INTO device_items (device, name, key, fields, updated_at) VALUES `
	upsertItemsTail   = ` ON CONFLICT (device, name, key) DO UPDATE
		SET fields = excluded.fields, updated_at = excluded.updated_at`
	selectItems         = `SELECT name, key, fields, updated_at FROM device_items WHERE device = $1`
	listDevicesWithItem = `SELECT DISTINCT device FROM device_items ORDER BY device`

	upsertAgentSeenHead = `INSERT INTO device_agent_seen (device, hub, first_seen, last_seen, messages, events, bytes) VALUES `
	upsertAgentSeenTail = ` ON CONFLICT (device) DO UPDATE SET
		hub = CASE WHEN excluded.hub <> '' THEN excluded.hub ELSE device_agent_seen.hub END,
		first_seen = CASE WHEN excluded.first_seen < device_agent_seen.first_seen
			THEN excluded.first_seen ELSE device_agent_seen.first_seen END,
		last_seen = CASE WHEN excluded.last_seen > device_agent_seen.last_seen
			THEN excluded.last_seen ELSE device_agent_seen.last_seen END,
		messages = device_agent_seen.messages + excluded.messages,
		events = device_agent_seen.events + excluded.events,
		bytes = device_agent_seen.bytes + excluded.bytes`
	listAgentSeen = `SELECT device, hub, first_seen, last_seen, messages, events, bytes
		FROM device_agent_seen ORDER BY device`

	insertBaselineHead = `INSERT INTO baselines (device, rule, value, first_seen) VALUES `
	insertBaselineTail = ` ON CONFLICT (device, rule, value) DO NOTHING RETURNING device, rule, value`

	// The device's state, deleted with it (DeleteDevice).
	deleteDeviceItems     = `DELETE FROM device_items WHERE device = $1`
	deleteDeviceAgentSeen = `DELETE FROM device_agent_seen WHERE device = $1`
	deleteDeviceBaselines = `DELETE FROM baselines WHERE device = $1`
)

// ApplySnapshot applies a full or diff snapshot of one name to a device's
// items in one transaction.
func (s *Store) ApplySnapshot(ctx context.Context, device, name string, full bool, items []store.DeviceItem) error {
	now := s.timestamp()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return s.applySnapshot(ctx, tx, store.Snapshot{Device: device, Name: name, Full: full, Items: items}, now)
	})
	if err != nil {
		return fmt.Errorf("apply snapshot %q of device %q: %w", name, device, err)
	}
	return nil
}

// ApplySnapshots applies the snapshots in one transaction, by device and
// name (so that concurrent callers lock rows in the same order), in their
// order where a device and name repeat.
func (s *Store) ApplySnapshots(ctx context.Context, snaps []store.Snapshot) error {
	if len(snaps) == 0 {
		return nil
	}
	snaps = slices.Clone(snaps)
	slices.SortStableFunc(snaps, func(a, b store.Snapshot) int {
		return cmp.Or(strings.Compare(clean(a.Device), clean(b.Device)), strings.Compare(clean(a.Name), clean(b.Name)))
	})
	now := s.timestamp()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, sn := range snaps {
			if err := s.applySnapshot(ctx, tx, sn, now); err != nil {
				return fmt.Errorf("snapshot %q of device %q: %w", sn.Name, sn.Device, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply %d snapshots: %w", len(snaps), err)
	}
	return nil
}

// applySnapshot applies one snapshot in tx.
func (s *Store) applySnapshot(ctx context.Context, tx *sql.Tx, sn store.Snapshot, now time.Time) error {
	device, name, full := clean(sn.Device), clean(sn.Name), sn.Full
	// The last occurrence of each key wins; keys are written in order, so
	// concurrent snapshots lock rows in the same order.
	last := make(map[string]store.DeviceItem, len(sn.Items))
	for _, it := range sn.Items {
		it.Key = clean(it.Key)
		last[it.Key] = it
	}
	var upserts, removes []string
	for _, k := range slices.Sorted(maps.Keys(last)) {
		if !full && last[k].Change == store.ItemRemoved {
			removes = append(removes, k)
		} else {
			upserts = append(upserts, k)
		}
	}
	if full {
		if _, err := tx.ExecContext(ctx, deleteItemsOfName, device, name); err != nil {
			return err
		}
	}
	for chunk := range slices.Chunk(removes, itemsPerStatement) {
		args := make([]any, 0, 2+len(chunk))
		args = append(args, device, name)
		for _, k := range chunk {
			args = append(args, k)
		}
		if _, err := tx.ExecContext(ctx, deleteItemsHead+placeholderList(len(chunk), 3)+`)`, args...); err != nil {
			return err
		}
	}
	for chunk := range slices.Chunk(upserts, itemsPerStatement) {
		args := make([]any, 0, 5*len(chunk))
		for _, k := range chunk {
			args = append(args, device, name, k, encodeFields(last[k].Fields), now)
		}
		if _, err := tx.ExecContext(ctx, upsertItemsHead+s.rows(len(chunk), 5)+upsertItemsTail, args...); err != nil {
			return err
		}
	}
	return nil
}

// ListDeviceItems returns a device's items of one name ("" = all) by name and key.
func (s *Store) ListDeviceItems(ctx context.Context, device, name string) ([]store.DeviceItem, error) {
	query, args := selectItems, []any{clean(device)}
	if name != "" {
		query += ` AND name = $2`
		args = append(args, clean(name))
	}
	items, err := list(ctx, s, scanItem, query+` ORDER BY name, key`, args...)
	if err != nil {
		return nil, fmt.Errorf("list items of device %q: %w", device, err)
	}
	return items, nil
}

func scanItem(row scanner) (store.DeviceItem, error) {
	var it store.DeviceItem
	var fields string
	if err := row.Scan(&it.Name, &it.Key, &fields, &it.UpdatedAt); err != nil {
		return it, err
	}
	it.UpdatedAt = it.UpdatedAt.UTC()
	var err error
	it.Fields, err = decodeFields(fields)
	return it, err
}

// ListDevicesWithItems returns the IDs of the devices holding items.
func (s *Store) ListDevicesWithItems(ctx context.Context) ([]string, error) {
	ids, err := list(ctx, s, func(row scanner) (string, error) {
		var id string
		err := row.Scan(&id)
		return id, err
	}, listDevicesWithItem)
	if err != nil {
		return nil, fmt.Errorf("list devices with items: %w", err)
	}
	return ids, nil
}

// TouchAgentSeen adds a batch's figures per device. Like PutLastSeen, each
// statement is atomic, in device order, without a transaction around them.
func (s *Store) TouchAgentSeen(ctx context.Context, seen map[string]store.AgentSeen) error {
	now := s.timestamp()
	devices := slices.Sorted(maps.Keys(seen))
	for chunk := range slices.Chunk(devices, agentSeenPerStatement) {
		args := make([]any, 0, 7*len(chunk))
		for _, d := range chunk {
			a := seen[d]
			first, last, err := seenRange(a.FirstSeen, a.LastSeen, now)
			if err != nil {
				return fmt.Errorf("touch agent of device %q: %w", d, err)
			}
			args = append(args, clean(d), clean(a.Hub), first, last, max(a.Messages, 0), max(a.Events, 0), max(a.Bytes, 0))
		}
		// Cleaning may make two devices one: merge them, as PostgreSQL
		// refuses a statement that updates a row twice.
		args = mergeAgentArgs(args)
		if _, err := s.write.ExecContext(ctx, upsertAgentSeenHead+s.rows(len(args)/7, 7)+upsertAgentSeenTail, args...); err != nil {
			return fmt.Errorf("touch agents of %d devices: %w", len(seen), err)
		}
	}
	return nil
}

// seenRange returns first and last stamped, now for a zero one, ordered.
func seenRange(first, last, now time.Time) (time.Time, time.Time, error) {
	if first.IsZero() {
		first = now
	}
	if last.IsZero() {
		last = now
	}
	var err error
	if first, err = checkTime("first seen", first); err != nil {
		return first, last, err
	}
	if last, err = checkTime("last seen", last); err != nil {
		return first, last, err
	}
	if last.Before(first) {
		first, last = last, first
	}
	return first, last, nil
}

// mergeAgentArgs merges rows of agent-seen arguments (7 per row) that name
// the same device.
func mergeAgentArgs(args []any) []any {
	at := map[string]int{}
	out := args[:0]
	for i := 0; i < len(args); i += 7 {
		row := args[i : i+7]
		j, dup := at[row[0].(string)]
		if !dup {
			at[row[0].(string)] = len(out)
			out = append(out, row...)
			continue
		}
		m := out[j : j+7]
		if h := row[1].(string); h != "" {
			m[1] = h
		}
		if f := row[2].(time.Time); f.Before(m[2].(time.Time)) {
			m[2] = f
		}
		if l := row[3].(time.Time); l.After(m[3].(time.Time)) {
			m[3] = l
		}
		for k := 4; k < 7; k++ {
			m[k] = m[k].(int64) + row[k].(int64)
		}
	}
	return out
}

// ListAgentSeen returns every device's totals ordered by device.
func (s *Store) ListAgentSeen(ctx context.Context) ([]store.AgentSeen, error) {
	seen, err := list(ctx, s, func(row scanner) (store.AgentSeen, error) {
		var a store.AgentSeen
		err := row.Scan(&a.Device, &a.Hub, &a.FirstSeen, &a.LastSeen, &a.Messages, &a.Events, &a.Bytes)
		a.FirstSeen, a.LastSeen = a.FirstSeen.UTC(), a.LastSeen.UTC()
		return a, err
	}, listAgentSeen)
	if err != nil {
		return nil, fmt.Errorf("list agents seen: %w", err)
	}
	return seen, nil
}

// baselineKey identifies a baseline value.
type baselineKey struct{ device, rule, value string }

// RememberValues records baseline values in one transaction, in key order,
// and reports which were new.
func (s *Store) RememberValues(ctx context.Context, values []store.BaselineValue) ([]bool, error) {
	isNew := make([]bool, len(values))
	first := make(map[baselineKey]int, len(values))
	keys := make([]baselineKey, 0, len(values))
	for i, v := range values {
		k := baselineKey{clean(v.Device), clean(v.Rule), clean(v.Value)}
		if _, dup := first[k]; dup {
			continue
		}
		first[k] = i
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return isNew, nil
	}
	slices.SortFunc(keys, func(a, b baselineKey) int {
		if c := strings.Compare(a.device, b.device); c != 0 {
			return c
		}
		if c := strings.Compare(a.rule, b.rule); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	now := s.timestamp()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(keys, baselinePerStatement) {
			args := make([]any, 0, 4*len(chunk))
			for _, k := range chunk {
				args = append(args, k.device, k.rule, k.value, now)
			}
			rows, err := tx.QueryContext(ctx, insertBaselineHead+s.rows(len(chunk), 4)+insertBaselineTail, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var k baselineKey
				if err := rows.Scan(&k.device, &k.rule, &k.value); err != nil {
					rows.Close()
					return err
				}
				if i, ok := first[k]; ok {
					isNew[i] = true
				}
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("remember %d baseline values: %w", len(values), err)
	}
	return isNew, nil
}

// deleteDeviceState deletes a device's state rows: its snapshot items,
// agent figures and baseline values. Its security history stays.
func deleteDeviceState(ctx context.Context, tx *sql.Tx, id string) error {
	for _, q := range []string{deleteDeviceItems, deleteDeviceAgentSeen, deleteDeviceBaselines} {
		if _, err := tx.ExecContext(ctx, q, clean(id)); err != nil {
			return err
		}
	}
	return nil
}

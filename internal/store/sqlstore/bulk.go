package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/moatsec/moat/internal/store"
)

// Bulk import writes many rows per statement: Dialect.BulkValues values,
// 8 per device (the timestamp is shared) and 3 per tag.
const (
	defaultBulkValues = 900
	deviceValues      = 8 // deviceArgs; the shared timestamp is $1
	tagValues         = 3
)

const (
	upsertDevicesHead = `INSERT INTO devices (` + deviceColumns + `) VALUES `
	upsertDevicesTail = ` ON CONFLICT (id) DO UPDATE
		SET hub = excluded.hub, status = excluded.status, status_reason = excluded.status_reason,
		    primary_key = excluded.primary_key, secondary_key = excluded.secondary_key,
		    cert_thumbprint = excluded.cert_thumbprint, policy = excluded.policy, updated_at = excluded.updated_at`
	// The range bound keeps the plan an index scan even when the planner
	// has no statistics yet (a first import): it would otherwise expect a
	// long IN list to match most of the table, and scan all of it.
	deleteTagsOfHead       = `DELETE FROM device_tags WHERE device_id >= $1 AND device_id <= $2 AND device_id IN (`
	clearThumbprintsOfHead = `UPDATE devices SET cert_thumbprint = NULL WHERE cert_thumbprint IS NOT NULL AND id IN (`
)

// PutDevices creates or replaces many devices with their tags in one
// transaction: all or nothing. When an ID occurs more than once the last
// occurrence wins, as if the devices were put one after another. Errors are
// those of PutDevice.
func (s *Store) PutDevices(ctx context.Context, ds []store.Device) error {
	ds = lastByID(ds)
	if len(ds) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		b := &bulk{ctx: ctx, tx: tx, stmts: map[string]*sql.Stmt{},
			devices: max(1, (s.dialect.BulkValues-1)/deviceValues), tags: max(1, s.dialect.BulkValues/tagValues)}
		defer b.close()
		return b.putDevices(ds, s.timestamp())
	})
	if err != nil {
		return s.deviceWriteErr(fmt.Sprintf("put %d devices", len(ds)), err)
	}
	return nil
}

// lastByID keeps the last occurrence of each ID and sorts by ID, so that
// concurrent imports lock rows in the same order.
func lastByID(ds []store.Device) []store.Device {
	at := make(map[string]int, len(ds))
	out := make([]store.Device, 0, len(ds))
	for _, d := range ds {
		if i, ok := at[d.ID]; ok {
			out[i] = d
			continue
		}
		at[d.ID] = len(out)
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b store.Device) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// bulk writes devices in multi-row statements inside one transaction. Each
// distinct statement text is prepared once and reused: every full chunk has
// the same text.
type bulk struct {
	ctx           context.Context
	tx            *sql.Tx
	stmts         map[string]*sql.Stmt
	devices, tags int   // rows per statement
	pending       []any // (device_id, key, value) triples not yet inserted
}

func (b *bulk) putDevices(ds []store.Device, now time.Time) error {
	if slices.ContainsFunc(ds, func(d store.Device) bool { return d.CertThumbprint != "" }) {
		// A thumbprint may move from one imported device to another: clear
		// theirs first, so that the order of the rows cannot matter.
		for chunk := range slices.Chunk(ds, b.devices) {
			if err := b.exec(clearThumbprintsOfHead+placeholderList(len(chunk), 1)+`)`, ids(chunk)); err != nil {
				return err
			}
		}
	}
	for chunk := range slices.Chunk(ds, b.devices) {
		args := make([]any, 1, 1+deviceValues*len(chunk))
		args[0] = now
		for _, d := range chunk {
			args = append(args, deviceArgs(d)...)
		}
		if err := b.exec(upsertDevicesHead+valueRows(len(chunk), deviceValues, 2, ", $1, $1")+upsertDevicesTail, args); err != nil {
			return err
		}
		bounds := []any{chunk[0].ID, chunk[len(chunk)-1].ID} // chunk is sorted
		if err := b.exec(deleteTagsOfHead+placeholderList(len(chunk), 3)+`)`, append(bounds, ids(chunk)...)); err != nil {
			return err
		}
		for _, d := range chunk {
			b.pending = appendTagArgs(b.pending, d)
		}
		if err := b.insertTags(false); err != nil {
			return err
		}
	}
	return b.insertTags(true)
}

// insertTags inserts the pending tags in full statements, and the rest too
// when all is set.
func (b *bulk) insertTags(all bool) error {
	full := tagValues * b.tags
	for len(b.pending) >= full || (all && len(b.pending) > 0) {
		n := min(len(b.pending), full)
		if err := b.exec(insertTagsHead+valueRows(n/tagValues, tagValues, 1, ""), b.pending[:n]); err != nil {
			return err
		}
		b.pending = b.pending[n:]
	}
	return nil
}

func (b *bulk) exec(query string, args []any) error {
	st, ok := b.stmts[query]
	if !ok {
		var err error
		if st, err = b.tx.PrepareContext(b.ctx, query); err != nil {
			return err
		}
		b.stmts[query] = st
	}
	_, err := st.ExecContext(b.ctx, args...)
	return err
}

func (b *bulk) close() {
	for _, st := range b.stmts {
		_ = st.Close()
	}
}

func ids(ds []store.Device) []any {
	out := make([]any, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/moatsec/moat/internal/store"
)

// maxDevicePage caps ListDevices; a filter's Limit outside 1..maxDevicePage
// is treated as maxDevicePage.
const maxDevicePage = 1000

const (
	deviceColumns = `id, hub, status, status_reason, primary_key, secondary_key, cert_thumbprint, policy, created_at, updated_at`

	insertDevice = `INSERT INTO devices (` + deviceColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (id) DO NOTHING`
	updateDevice = `UPDATE devices
		SET hub = $2, status = $3, status_reason = $4, primary_key = $5, secondary_key = $6,
		    cert_thumbprint = $7, policy = $8, updated_at = $9
		WHERE id = $1`
	setDeviceStatus  = `UPDATE devices SET status = $2, status_reason = $3, updated_at = $4 WHERE id = $1`
	deleteDevice     = `DELETE FROM devices WHERE id = $1`
	deleteDeviceTags = `DELETE FROM device_tags WHERE device_id = $1`

	// selectDevices reads devices with their tags in one statement (one
	// snapshot): a device has one row per tag, or one row with NULL tag
	// columns when it has none. The caller appends the FROM source.
	selectDevices = `SELECT d.id, d.hub, d.status, d.status_reason, d.primary_key, d.secondary_key,
		d.cert_thumbprint, d.policy, d.created_at, d.updated_at, t.key, t.value FROM `
	joinTags       = ` d LEFT JOIN device_tags t ON t.device_id = d.id`
	getDevice      = selectDevices + `devices` + joinTags + ` WHERE d.id = $1`
	getDeviceByTP  = selectDevices + `devices` + joinTags + ` WHERE d.cert_thumbprint = $1`
	orderByIDTag   = ` ORDER BY d.id, t.key`
	insertTagsHead = `INSERT INTO device_tags (device_id, key, value) VALUES `
)

// PutDevice creates or replaces a device with its tags; created reports
// whether it was new. A missing hub is store.ErrNotFound, a thumbprint
// another device holds store.ErrConflict.
func (s *Store) PutDevice(ctx context.Context, d store.Device) (bool, error) {
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		created, err = upsert(ctx, tx, insertDevice, updateDevice, append(deviceArgs(d), s.timestamp())...)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, deleteDeviceTags, d.ID); err != nil {
			return err
		}
		if len(d.Tags) == 0 {
			return nil
		}
		args := appendTagArgs(nil, d)
		_, err = tx.ExecContext(ctx, insertTagsHead+valueRows(len(d.Tags), 3, 1, ""), args...)
		return err
	})
	if err != nil {
		return false, s.deviceWriteErr(fmt.Sprintf("put device %q", d.ID), err)
	}
	return created, nil
}

// GetDevice returns a device with its tags, or store.ErrNotFound.
func (s *Store) GetDevice(ctx context.Context, id string) (store.Device, error) {
	return s.getDeviceBy(ctx, getDevice, id, fmt.Sprintf("device %q", id))
}

// GetDeviceByThumbprint returns the device holding a certificate thumbprint,
// or store.ErrNotFound.
func (s *Store) GetDeviceByThumbprint(ctx context.Context, thumbprint string) (store.Device, error) {
	what := fmt.Sprintf("device with thumbprint %q", thumbprint)
	if thumbprint == "" {
		return store.Device{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return s.getDeviceBy(ctx, getDeviceByTP, thumbprint, what)
}

func (s *Store) getDeviceBy(ctx context.Context, query, arg, what string) (store.Device, error) {
	ds, err := s.queryDevices(ctx, query, arg)
	if err != nil {
		return store.Device{}, fmt.Errorf("get %s: %w", what, err)
	}
	if len(ds) == 0 {
		return store.Device{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return ds[0], nil
}

// ListDevices returns the devices matching f ordered by ID, at most f.Limit
// (capped at 1000) with IDs after f.After.
func (s *Store) ListDevices(ctx context.Context, f store.DeviceFilter) ([]store.Device, error) {
	query, args := listDevicesQuery(f)
	ds, err := s.queryDevices(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return ds, nil
}

// listDevicesQuery selects one page of devices in a subquery, so the limit
// counts devices, not tag rows, and joins their tags.
func listDevicesQuery(f store.DeviceFilter) (string, []any) {
	args := []any{f.After}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var page strings.Builder
	page.WriteString(`(SELECT ` + deviceColumns + ` FROM devices dv WHERE dv.id > $1`)
	if f.Status != "" {
		page.WriteString(` AND dv.status = ` + arg(f.Status))
	}
	if f.Hub != "" {
		page.WriteString(` AND dv.hub = ` + arg(f.Hub))
	}
	if f.TagKey != "" {
		page.WriteString(` AND EXISTS (SELECT 1 FROM device_tags ft WHERE ft.device_id = dv.id AND ft.key = ` + arg(f.TagKey))
		if f.TagVal != "" {
			page.WriteString(` AND ft.value = ` + arg(f.TagVal))
		}
		page.WriteString(`)`)
	}
	limit := f.Limit
	if limit <= 0 || limit > maxDevicePage {
		limit = maxDevicePage
	}
	page.WriteString(` ORDER BY dv.id LIMIT ` + arg(limit) + `)`)
	return selectDevices + page.String() + joinTags + orderByIDTag, args
}

// SetDeviceStatus changes a device's status and status reason, or returns
// store.ErrNotFound.
func (s *Store) SetDeviceStatus(ctx context.Context, id, status, reason string) error {
	updated, err := execOne(ctx, s.write, setDeviceStatus, id, status, reason, s.timestamp())
	if err != nil {
		return fmt.Errorf("set status of device %q: %w", id, err)
	}
	if !updated {
		return fmt.Errorf("device %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// DeleteDevice removes a device and its tags, or returns store.ErrNotFound.
// In the same transaction it deletes the device's security state (snapshot
// items, agent figures, baseline values); its security history (events,
// alerts, response actions) stays.
func (s *Store) DeleteDevice(ctx context.Context, id string) error {
	var deleted bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if deleted, err = execOne(ctx, tx, deleteDevice, id); err != nil || !deleted {
			return err
		}
		return deleteDeviceState(ctx, tx, id)
	})
	if err != nil {
		return fmt.Errorf("delete device %q: %w", id, err)
	}
	if !deleted {
		return fmt.Errorf("device %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// deviceWriteErr maps the constraint violations of a device write: the
// hub foreign key to store.ErrNotFound, the thumbprint's uniqueness to
// store.ErrConflict.
func (s *Store) deviceWriteErr(what string, err error) error {
	switch {
	case s.dialect.IsForeignKeyViolation(err):
		return fmt.Errorf("%s: the hub does not exist: %w", what, store.ErrNotFound)
	case s.dialect.IsUniqueViolation(err):
		return fmt.Errorf("%s: certificate thumbprint used by another device: %w", what, store.ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// deviceArgs are the values of a device's columns from id to policy, the
// leading arguments of insertDevice and updateDevice; the timestamps follow.
func deviceArgs(d store.Device) []any {
	return []any{d.ID, d.Hub, d.Status, d.StatusReason, nonNil(d.PrimaryKey), nonNil(d.SecondaryKey),
		nullIfEmpty(d.CertThumbprint), nullIfEmpty(string(d.Policy))}
}

// appendTagArgs appends the (device_id, key, value) triples of d's tags.
func appendTagArgs(args []any, d store.Device) []any {
	for k, v := range d.Tags {
		args = append(args, d.ID, k, v)
	}
	return args
}

// nullIfEmpty binds "" as NULL: an absent thumbprint must not collide with
// another under UNIQUE, and an absent policy is not JSON.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// queryDevices runs a selectDevices query and folds its rows (one per tag)
// into devices, in row order.
func (s *Store) queryDevices(ctx context.Context, query string, args ...any) ([]store.Device, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Device{}
	for rows.Next() {
		var (
			d          store.Device
			thumb, pol sql.NullString
			key, val   sql.NullString
		)
		if err := rows.Scan(&d.ID, &d.Hub, &d.Status, &d.StatusReason, &d.PrimaryKey, &d.SecondaryKey,
			&thumb, &pol, &d.CreatedAt, &d.UpdatedAt, &key, &val); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != d.ID {
			d.PrimaryKey, d.SecondaryKey = nonNil(d.PrimaryKey), nonNil(d.SecondaryKey)
			d.CertThumbprint = thumb.String
			if pol.Valid {
				d.Policy = []byte(pol.String)
			}
			d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
			d.Tags = map[string]string{}
			out = append(out, d)
		}
		if key.Valid {
			out[len(out)-1].Tags[key.String] = val.String
		}
	}
	return out, rows.Err()
}

// valueRows returns n parenthesized rows of width numbered placeholders
// starting at $first, each followed by suffix: valueRows(2, 2, 1, "") is
// "($1, $2), ($3, $4)".
func valueRows(n, width, first int, suffix string) string {
	var b strings.Builder
	b.Grow(n * width * 6)
	p := first
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range width {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(p))
			p++
		}
		b.WriteString(suffix)
		b.WriteByte(')')
	}
	return b.String()
}

// placeholderList returns "$first, …, $(first+n-1)" for an IN list.
func placeholderList(n, first int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + i))
	}
	return b.String()
}

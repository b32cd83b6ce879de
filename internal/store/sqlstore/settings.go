package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/moatsec/moat/internal/store"
)

const (
	putSetting = `INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
	getSetting    = `SELECT value, updated_at FROM settings WHERE key = $1`
	deleteSetting = `DELETE FROM settings WHERE key = $1`
)

// maxSettingKey bounds setting keys.
const maxSettingKey = 200

// PutSetting creates or replaces a setting.
func (s *Store) PutSetting(ctx context.Context, key string, value []byte) error {
	if key == "" || len(key) > maxSettingKey {
		return fmt.Errorf("put setting: key of %d bytes (1..%d)", len(key), maxSettingKey)
	}
	if _, err := s.write.ExecContext(ctx, putSetting, key, string(value), s.timestamp()); err != nil {
		return fmt.Errorf("put setting %q: %w", key, err)
	}
	return nil
}

// GetSetting returns a setting or store.ErrNotFound.
func (s *Store) GetSetting(ctx context.Context, key string) ([]byte, time.Time, error) {
	var v string
	var at time.Time
	err := s.read.QueryRowContext(ctx, getSetting, key).Scan(&v, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, fmt.Errorf("setting %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("get setting %q: %w", key, err)
	}
	return []byte(v), at.UTC(), nil
}

// DeleteSetting removes a setting or returns store.ErrNotFound.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	ok, err := execOne(ctx, s.write, deleteSetting, key)
	if err != nil {
		return fmt.Errorf("delete setting %q: %w", key, err)
	}
	if !ok {
		return fmt.Errorf("setting %q: %w", key, store.ErrNotFound)
	}
	return nil
}

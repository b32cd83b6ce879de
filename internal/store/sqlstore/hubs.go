package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/moatsec/moat/internal/store"
)

const (
	hubColumns = `name, partitions, retention_hours, created_at, updated_at`

	insertHub = `INSERT INTO hubs (` + hubColumns + `)
		VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (name) DO NOTHING`
	updateHub = `UPDATE hubs SET partitions = $2, retention_hours = $3, updated_at = $4
		WHERE name = $1`
	getHub    = `SELECT ` + hubColumns + ` FROM hubs WHERE name = $1`
	listHubs  = `SELECT ` + hubColumns + ` FROM hubs ORDER BY name`
	deleteHub = `DELETE FROM hubs WHERE name = $1`
)

// PutHub creates or updates a hub; created reports whether it was new.
func (s *Store) PutHub(ctx context.Context, h store.Hub) (bool, error) {
	created, err := upsert(ctx, s.write, insertHub, updateHub, h.Name, h.Partitions, h.RetentionHours, s.timestamp())
	if err != nil {
		return false, fmt.Errorf("put hub %q: %w", h.Name, err)
	}
	return created, nil
}

// GetHub returns the named hub or store.ErrNotFound.
func (s *Store) GetHub(ctx context.Context, name string) (store.Hub, error) {
	h, err := scanHub(s.read.QueryRowContext(ctx, getHub, name))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Hub{}, fmt.Errorf("hub %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return store.Hub{}, fmt.Errorf("get hub %q: %w", name, err)
	}
	return h, nil
}

// ListHubs returns every hub ordered by name.
func (s *Store) ListHubs(ctx context.Context) ([]store.Hub, error) {
	hubs, err := list(ctx, s, scanHub, listHubs)
	if err != nil {
		return nil, fmt.Errorf("list hubs: %w", err)
	}
	return hubs, nil
}

// DeleteHub removes the hub; the schema's foreign keys cascade the delete to
// its rules and checkpoints in the same statement, and refuse it
// (store.ErrConflict) while devices belong to the hub. The hub's last-seen
// times, which have no foreign key, go in the same transaction.
func (s *Store) DeleteHub(ctx context.Context, name string) error {
	var deleted bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if deleted, err = execOne(ctx, tx, deleteHub, name); err != nil || !deleted {
			return err
		}
		_, err = tx.ExecContext(ctx, deleteHubLastSeen, name)
		return err
	})
	if err != nil && s.dialect.IsForeignKeyViolation(err) {
		return fmt.Errorf("delete hub %q: devices belong to it: %w", name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("delete hub %q: %w", name, err)
	}
	if !deleted {
		return fmt.Errorf("hub %q: %w", name, store.ErrNotFound)
	}
	return nil
}

func scanHub(row scanner) (store.Hub, error) {
	var h store.Hub
	err := row.Scan(&h.Name, &h.Partitions, &h.RetentionHours, &h.CreatedAt, &h.UpdatedAt)
	h.CreatedAt, h.UpdatedAt = h.CreatedAt.UTC(), h.UpdatedAt.UTC()
	return h, err
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/moatsec/moat/internal/store"
)

// lastSeenPerStatement bounds the rows of one PutLastSeen statement.
const lastSeenPerStatement = 500

const (
	upsertLastSeenHead = `INSERT INTO last_seen (hub, publisher, at) VALUES `
	upsertLastSeenTail = ` ON CONFLICT (hub, publisher) DO UPDATE SET at = excluded.at WHERE excluded.at > last_seen.at`
	getLastSeen        = `SELECT at FROM last_seen WHERE hub = $1 AND publisher = $2`
	deleteHubLastSeen  = `DELETE FROM last_seen WHERE hub = $1`
)

// PutLastSeen records when publishers of a hub last had an event accepted,
// keeping the later time when one is already recorded. Times are stored in
// UTC with microsecond precision. Each statement is atomic and a retry is
// harmless, so a large map is written in several statements without a
// transaction; they run in publisher order, so concurrent writers lock rows
// in the same order.
func (s *Store) PutLastSeen(ctx context.Context, hub string, seen map[string]time.Time) error {
	pubs := slices.Sorted(maps.Keys(seen))
	for chunk := range slices.Chunk(pubs, lastSeenPerStatement) {
		args := make([]any, 0, 3*len(chunk))
		for _, p := range chunk {
			args = append(args, hub, p, seen[p].UTC().Truncate(time.Microsecond))
		}
		if _, err := s.write.ExecContext(ctx, upsertLastSeenHead+valueRows(len(chunk), 3, 1, "")+upsertLastSeenTail, args...); err != nil {
			return fmt.Errorf("put last-seen times of hub %q: %w", hub, err)
		}
	}
	return nil
}

// GetLastSeen returns when a publisher last had an event accepted, or
// store.ErrNotFound if never.
func (s *Store) GetLastSeen(ctx context.Context, hub, publisher string) (time.Time, error) {
	var at time.Time
	err := s.read.QueryRowContext(ctx, getLastSeen, hub, publisher).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("last-seen time of publisher %q of hub %q: %w", publisher, hub, store.ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("get last-seen time of publisher %q of hub %q: %w", publisher, hub, err)
	}
	return at.UTC(), nil
}

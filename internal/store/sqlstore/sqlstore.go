// Package sqlstore implements store.Store on database/sql for every SQL
// backend. The backends (sqlite, postgres) open the connection pools, apply
// their dialect's schema migrations and hand the pools to New; all queries
// live here, written once in the SQL subset both dialects accept: $N
// placeholders, INSERT … ON CONFLICT, RETURNING (SQLite 3.35 and later),
// CASE rather than dialect functions such as GREATEST.
//
// Query text is identical across dialects; what differs is kept in the
// backend: the DDL (per-dialect migration files), how connections are
// configured, and how the driver reports a foreign-key violation (Dialect).
//
// Timestamps come from the Go clock, in UTC, truncated to microseconds (the
// PostgreSQL timestamp precision) so both backends return identical values.
// Checkpoint sequences live in a signed 64-bit column, so the supported range
// is 0 through store.MaxSequence (2^63-1).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/moatsec/moat/internal/store"
)

// Dialect describes what the shared queries need to know about a driver.
type Dialect struct {
	// IsForeignKeyViolation reports whether err is the driver's error for a
	// foreign-key constraint violation. The store maps it to store.ErrNotFound
	// when a rule, checkpoint or device names a hub that does not exist, and
	// to store.ErrConflict when a deleted hub still has devices.
	IsForeignKeyViolation func(error) bool
	// IsUniqueViolation reports whether err is the driver's error for a
	// unique constraint violation (a device thumbprint already taken).
	IsUniqueViolation func(error) bool
	// BulkValues is how many values one bulk-import statement binds (0 =
	// 900). More values per statement mean fewer statements to plan and
	// send, which PostgreSQL rewards; the SQLite driver looks each
	// placeholder up by name, at a cost quadratic in their number.
	BulkValues int
	// OrdinalRows makes the security tables' multi-row statements use
	// anonymous ? placeholders, bound in order, instead of $N. SQLite
	// treats $N as a name, which it looks up by a linear search when the
	// statement is parsed and again when each value is bound: a statement
	// of 7,000 values then spends most of its time there.
	OrdinalRows bool
}

// Store implements store.Store over database/sql connection pools.
type Store struct {
	write   *sql.DB // statements that modify data
	read    *sql.DB // queries; the same pool as write unless the backend splits them
	dialect Dialect
	// fullEvents inserts a full statement's worth of security events.
	fullEvents *lazyStmt
}

var _ store.Store = (*Store)(nil)

// New returns a Store that writes through write and queries through read,
// which may be the same pool. The schema must already be migrated. The Store
// owns the pools: Close closes them.
func New(write, read *sql.DB, d Dialect) *Store {
	if d.BulkValues <= 0 {
		d.BulkValues = defaultBulkValues
	}
	s := &Store{write: write, read: read, dialect: d}
	s.fullEvents = &lazyStmt{query: s.insertEventsQuery(rowsPerStatement)}
	return s
}

// timestamp returns the current time as the store records it.
func (s *Store) timestamp() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Ping reports whether the database is reachable through every pool.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if s.read != s.write {
		if err := s.read.PingContext(ctx); err != nil {
			return fmt.Errorf("ping read pool: %w", err)
		}
	}
	return nil
}

// Close closes the connection pools. It is safe to call more than once.
func (s *Store) Close() error {
	err := errors.Join(s.fullEvents.close(), s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// maxUpsertAttempts bounds the insert-then-update loop in upsert. Another
// attempt is needed only when a concurrent delete removes the row between the
// two statements, so hitting the bound takes sustained create/delete churn on
// a single key.
const maxUpsertAttempts = 8

// execer runs statements: a connection pool or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// upsert writes a row that may or may not exist and reports whether it was
// created. insert must be an INSERT … ON CONFLICT DO NOTHING and update an
// UPDATE of the same key; both take args (so each must reference every
// placeholder, which PostgreSQL requires to infer parameter types).
//
// A single INSERT … ON CONFLICT DO UPDATE cannot report "created" portably,
// and a transaction would not close the race under READ COMMITTED either, so
// this relies on each statement being atomic: the insert wins or the row
// exists; the update changes it or the row was deleted meanwhile, and then we
// try again.
func upsert(ctx context.Context, ex execer, insert, update string, args ...any) (bool, error) {
	for range maxUpsertAttempts {
		inserted, err := execOne(ctx, ex, insert, args...)
		if err != nil || inserted {
			return inserted, err
		}
		updated, err := execOne(ctx, ex, update, args...)
		if err != nil || updated {
			return false, err
		}
	}
	return false, fmt.Errorf("row deleted concurrently %d times in a row; giving up", maxUpsertAttempts)
}

// execOne runs a write statement and reports whether it affected a row.
func execOne(ctx context.Context, ex execer, query string, args ...any) (bool, error) {
	res, err := ex.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// inTx runs fn in a transaction on the write pool, committing when fn
// succeeds and rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// scanner is the Scan method shared by *sql.Row and *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// list runs a query on the read pool and scans every row with scan. The
// result is never nil, so an empty list encodes as a JSON array.
func list[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Package sqlite is the embedded store.Store backend: one SQLite database
// file, through the pure-Go driver modernc.org/sqlite, for single-node
// deployments.
//
// SQLite allows one writer at a time, so the store keeps two pools on the
// file: a single write connection, which serializes writes inside the process
// instead of letting them fail with SQLITE_BUSY, and a pool of read-only
// connections that run concurrently with it thanks to WAL mode. busy_timeout
// covers the remaining contention (WAL checkpoints, another process).
//
// Open migrates the schema. Two processes must not open a new, unmigrated
// file at the same moment: SQLite has no session lock to serialize goose with.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations holds the goose migrations at the root of an FS.
var migrations = func() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	return sub
}()

// busyTimeoutMillis is how long a connection waits for a lock held by another
// connection or process before failing with SQLITE_BUSY.
const busyTimeoutMillis = 10_000

// Store is a store.Store backed by a SQLite database file.
type Store struct {
	*sqlstore.Store
}

var _ store.Store = (*Store)(nil)

var dialect = sqlstore.Dialect{IsForeignKeyViolation: isForeignKeyViolation, IsUniqueViolation: isUniqueViolation,
	OrdinalRows: true}

// Open opens the SQLite database at path, creating the file (mode 0600) and
// its parent directories (mode 0700) if they do not exist, and migrates it to
// the current schema.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := createFile(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}

	write, err := openPool(path, writeParams(), 1)
	if err != nil {
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, write, goose.DialectSQLite3, migrations); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	read, err := openPool(path, readParams(), max(4, runtime.GOMAXPROCS(0)))
	if err != nil {
		write.Close()
		return nil, err
	}
	if err := read.PingContext(ctx); err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return &Store{sqlstore.New(write, read, dialect)}, nil
}

// createFile creates the database file and its directory with owner-only
// permissions before SQLite does (it would use 0644). SQLite gives the -wal
// and -shm files the permissions of the database file. Existing files and
// directories keep theirs.
func createFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// commonParams are the driver settings of every connection.
func commonParams() url.Values {
	return url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
			"foreign_keys(1)",
		},
		// Write time.Time as "2006-01-02 15:04:05.999999999-07:00".
		"_time_format": {"sqlite"},
	}
}

func writeParams() url.Values {
	p := commonParams()
	p["_pragma"] = append(p["_pragma"],
		"journal_mode(WAL)",
		// FULL: a commit survives power loss. Metadata writes are rare
		// enough, and a revoked rule must not come back after a crash.
		"synchronous(FULL)",
	)
	// Take the write lock at BEGIN rather than at the first write, so a
	// transaction never fails half-way with SQLITE_BUSY when it upgrades.
	p.Set("_txlock", "immediate")
	return p
}

func readParams() url.Values {
	p := commonParams()
	p["_pragma"] = append(p["_pragma"], "query_only(1)")
	return p
}

// openPool opens a pool of at most conns connections to the file at path.
func openPool(path string, params url.Values, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, params))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// dsn returns a file: URI for path, which SQLite percent-decodes, so any
// character in the path (?, #, %) is safe.
func dsn(path string, params url.Values) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: C:/x → /C:/x
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: params.Encode()}
	return u.String()
}

// isForeignKeyViolation recognizes both ways SQLite reports a foreign-key
// violation: SQLITE_CONSTRAINT_FOREIGNKEY for a missing parent, and, for
// ON DELETE RESTRICT (which SQLite enforces with an internal trigger),
// SQLITE_CONSTRAINT_TRIGGER with its fixed foreign-key message.
func isForeignKeyViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY ||
		e.Code() == sqlite3.SQLITE_CONSTRAINT_TRIGGER && strings.Contains(e.Error(), "FOREIGN KEY constraint failed")
}

// isUniqueViolation recognizes a UNIQUE constraint's violation and a
// PRIMARY KEY's, which SQLite reports with its own code.
func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) &&
		(e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

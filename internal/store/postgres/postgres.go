// Package postgres is the PostgreSQL store.Store backend, for deployments
// that run more than one Moat server or already operate PostgreSQL.
//
// It uses pgx through its database/sql driver (pgx/v5/stdlib) rather than
// pgxpool: the queries are shared with the SQLite backend through
// database/sql (package sqlstore), and goose migrates a *sql.DB. pgx still
// prepares and caches each statement per connection.
//
// The tables live in the connection's current schema: the first schema of
// search_path that exists, which a URL can set with ?search_path=name.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

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

// Pool settings. Metadata queries are short; a small pool serves a server
// and leaves connections for the others sharing the database. Connections
// are recycled so a failover or a pooler rebalancing is picked up.
const (
	maxConns        = 16
	connMaxLifetime = 30 * time.Minute
	connMaxIdleTime = 5 * time.Minute
)

// SQLSTATEs of the constraint violations the store maps.
const (
	foreignKeyViolation = "23503"
	uniqueViolation     = "23505"
)

// Store is a store.Store backed by PostgreSQL.
type Store struct {
	*sqlstore.Store
}

var _ store.Store = (*Store)(nil)

// dialect binds up to 16,000 values per bulk statement (the protocol allows
// 65,535): each statement is planned on its own, so fewer, larger ones
// import faster.
var dialect = sqlstore.Dialect{IsForeignKeyViolation: isForeignKeyViolation, IsUniqueViolation: isUniqueViolation,
	BulkValues: 16_000}

// Open connects to the database at url (postgres://…), migrates it to the
// current schema and returns a Store. Servers opening the same database at
// once take turns migrating, serialized by an advisory lock.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgx.ParseConfig(url) // its errors redact the password
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxLifetime(connMaxLifetime)
	db.SetConnMaxIdleTime(connMaxIdleTime)

	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{sqlstore.New(db, db, dialect)}, nil
}

// migrate applies the migrations while holding a session-level advisory
// lock. The lock id is derived from the schema, so servers migrating the same
// schema take turns while different schemas (tests, several deployments in
// one database) do not wait for each other.
func migrate(ctx context.Context, db *sql.DB) error {
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if !schema.Valid {
		return errors.New("no schema of search_path exists; create it or set ?search_path= in the URL")
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID(schema.String)),
		lock.WithLockTimeout(1, 600), // poll every second, for up to 10 minutes
	)
	if err != nil {
		return err
	}
	if err := sqlstore.Migrate(ctx, db, goose.DialectPostgres, migrations, goose.WithSessionLocker(locker)); err != nil {
		return fmt.Errorf("schema %q: %w", schema.String, err)
	}
	return nil
}

// migrationLockID returns the advisory lock id that guards migrations of
// schema.
func migrationLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("moat/migrate/" + schema))
	return int64(h.Sum64())
}

func isForeignKeyViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == foreignKeyViolation
}

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

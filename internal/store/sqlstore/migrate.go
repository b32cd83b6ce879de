package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// Migrate brings db to the newest schema version in migrations, a directory
// of goose SQL files (00001_init.sql, 00002_….sql, …) at the root of the FS.
// opts are passed on to goose, e.g. a session locker so that servers starting
// together do not migrate concurrently.
//
// It refuses a database whose schema is newer than migrations: that is an
// older build running against a database an upgrade already migrated, and
// writing to it could lose data the newer schema holds.
func Migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, migrations fs.FS, opts ...goose.ProviderOption) error {
	opts = append([]goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}, opts...)
	p, err := goose.NewProvider(dialect, db, migrations, opts...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	// p.Close would close db, which the caller owns: the provider is dropped instead.
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > target {
		return fmt.Errorf("database schema version %d is newer than this build supports (%d): upgrade Moat", current, target)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate schema from version %d to %d: %w", current, target, err)
	}
	return nil
}

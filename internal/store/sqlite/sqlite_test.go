package sqlite

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/internal/store/storetest"
)

// openAt opens the database at path and closes it when the test ends.
func openAt(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), path)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func openTemp(tb testing.TB) store.Store {
	return openAt(tb, filepath.Join(tb.TempDir(), "moat.db"))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	storetest.RunReopen(t, func(t *testing.T) store.Store { return openAt(t, path) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openTemp(b) })
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "sub")
	path := filepath.Join(dir, "moat.db")
	openAt(t, path) // open, in WAL mode: the -wal and -shm files exist
	for p, want := range map[string]os.FileMode{
		dir:           0o700 | os.ModeDir,
		path:          0o600,
		path + "-wal": 0o600,
		path + "-shm": 0o600,
	} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
}

func TestOpenPathWithURIMetacharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag%20", "moat.db")
	s := openAt(t, path)
	if _, err := s.PutHub(t.Context(), store.Hub{Name: "h", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the given path: %v", err)
	}
}

// rawDB opens the file at path without the store, for inspection.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenEnablesWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	openAt(t, path)
	var mode string
	if err := rawDB(t, path).QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestOpenRejectsNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	openAt(t, path).Close()
	_, err := rawDB(t, path).ExecContext(t.Context(), "INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), path)
	if err == nil {
		s.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "newer than this build supports") {
		t.Fatalf("Open of a database from a newer build: err = %v, want a schema version error", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if s, err := Open(t.Context(), ""); err == nil {
		s.Close()
		t.Fatal("Open(\"\"): err = nil, want an error")
	}
}

// TestMigrationsDown checks that every migration can be rolled back and
// applied again.
func TestMigrationsDown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	openAt(t, path).Close()
	p, err := goose.NewProvider(goose.DialectSQLite3, rawDB(t, path), migrations, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	if _, err := p.Up(t.Context()); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// TestSecurityEventsSurviveMigrations migrates stored security events
// from rows of items to one event a row and back.
func TestSecurityEventsSurviveMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "moat.db")
	s := openAt(t, path)
	storetest.SecurityEventsSurviveMigrations(t, s, func(t *testing.T) store.Store {
		s.Close()
		db := rawDB(t, path)
		p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations, goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(t.Context(), 4); err != nil {
			t.Fatalf("down to 4: %v", err)
		}
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM security_events").Scan(&n); err != nil || n < 200 {
			t.Fatalf("events one to a row at version 4: %d, %v", n, err)
		}
		return openAt(t, path)
	})
}

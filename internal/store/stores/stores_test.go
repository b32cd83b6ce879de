package stores

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/internal/store/sqlite"
)

func open(t *testing.T, dbURL, dataDir string) store.Store {
	t.Helper()
	s, err := Open(t.Context(), dbURL, dataDir)
	if err != nil {
		t.Fatalf("Open(%q, %q): %v", dbURL, dataDir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wantFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenDefaultsToSQLiteInDataDir(t *testing.T) {
	dir := t.TempDir()
	if _, ok := open(t, "", dir).(*sqlite.Store); !ok {
		t.Error("Open(\"\", dir) is not a SQLite store")
	}
	wantFile(t, filepath.Join(dir, DefaultFile))
}

func TestOpenSQLiteURL(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "abs.db")
	if _, ok := open(t, "sqlite://"+abs, "unused").(*sqlite.Store); !ok {
		t.Error("sqlite:///abs/path did not open SQLite")
	}
	wantFile(t, abs)

	t.Chdir(t.TempDir())
	open(t, "sqlite://rel/dir/moat.db", "unused")
	wantFile(t, filepath.Join("rel", "dir", "moat.db"))
}

func TestOpenPostgresURL(t *testing.T) {
	// Nothing listens on port 1: the error shows which backend was chosen.
	for _, u := range []string{"postgres://u:pw@127.0.0.1:1/db", "postgresql://u:pw@127.0.0.1:1/db"} {
		s, err := Open(t.Context(), u, t.TempDir())
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q): err = nil, want a connection error", u)
		}
		if s != nil {
			t.Errorf("Open(%q) failed but returned a non-nil store", u)
		}
		if !strings.HasPrefix(err.Error(), "postgres: ") {
			t.Errorf("Open(%q): err = %v, want a postgres error", u, err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	for _, tc := range []struct{ url, dataDir string }{
		{"", ""},
		{"sqlite://", "d"},
		{"sqlite:/abs/path", "d"},
		{"mysql://u:hunter2@host/db", "d"},
		{"POSTGRES://host/db", "d"},
		{"host=db password=hunter2", "d"},
		{"/var/lib/moat/moat.db", "d"},
	} {
		s, err := Open(t.Context(), tc.url, tc.dataDir)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q, %q): err = nil, want an error", tc.url, tc.dataDir)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q): error reveals the password: %v", tc.url, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"postgres://moat:hunter2@db:5432/moat?sslmode=require", "postgres://moat:xxxxx@db:5432/moat?sslmode=require"},
		{"postgresql://moat@db/moat", "postgresql://moat@db/moat"},
		{"postgres://db/moat?password=hunter2&user=moat", "postgres://db/moat?password=xxxxx&user=moat"},
		{"postgres://db/moat?sslpassword=hunter2", "postgres://db/moat?sslpassword=xxxxx"},
		{"postgres://:hunter2@db/moat", "postgres://:xxxxx@db/moat"},
		{"sqlite:///var/lib/moat/moat.db", "sqlite:///var/lib/moat/moat.db"},
		{"host=db password=hunter2", "[unparsable database URL]"},
		{"postgres://moat:hunter2@db:port/moat", "[unparsable database URL]"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestMigrationsMatch checks that every schema version exists for every
// dialect, so a migration added for one backend is not forgotten for the
// other.
func TestMigrationsMatch(t *testing.T) {
	names := func(dir string) []string {
		entries, err := os.ReadDir(filepath.Join("..", dir, "migrations"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	sqliteFiles, postgresFiles := names("sqlite"), names("postgres")
	if len(sqliteFiles) == 0 || !slices.Equal(sqliteFiles, postgresFiles) {
		t.Errorf("migration files differ between dialects:\nsqlite:   %q\npostgres: %q", sqliteFiles, postgresFiles)
	}
}

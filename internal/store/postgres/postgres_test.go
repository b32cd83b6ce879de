package postgres

import (
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/internal/store/pgtest"
	"github.com/moatsec/moat/internal/store/storetest"
)

// openURL opens a store and closes it when the test ends.
func openURL(tb testing.TB, url string) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), url)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openURL(t, pgtest.NewSchema(t)) })
}

func TestReopen(t *testing.T) {
	url := pgtest.NewSchema(t)
	storetest.RunReopen(t, func(t *testing.T) store.Store { return openURL(t, url) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) store.Store { return openURL(b, pgtest.NewSchema(b)) })
}

// TestConcurrentOpen starts several servers on one new schema at once: the
// advisory lock makes them take turns migrating, and all of them succeed.
func TestConcurrentOpen(t *testing.T) {
	url := pgtest.NewSchema(t)
	stores := make([]*Store, 4)
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	if _, err := stores[0].PutHub(t.Context(), store.Hub{Name: "h", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[len(stores)-1].GetHub(t.Context(), "h"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenMissingSchema(t *testing.T) {
	pgtest.NewSchema(t) // skips when the server is unreachable
	u, _ := url.Parse(pgtest.URL())
	q := u.Query()
	q.Set("search_path", "moat_no_such_schema")
	u.RawQuery = q.Encode()
	s, err := Open(t.Context(), u.String())
	if err == nil {
		s.Close()
		t.Fatal("Open with a missing schema: err = nil, want an error")
	}
	if !strings.Contains(err.Error(), "search_path") {
		t.Errorf("error %q does not explain the missing schema", err)
	}
}

func TestOpenErrorHidesPassword(t *testing.T) {
	for _, u := range []string{
		"postgres://moat:s3cr3t-pw@127.0.0.1:1/moat?sslmode=disable&connect_timeout=5",
		"postgres://moat:s3cr3t-pw@127.0.0.1:1/moat?sslmode=bogus",
	} {
		s, err := Open(t.Context(), u)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q): err = nil, want an error", u)
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("error reveals the password: %v", err)
		}
	}
}

// migrator opens the database at url and a goose provider of the
// migrations on it; the connection closes when the test ends.
func migrator(t *testing.T, url string) (*sql.DB, *goose.Provider) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return db, p
}

// TestMigrationsDown checks that every migration can be rolled back and
// applied again.
func TestMigrationsDown(t *testing.T) {
	url := pgtest.NewSchema(t)
	s := openURL(t, url)
	s.Close()
	_, p := migrator(t, url)
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
	url := pgtest.NewSchema(t)
	s := openURL(t, url)
	storetest.SecurityEventsSurviveMigrations(t, s, func(t *testing.T) store.Store {
		s.Close()
		db, p := migrator(t, url)
		if _, err := p.DownTo(t.Context(), 4); err != nil {
			t.Fatalf("down to 4: %v", err)
		}
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM security_events").Scan(&n); err != nil || n < 200 {
			t.Fatalf("events one to a row at version 4: %d, %v", n, err)
		}
		return openURL(t, url)
	})
}

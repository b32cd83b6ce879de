// Package pgtest gives tests an isolated PostgreSQL schema on the server
// named by MOAT_TEST_POSTGRES (default: the machine's PostgreSQL at
// 127.0.0.1:5432, database test). When the server is unreachable the test is
// skipped, loudly, unless MOAT_TEST_REQUIRE_POSTGRES=1 (as in CI) makes it fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// The tests need a PostgreSQL server. They take its URL from
// MOAT_TEST_POSTGRES and, when it is unreachable, skip, unless
// MOAT_TEST_REQUIRE_POSTGRES=1 (as in CI) makes them fail instead.
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL is the base test database URL.
func URL() string {
	if u := os.Getenv("MOAT_TEST_POSTGRES"); u != "" {
		return u
	}
	return defaultTestURL
}

var warnSkip sync.Once

// NewSchema creates an empty schema for one test, dropped when the test ends,
// and returns a URL that selects it. Tests can then run in parallel, and
// again, on one database.
func NewSchema(tb testing.TB) string {
	tb.Helper()
	base := URL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("MOAT_TEST_POSTGRES: %v", err)
	}
	tb.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Second) // a black-holed host would hang
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if os.Getenv("MOAT_TEST_REQUIRE_POSTGRES") == "1" {
			tb.Fatalf("PostgreSQL unreachable and MOAT_TEST_REQUIRE_POSTGRES=1: %v", err)
		}
		msg := fmt.Sprintf("SKIPPING POSTGRESQL TESTS: server unreachable (%v). "+
			"Set MOAT_TEST_POSTGRES to a reachable URL, or MOAT_TEST_REQUIRE_POSTGRES=1 to fail instead.", err)
		warnSkip.Do(func() { fmt.Fprintf(os.Stderr, "\n*** %s\n\n", msg) })
		tb.Skip(msg)
	}

	var b [8]byte
	rand.Read(b[:])
	schema := "moat_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop test schema: %v", err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("MOAT_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

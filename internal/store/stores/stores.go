// Package stores opens the store.Store backend a database URL selects.
package stores

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/moatsec/moat/internal/store"
	"github.com/moatsec/moat/internal/store/postgres"
	"github.com/moatsec/moat/internal/store/sqlite"
)

// DefaultFile is the SQLite database file name inside the data directory.
const DefaultFile = "moat.db"

// Open opens and migrates the store that dbURL selects:
//
//   - "" selects SQLite at dataDir/moat.db;
//   - postgres://… or postgresql://… selects PostgreSQL;
//   - sqlite:///abs/path or sqlite://rel/path selects SQLite at that path,
//     taken verbatim (no percent-decoding); a relative path is relative to
//     the working directory.
//
// Errors never contain the URL's password.
func Open(ctx context.Context, dbURL, dataDir string) (store.Store, error) {
	switch {
	case dbURL == "":
		if dataDir == "" {
			return nil, errors.New("store: no database URL and no data directory")
		}
		return asStore(sqlite.Open(ctx, filepath.Join(dataDir, DefaultFile)))
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return asStore(postgres.Open(ctx, dbURL))
	case strings.HasPrefix(dbURL, "sqlite://"):
		path := strings.TrimPrefix(dbURL, "sqlite://")
		if path == "" {
			return nil, errors.New("store: sqlite:// URL without a path (want sqlite:///abs/path or sqlite://rel/path)")
		}
		return asStore(sqlite.Open(ctx, path))
	default:
		return nil, fmt.Errorf("store: unsupported database URL %q: want postgres://, postgresql://, sqlite:// or empty for SQLite in the data directory", Redact(dbURL))
	}
}

// asStore returns a backend's Open result as a store.Store, keeping a failed
// Open's nil *Store from becoming a non-nil interface.
func asStore[S store.Store](s S, err error) (store.Store, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// redacted replaces secrets in Redact's output.
const redacted = "xxxxx"

// Redact returns dbURL fit for logs: a password in the user info or in a
// password or sslpassword query parameter is replaced by "xxxxx". A string
// that is not a URL with a scheme could be a key=value connection string
// with a password anywhere, so it is hidden whole.
func Redact(dbURL string) string {
	if dbURL == "" {
		return ""
	}
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return "[unparsable database URL]"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), redacted)
	}
	if q := u.Query(); q.Has("password") || q.Has("sslpassword") {
		for _, k := range []string{"password", "sslpassword"} {
			if q.Has(k) {
				q.Set(k, redacted)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

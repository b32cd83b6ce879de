package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// lazyStmt is a statement of the write pool prepared on first use and
// kept until the Store closes: the pool prepares it once per connection,
// which saves SQLite parsing a statement of thousands of values on every
// call.
type lazyStmt struct {
	mu    sync.Mutex
	query string
	stmt  *sql.Stmt
}

// get returns the prepared statement, preparing it on db if needed.
func (l *lazyStmt) get(ctx context.Context, db *sql.DB) (*sql.Stmt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stmt == nil {
		st, err := db.PrepareContext(ctx, l.query)
		if err != nil {
			return nil, err
		}
		l.stmt = st
	}
	return l.stmt, nil
}

func (l *lazyStmt) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stmt == nil {
		return nil
	}
	err := l.stmt.Close()
	l.stmt = nil
	return err
}

// Package sqlite is sextant's embedded store: one SQLite file in WAL mode,
// through modernc.org/sqlite (pure Go, no cgo). It implements sextant.Store,
// sextant.TokenStore and sextant.IngestStore.
//
// Writes are serialised: one write connection inside the process, and across
// processes BEGIN IMMEDIATE with a busy timeout. Reads go through a separate
// read-only pool, each listing or lookup in one transaction (one snapshot),
// beside the writer, as WAL allows.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a sextant store in one SQLite file.
type DB struct {
	// w has one connection, so that writers queue in the process instead
	// of spinning on SQLITE_BUSY; r is the read-only pool.
	w, r *sql.DB

	// Now returns the current time; tests may replace it.
	Now func() time.Time
}

var _ sextant.Store = (*DB)(nil)

// Open opens (creating if needed) the SQLite database file at path and
// applies any pending migrations. path is a file name, not a URI.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "open sqlite store: empty path")
	}
	// SQLite URI file names percent-decode the path; escape what would
	// otherwise be read as a query or fragment.
	dsn := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) +
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "open sqlite store %s: %v", path, err)
	}
	w.SetMaxOpenConns(1)
	db := &DB{w: w, Now: time.Now}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "open sqlite store %s: %v", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	// Deferred transactions: a read transaction takes no write lock.
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "open sqlite store %s: %v", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	db.r = r
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.r.Close(), db.w.Close())
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in file name order, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := sqlstore.Migrations(migrations)
	if err != nil {
		return err
	}
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "migrate sqlite store: %v", err)
	}
	for _, m := range ms {
		if err := db.apply(ctx, m.Version, m.Body); err != nil {
			return sextant.Errorf(sextant.EINTERNAL, "migrate sqlite store to %s: %v", m.Version, err)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, version, body string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		version, micros(db.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// micros encodes a time as Unix microseconds, the store's time column
// format.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Package postgres is sextant's scaled-out store: PostgreSQL through
// github.com/jackc/pgx/v5 and its pool. It implements sextant.Store,
// sextant.TokenStore and sextant.IngestStore; several sextant replicas may
// share one database.
//
// Scans of one artifact are serialised by a transaction-scoped advisory
// lock on the artifact key, so that concurrent intake of the same artifact
// (on any replica) upserts and resolves its findings one scan at a time;
// scans of different artifacts run in parallel.
package postgres

import (
	"context"
	"embed"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key held while migrating, so that
// replicas starting together migrate once.
const migrationLock int64 = 0x73657874616e74 // "sextant"

// DB is a sextant store in a PostgreSQL database.
type DB struct {
	pool *pgxpool.Pool

	// Now returns the current time; tests may replace it.
	Now func() time.Time
}

var _ sextant.Store = (*DB)(nil)

// Open connects to the PostgreSQL database named by dsn (a postgres:// URL
// or a key=value connection string, as pgx reads them) and applies any
// pending migrations. Tables are created in the connection's search_path.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "open postgres store: %v", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "open postgres store: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, sextant.Errorf(sextant.EUNAVAILABLE, "open postgres store %s@%s: %v", cfg.ConnConfig.Database, cfg.ConnConfig.Host, err)
	}
	db := &DB{pool: pool, Now: time.Now}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes every connection of the pool. It returns nil; the error is
// there so that DB is an io.Closer, as the SQLite store is.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in file name order, each in its own transaction under
// the migration advisory lock.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := sqlstore.Migrations(migrations)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if err := db.apply(ctx, m.Version, m.Body); err != nil {
			return sextant.Errorf(sextant.EINTERNAL, "migrate postgres store to %s: %v", m.Version, err)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, version, body string) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version text PRIMARY KEY, applied_at timestamptz NOT NULL)`); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, body); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, db.Now())
		return err
	})
}

// ts is a time as the store keeps it: UTC, to the microsecond (PostgreSQL
// would round the nanoseconds; SQLite's store truncates, and so does this).
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

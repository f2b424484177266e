package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/postgres"
	"github.com/sextant-dev/sextant/internal/storetest"
)

// defaultDSN is the machine's PostgreSQL server; SEXTANT_TEST_POSTGRES
// overrides it.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// server returns the test server's DSN. When the server cannot be reached
// the test skips, except under CI=true, where it fails: CI must run the
// suite on PostgreSQL.
func server(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("SEXTANT_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s unreachable (%v); CI must run the store suite on PostgreSQL: start it or set SEXTANT_TEST_POSTGRES", dsn, err)
		}
		t.Skipf("PostgreSQL at %s unreachable (%v): skipping; set SEXTANT_TEST_POSTGRES", dsn, err)
	}
	return dsn
}

// freshSchema creates an empty schema for one test, dropped when the test
// ends, and returns dsn with its search_path set to it.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "storetest_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Fatalf("SEXTANT_TEST_POSTGRES must be a postgres:// URL, got %q", dsn)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// open returns a store in a fresh schema of the PostgreSQL server at dsn.
func open(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), freshSchema(t, dsn))
	if err != nil {
		t.Fatalf("Open error: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) {
	dsn := server(t)
	storetest.Run(t, func(t *testing.T) sextant.Store { return open(t, dsn) })
}

func TestTokens(t *testing.T) {
	dsn := server(t)
	storetest.RunTokens(t, func(t *testing.T) sextant.TokenStore { return open(t, dsn) })
}

func TestIngests(t *testing.T) {
	dsn := server(t)
	storetest.RunIngests(t, func(t *testing.T) sextant.IngestStore { return open(t, dsn) })
}

// TestMigrateTwice checks that migrations are recorded: a second Open of
// the same schema, and two Opens at once, apply nothing twice.
func TestMigrateTwice(t *testing.T) {
	dsn := freshSchema(t, server(t))
	ctx := context.Background()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			db, err := postgres.Open(ctx, dsn)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open error: %v", err)
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files (%v)", err)
	}
	if n != len(files) {
		t.Errorf("schema_migrations has %d rows after three Opens, want %d (one per migration)", n, len(files))
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE {
		t.Errorf("Open of a closed port error = %v (code %q), want %q", err, sextant.ErrorCode(err), sextant.EUNAVAILABLE)
	}
}

func TestAudit(t *testing.T) {
	dsn := server(t)
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditDB {
		schema := freshSchema(t, dsn)
		openSchema := func(t *testing.T) storetest.AuditStore {
			db, err := postgres.Open(context.Background(), schema)
			if err != nil {
				t.Fatalf("Open error: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		return storetest.AuditDB{
			Store: openSchema(t),
			Open:  openSchema,
			Exec: func(t *testing.T, statements ...string) error {
				ctx := context.Background()
				conn, err := pgx.Connect(ctx, schema)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				for _, s := range statements {
					if _, err := conn.Exec(ctx, s); err != nil {
						return err
					}
				}
				return nil
			},
			Unguard: []string{`ALTER TABLE audit_log DISABLE TRIGGER USER`},
		}
	})
}

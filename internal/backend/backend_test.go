package backend_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/backend"
	"github.com/sextant-dev/sextant/internal/postgres"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

// use checks that db answers and keeps an audit trail.
func use(t *testing.T, db backend.DB) {
	t.Helper()
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping error: %v", err)
	}
	if _, err := audit.NewLog(db).Append(ctx, "alice", "token.create", "tok_1", map[string]string{"role": "admin"}); err != nil {
		t.Fatalf("audit Append error: %v", err)
	}
	res, err := audit.Verify(ctx, db)
	if err != nil || !res.OK() || res.Checked != 1 {
		t.Errorf("Verify = %+v, %v; want OK with one entry", res, err)
	}
	if _, err := db.Tokens(ctx); err != nil {
		t.Errorf("Tokens error: %v", err)
	}
}

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ database, file string }{
		{filepath.Join(dir, "plain.db"), "plain.db"},
		{"sqlite:" + filepath.Join(dir, "prefixed.db"), "prefixed.db"},
		{"file:" + filepath.Join(dir, "file.db"), "file.db"},
		{filepath.Join(dir, "odd?name#.db"), "odd?name#.db"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			db, err := backend.Open(context.Background(), tt.database)
			if err != nil {
				t.Fatalf("Open(%q) error: %v", tt.database, err)
			}
			defer db.Close()
			if _, ok := db.(*sqlite.DB); !ok {
				t.Errorf("Open(%q) = %T, want *sqlite.DB", tt.database, db)
			}
			use(t, db)
			if _, err := os.Stat(filepath.Join(dir, tt.file)); err != nil {
				t.Errorf("Open(%q) did not create %s: %v", tt.database, tt.file, err)
			}
			if path, ok := backend.SQLitePath(tt.database); !ok || path != filepath.Join(dir, tt.file) {
				t.Errorf("SQLitePath(%q) = %q, %v; want %q, true", tt.database, path, ok, filepath.Join(dir, tt.file))
			}
		})
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, database := range []string{"", "  ", "mysql://root:hunter2@db/sextant", "sqlite:", "sqlite:///var/lib/x.db", "file://x.db"} {
		db, err := backend.Open(context.Background(), database)
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", database)
			continue
		}
		if code := sextant.ErrorCode(err); code != sextant.EINVALID {
			t.Errorf("Open(%q) error = %v (code %q), want %q", database, err, code, sextant.EINVALID)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) error %q shows the password", database, err)
		}
		if _, ok := backend.SQLitePath(database); ok {
			t.Errorf("SQLitePath(%q) = true, want false", database)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://sextant:hunter2@db.internal:5432/sextant?sslmode=require",
			"postgres://sextant:xxxxx@db.internal:5432/sextant?sslmode=require"},
		{"postgresql://sextant@db/sextant", "postgresql://sextant@db/sextant"},
		{"postgres://db/sextant?user=sextant&password=hunter2", "postgres://db/sextant?password=xxxxx&user=sextant"},
		{"postgres://u:p%40ss@db/x?sslpassword=hunter2", "postgres://u:xxxxx@db/x?sslpassword=xxxxx"},
		{"POSTGRES://u:hunter2@db/x", "postgres://u:xxxxx@db/x"},
		// Unparseable: an unescaped '%' and a '/' in the password.
		{"postgres://u:hun%zz/ter2@db/x?password=hunter2&a=b", "postgres://xxxxx@db/x?password=xxxxx&a=b"},
		{"/var/lib/sextant/sextant.db", "/var/lib/sextant/sextant.db"},
	}
	for _, tt := range tests {
		if got := backend.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// postgresServer returns the test server's URL, as internal/postgres's
// tests do: SEXTANT_TEST_POSTGRES, else the machine's server. When it cannot
// be reached the test skips, except under CI=true, where it fails.
func postgresServer(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("SEXTANT_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
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
			t.Fatalf("PostgreSQL at %s unreachable (%v); CI must run the PostgreSQL tests: start it or set SEXTANT_TEST_POSTGRES", backend.Redact(dsn), err)
		}
		t.Skipf("PostgreSQL at %s unreachable (%v): skipping; set SEXTANT_TEST_POSTGRES", backend.Redact(dsn), err)
	}
	return dsn
}

func TestOpenPostgres(t *testing.T) {
	dsn := postgresServer(t)
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	schema := "backendtest_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	for _, scheme := range []string{"postgres", "postgresql"} {
		u.Scheme = scheme
		db, err := backend.Open(ctx, u.String())
		if err != nil {
			t.Fatalf("Open(%s) error: %v", u.Redacted(), err)
		}
		if _, ok := db.(*postgres.DB); !ok {
			t.Errorf("Open(%s) = %T, want *postgres.DB", u.Redacted(), db)
		}
		if scheme == "postgres" {
			use(t, db)
		} else if err := db.Ping(ctx); err != nil {
			t.Errorf("Ping error: %v", err)
		}
		db.Close()
	}
}

// TestOpenPostgresHidesPassword: a failed connection names the database
// without its password.
func TestOpenPostgresHidesPassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, database := range []string{
		"postgres://sextant:hunter2@127.0.0.1:1/sextant?sslmode=disable&connect_timeout=2",
		"postgres://sextant@127.0.0.1:1/sextant?sslmode=disable&connect_timeout=2&password=hunter2",
		"postgres://sextant:hunter2@127.0.0.1:1/sextant?sslmode=bogus",
	} {
		_, err := backend.Open(ctx, database)
		if err == nil {
			t.Fatalf("Open(%s) succeeded, want an error", backend.Redact(database))
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open error %q shows the password", err)
		}
		if !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("Open error %q does not name the database", err)
		}
	}
}

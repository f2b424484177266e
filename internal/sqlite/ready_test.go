package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
)

// Ping says not ready when the schema is not the one this binary needs.
func TestPingChecksSchema(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping of a migrated database = %v", err)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ('9999_from_a_newer_replica', 0)`); err != nil {
		t.Fatal(err)
	}
	err = db.Ping(ctx)
	if sextant.ErrorCode(err) != sextant.EUNAVAILABLE || !strings.Contains(err.Error(), "9999_from_a_newer_replica") {
		t.Errorf("Ping with a newer schema = %v, want EUNAVAILABLE naming it", err)
	}
}

package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlite"
	"github.com/sextant-dev/sextant/internal/storetest"
)

func open(t *testing.T) sextant.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sextant.db"))
	if err != nil {
		t.Fatalf("Open error: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close error: %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, open)
}

func TestTokens(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) sextant.TokenStore { return open(t).(*sqlite.DB) })
}

// TestReopen checks that migrations are recorded: opening an existing file
// applies nothing twice and keeps the data.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sextant.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f := &sextant.Finding{Kind: sextant.KindSecret, VulnerabilityID: "aws-access-key", Location: "deploy.sh:3",
		Artifact: sextant.Artifact{Name: "./repo"}}
	res, err := db.RecordScan(ctx, sextant.ScanRecord{Artifact: f.Artifact, Source: sextant.Source{Scanner: "trivy"}, Complete: true},
		[]*sextant.Finding{f})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no write-ahead log beside the database (%v); want WAL mode", err)
	}
	if f.ID != "" {
		t.Errorf("RecordScan set the caller's Finding.ID to %q; it must not modify its input", f.ID)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open of an existing store error: %v", err)
	}
	defer db.Close()
	page, err := db.Findings(ctx, sextant.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Finding.ID != sextant.Fingerprint(f) || page.Items[0].Attributions[0].ScanID != res.ScanID {
		t.Errorf("after reopening: %+v, want the one finding recorded before", page.Items)
	}
}

func TestIngests(t *testing.T) {
	storetest.RunIngests(t, func(t *testing.T) sextant.IngestStore { return open(t).(*sqlite.DB) })
}

func TestAudit(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditDB {
		path := filepath.Join(t.TempDir(), "sextant.db")
		openPath := func(t *testing.T) storetest.AuditStore {
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("Open error: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		return storetest.AuditDB{
			Store: openPath(t),
			Open:  openPath,
			Exec: func(t *testing.T, statements ...string) error {
				conn, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				for _, s := range statements {
					if _, err := conn.Exec(s); err != nil {
						return err
					}
				}
				return nil
			},
			Unguard: []string{`DROP TRIGGER audit_log_no_update`, `DROP TRIGGER audit_log_no_delete`},
		}
	})
}

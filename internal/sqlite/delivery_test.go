package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sextant-dev/sextant/internal/sqlite"
	"github.com/sextant-dev/sextant/internal/storetest"
)

// openFile opens n stores on one new SQLite file, as n sextant processes
// on one host would, with their Now set to now.
func openFile(t *testing.T, n int, now func() time.Time) []*sqlite.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sextant.db")
	var dbs []*sqlite.DB
	for range n {
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatalf("Open error: %v", err)
		}
		t.Cleanup(func() {
			if err := db.Close(); err != nil {
				t.Errorf("Close error: %v", err)
			}
		})
		db.Now = now
		dbs = append(dbs, db)
	}
	return dbs
}

func TestDeliveries(t *testing.T) {
	storetest.RunDeliveries(t, func(t *testing.T, n int, now func() time.Time) []storetest.DeliveryStore {
		var out []storetest.DeliveryStore
		for _, db := range openFile(t, n, now) {
			out = append(out, db)
		}
		return out
	})
}

func TestApprovals(t *testing.T) {
	storetest.RunApprovals(t, func(t *testing.T, n int, now func() time.Time) []storetest.ApprovalStore {
		var out []storetest.ApprovalStore
		for _, db := range openFile(t, n, now) {
			out = append(out, db)
		}
		return out
	})
}

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlite"
	"github.com/sextant-dev/sextant/internal/storetest"
)

func TestActions(t *testing.T) {
	storetest.RunActions(t, func(t *testing.T) sextant.ActionStore { return open(t).(*sqlite.DB) })
}

// TestIngestReplicas runs the queue's multi-store suite on two stores that
// open the same file, as two sextant processes on one host would.
func TestIngestReplicas(t *testing.T) {
	storetest.RunIngestReplicas(t, func(t *testing.T) []sextant.IngestStore {
		path := filepath.Join(t.TempDir(), "sextant.db")
		var stores []sextant.IngestStore
		for range 2 {
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("Open error: %v", err)
			}
			t.Cleanup(func() {
				if err := db.Close(); err != nil {
					t.Errorf("Close error: %v", err)
				}
			})
			stores = append(stores, db)
		}
		return stores
	})
}

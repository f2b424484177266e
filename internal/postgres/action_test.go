package postgres_test

import (
	"context"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/postgres"
	"github.com/sextant-dev/sextant/internal/storetest"
)

func TestActions(t *testing.T) {
	dsn := server(t)
	storetest.RunActions(t, func(t *testing.T) sextant.ActionStore { return open(t, dsn) })
}

// TestIngestReplicas runs the queue's multi-store suite on two stores, each
// with its own pool, on one schema, as two replicas share a database.
func TestIngestReplicas(t *testing.T) {
	dsn := server(t)
	storetest.RunIngestReplicas(t, func(t *testing.T) []sextant.IngestStore {
		schema := freshSchema(t, dsn)
		var stores []sextant.IngestStore
		for range 2 {
			db, err := postgres.Open(context.Background(), schema)
			if err != nil {
				t.Fatalf("Open error: %v", err)
			}
			t.Cleanup(func() { db.Close() })
			stores = append(stores, db)
		}
		return stores
	})
}

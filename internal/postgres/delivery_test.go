package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/sextant-dev/sextant/internal/postgres"
	"github.com/sextant-dev/sextant/internal/storetest"
)

// openSchema opens n stores, each with its own pool, on one fresh schema
// of the PostgreSQL server at dsn, as n replicas share a database, with
// their Now set to now.
func openSchema(t *testing.T, dsn string, n int, now func() time.Time) []*postgres.DB {
	t.Helper()
	schema := freshSchema(t, dsn)
	var dbs []*postgres.DB
	for range n {
		db, err := postgres.Open(context.Background(), schema)
		if err != nil {
			t.Fatalf("Open error: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		db.Now = now
		dbs = append(dbs, db)
	}
	return dbs
}

func TestDeliveries(t *testing.T) {
	dsn := server(t)
	storetest.RunDeliveries(t, func(t *testing.T, n int, now func() time.Time) []storetest.DeliveryStore {
		var out []storetest.DeliveryStore
		for _, db := range openSchema(t, dsn, n, now) {
			out = append(out, db)
		}
		return out
	})
}

func TestApprovals(t *testing.T) {
	dsn := server(t)
	storetest.RunApprovals(t, func(t *testing.T, n int, now func() time.Time) []storetest.ApprovalStore {
		var out []storetest.ApprovalStore
		for _, db := range openSchema(t, dsn, n, now) {
			out = append(out, db)
		}
		return out
	})
}

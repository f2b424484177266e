package postgres_test

import (
	"testing"

	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/postgres"
	"github.com/sextant-dev/sextant/internal/storetest"
)

var _ explain.ExplanationStore = (*postgres.DB)(nil)

func TestExplanations(t *testing.T) {
	dsn := server(t)
	storetest.RunExplanations(t, func(t *testing.T) storetest.ExplanationStore { return open(t, dsn) })
}

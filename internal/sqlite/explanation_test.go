package sqlite_test

import (
	"testing"

	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/sqlite"
	"github.com/sextant-dev/sextant/internal/storetest"
)

var _ explain.ExplanationStore = (*sqlite.DB)(nil)

func TestExplanations(t *testing.T) {
	storetest.RunExplanations(t, func(t *testing.T) storetest.ExplanationStore { return open(t).(*sqlite.DB) })
}

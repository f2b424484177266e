package triage_test

import (
	"bufio"
	"bytes"
	"runtime"
	"testing"

	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
	"github.com/sextant-dev/sextant/internal/triage/gen/report"
)

// TestMemoryPerFinding checks that what a triage keeps per finding stays
// small, whatever the report's size: from 10,000 to 100,000 findings (about
// 100 MB of JSON) the live heap may grow by at most 600 bytes per finding,
// all tables included. It measures the live heap after a forced GC, not
// time.
func TestMemoryPerFinding(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100 MB report in memory")
	}
	live := func(n int) uint64 {
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		if err := report.Write(w, n, 500, 1); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		e := triage.New(triage.Options{Parsers: parsers(), Weights: risk.DefaultWeights(), MemoryRecords: 4096})
		if _, err := e.Read("gen.json", &buf); err != nil {
			t.Fatal(err)
		}
		buf = bytes.Buffer{}
		res := e.Finish()
		defer res.Close()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if res.Summary.Findings < n*9/10 {
			t.Fatalf("%d findings from a report of %d", res.Summary.Findings, n)
		}
		runtime.KeepAlive(res)
		return ms.HeapAlloc
	}
	small, large := live(10000), live(100000)
	perFinding := float64(large-small) / 90000
	t.Logf("live heap: %d MB for 10k findings, %d MB for 100k: %.0f bytes per extra finding", small>>20, large>>20, perFinding)
	if perFinding > 600 {
		t.Errorf("live heap grows by %.0f bytes per finding, want at most 600", perFinding)
	}
}

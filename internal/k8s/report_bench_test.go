package k8s

import (
	"bytes"
	"testing"
	"time"

	"github.com/sextant-dev/sextant/internal/risk"
)

// BenchmarkScan10k measures `sextant k8s scan` on 10,000 generated objects:
// the manifests read, their context built and every check run, scored and
// given its fix forms.
func BenchmarkScan10k(b *testing.B) {
	data := benchManifests(10000)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var rep ScanReport
	for b.Loop() {
		inv, err := LoadReader(bytes.NewReader(data), "bench.yaml")
		if err != nil || len(inv.Objects) != 10000 {
			b.Fatalf("LoadReader = %d objects, %v", len(inv.Objects), err)
		}
		cx := BuildContext(inv, ContextOptions{})
		rep = Scan(inv, cx, AllChecks(), risk.DefaultWeights(), now)
	}
	b.ReportMetric(float64(len(rep.Findings)), "findings")
}

// BenchManifests exports benchManifests to the benchmarks of package
// k8s_test, which render what Scan returns.
var BenchManifests = benchManifests

package k8s_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/k8s"
	"github.com/sextant-dev/sextant/internal/render"
	"github.com/sextant-dev/sextant/internal/risk"
)

// scan10k returns the deferred scan of the 10,000 generated objects, as
// `sextant k8s scan` makes it.
func scan10k(b *testing.B) k8s.ScanReport {
	b.Helper()
	inv, err := k8s.LoadReader(bytes.NewReader(k8s.BenchManifests(10000)), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cx := k8s.BuildContext(inv, k8s.ContextOptions{})
	return k8s.ScanWithOptions(inv, cx, k8s.AllChecks(), risk.DefaultWeights(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), k8s.ScanOptions{DeferFixForms: true})
}

// BenchmarkScan10kRender measures the outputs of the 10k scan, each from a
// fresh deferred scan (outside the timer), so that every fix form an
// output shows is derived within it.
func BenchmarkScan10kRender(b *testing.B) {
	outputs := []struct {
		name   string
		render func(io.Writer, k8s.ScanReport) error
	}{
		{"json", render.K8sJSON},
		{"table", func(w io.Writer, rep k8s.ScanReport) error {
			return render.K8sTable(w, rep, render.Options{MinPriority: sextant.P3})
		}},
		{"table-top10", func(w io.Writer, rep k8s.ScanReport) error {
			return render.K8sTable(w, rep, render.Options{Top: 10, MinPriority: sextant.P3})
		}},
	}
	for _, o := range outputs {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				rep := scan10k(b)
				b.StartTimer()
				if err := o.render(io.Discard, rep); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

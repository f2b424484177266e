package triage_test

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/sextant-dev/sextant/internal/render"
	gen "github.com/sextant-dev/sextant/internal/triage/gen/report"
)

func genReport(b *testing.B, n int) []byte {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := gen.Write(w, n, 500, 1); err != nil {
		b.Fatal(err)
	}
	w.Flush()
	return buf.Bytes()
}

// BenchmarkTriage measures the whole triage of a generated Trivy report:
// parse, merge, score, plan and write the JSON document.
func BenchmarkTriage(b *testing.B) {
	data := genReport(b, 20000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := newEngine()
		if _, err := e.Read("bench.json", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		res := e.Finish()
		if err := render.JSON(io.Discard, res, render.Options{MinPriority: 3}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "findings/s")
}

// BenchmarkTriageNoOutput measures parse, merge, score and plan alone.
func BenchmarkTriageNoOutput(b *testing.B) {
	data := genReport(b, 20000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := newEngine()
		if _, err := e.Read("bench.json", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		e.Finish()
	}
	b.ReportMetric(float64(20000*b.N)/b.Elapsed().Seconds(), "findings/s")
}

package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/source/grype"
	"github.com/sextant-dev/sextant/internal/source/trivy"
	"github.com/sextant-dev/sextant/internal/triage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// exampleResult triages the bundled example reports, without intel.
func exampleResult(t *testing.T) *triage.Result {
	t.Helper()
	e := triage.New(triage.Options{
		Parsers: map[string]triage.Parser{triage.FormatTrivy: trivy.Parse, triage.FormatGrype: grype.Parse},
		Weights: risk.DefaultWeights(),
	})
	for _, f := range []string{"billing-api-trivy.json", "shop-web-grype.json", "shop-web-trivy.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "reports", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Read(f, bytes.NewReader(b)); err != nil {
			t.Fatalf("Read(%s): %v", f, err)
		}
	}
	res := e.Finish()
	t.Cleanup(func() { res.Close() })
	return res
}

// TestGolden holds every output format of the examples to a golden file
// (go test ./internal/render -update rewrites them after a deliberate
// change; review the diff).
func TestGolden(t *testing.T) {
	o := Options{MinPriority: 3, Version: "test"}
	formats := map[string]func(*bytes.Buffer, *triage.Result) error{
		"examples.table.txt": func(b *bytes.Buffer, r *triage.Result) error { return Table(b, r, o) },
		"examples.json":      func(b *bytes.Buffer, r *triage.Result) error { return JSON(b, r, o) },
		"examples.md":        func(b *bytes.Buffer, r *triage.Result) error { return Markdown(b, r, o) },
		"examples.sarif":     func(b *bytes.Buffer, r *triage.Result) error { return SARIF(b, r, o) },
	}
	for name, write := range formats {
		t.Run(name, func(t *testing.T) {
			var got bytes.Buffer
			if err := write(&got, exampleResult(t)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test -update to create it): %v", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from %s; run go test ./internal/render -update and review the diff", name, path)
			}
		})
	}
}

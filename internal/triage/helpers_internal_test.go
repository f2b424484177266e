package triage

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sextant-dev/sextant/internal/source/grype"
	"github.com/sextant-dev/sextant/internal/source/trivy"
	"github.com/sextant-dev/sextant/internal/triage/gen/report"
)

var testParsers = map[string]Parser{FormatTrivy: trivy.Parse, FormatGrype: grype.Parse}

// readExamples reads the bundled examples and a generated report of 10,000
// findings (more than two record chunks).
func readExamples(t *testing.T, e *Engine) {
	t.Helper()
	for _, f := range []string{"billing-api-trivy.json", "shop-web-grype.json", "shop-web-trivy.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "reports", f))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Read(f, bytes.NewReader(b)); err != nil {
			t.Fatalf("Read(%s): %v", f, err)
		}
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := report.Write(w, 10000, 500, 3); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if _, err := e.Read("generated.json", &buf); err != nil {
		t.Fatal(err)
	}
}

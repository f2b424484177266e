package grype

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"old-schema-metadata-first.json", "partial-sbom-scan.json", "directory.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"matches":[{"artifact":{"locations":["/a",{"path":"/b"},null]}}],"source":{"type":"directory","target":"/x"}}`))
	f.Add([]byte(`{"matches":null,"descriptor":{"configuration":{"only-fixed":"yes"}}}`))
	f.Add([]byte(`{"source":{"target":{"imageID":"sha256:00"}},"distro":{},"descriptor":{},"matches":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var seekN, streamN int
		info, err := Parse(bytes.NewReader(data), "fuzz", func(f *sextant.Finding) error {
			if f.ID != sextant.Fingerprint(f) {
				t.Fatalf("finding ID %q is not its fingerprint", f.ID)
			}
			seekN++
			return nil
		})
		if err != nil {
			sourcetest.CheckInvalid(t, string(data), err, op, "")
		} else if info.Findings != seekN {
			t.Fatalf("Parse info.Findings = %d, emitted %d", info.Findings, seekN)
		}
		_, err2 := Parse(sourcetest.OnlyReader(bytes.NewReader(data)), "fuzz", func(*sextant.Finding) error {
			streamN++
			return nil
		})
		if (err == nil) != (err2 == nil) || (err == nil && seekN != streamN) {
			t.Fatalf("seekable parse = %d findings, %v; streaming parse = %d, %v", seekN, err, streamN, err2)
		}
	})
}

package cyclonedx

import (
	"bytes"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"vulns-first.cdx.json", "grype-syft-image.cdx.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"A","affects":[{"ref":"urn:cdx:x/1#%zz"}]}],"components":[{"bom-ref":"b","purl":"pkg:npm/%40a/b@1","components":null}]}`))
	f.Add([]byte(`{"bomFormat":"CycloneDX","metadata":{"tools":[{"name":"trivy"}],"component":{"type":"container","name":"a","version":"sha256:00"}},"vulnerabilities":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		info, err := Parse(bytes.NewReader(data), "fuzz", func(f *sextant.Finding) error {
			if f.ID != sextant.Fingerprint(f) {
				t.Fatalf("finding ID %q is not its fingerprint", f.ID)
			}
			n++
			return nil
		})
		if err != nil {
			sourcetest.CheckInvalid(t, string(data), err, op, "")
			return
		}
		if info.Findings != n {
			t.Fatalf("Parse info.Findings = %d, emitted %d", info.Findings, n)
		}
	})
}

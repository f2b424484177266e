package grype

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// isGrypeReport reports whether a fixture is Grype JSON: an object with
// matches and a descriptor naming grype.
func isGrypeReport(b []byte) bool {
	var doc struct {
		Matches    json.RawMessage `json:"matches"`
		Descriptor struct {
			Name string `json:"name"`
		} `json:"descriptor"`
	}
	return json.Unmarshal(b, &doc) == nil && doc.Matches != nil && doc.Descriptor.Name == "grype"
}

// countMatches counts findings the way the format defines them, with a plain
// encoding/json decode: one per entry of the top-level matches array.
func countMatches(t testing.TB, b []byte) int {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	m, _ := doc["matches"].([]any)
	return len(m)
}

func grypeFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	files := fixtures.Files(t, "grype")
	files = append(files, fixtures.Files(t, "cnapp")...)
	out := map[string][]byte{}
	for _, p := range files {
		if !strings.HasSuffix(p, ".json") && !strings.HasSuffix(p, ".json.gz") {
			continue
		}
		b := sourcetest.Read(t, p)
		if !isGrypeReport(b) {
			continue
		}
		out[filepath.Base(p)] = b
	}
	if len(out) < 13 {
		t.Fatalf("found %d grype fixtures, want at least 13", len(out))
	}
	return out
}

func TestConformance(t *testing.T) {
	for name, b := range grypeFixtures(t) {
		t.Run(name, func(t *testing.T) {
			want := countMatches(t, b)
			got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), name)
			if len(got) != want || info.Findings != want {
				t.Errorf("Parse(%q) emitted %d findings, info says %d, want %d", name, len(got), info.Findings, want)
			}
			if info.Format != Format || info.Source.Scanner != "grype" || info.Source.Version == "" {
				t.Errorf("Parse(%q) info = %+v, want format %q, scanner grype and a version", name, info, Format)
			}
			for i, f := range got {
				if f.ID == "" || f.VulnerabilityID == "" || f.Artifact.Key() == "" || f.Package.Name == "" {
					t.Fatalf("Parse(%q) finding %d = id %q, vulnerability %q, artifact key %q, package %q; want all set", name, i, f.ID, f.VulnerabilityID, f.Artifact.Key(), f.Package.Name)
				}
				if f.ID != sextant.Fingerprint(f) {
					t.Fatalf("Parse(%q) finding %d ID %s is not its fingerprint", name, i, f.ID)
				}
				if f.Source.File != name || f.Source.Format != Format {
					t.Fatalf("Parse(%q) finding %d source = %+v", name, i, f.Source)
				}
			}
			// A second parse, this time without seeking (spooled), gives
			// the same findings, fingerprints included.
			again, info2 := sourcetest.ParseAll(t, Parse, sourcetest.OnlyReader(bytes.NewReader(b)), name)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Parse(%q) differs between seekable and streaming input (-seek +stream):\n%s", name, diff)
			}
			if diff := cmp.Diff(info, info2); diff != "" {
				t.Errorf("Parse(%q) info differs between seekable and streaming input:\n%s", name, diff)
			}
		})
	}
}

// TestHandChecked compares a few findings with what the fixture files say.
func TestHandChecked(t *testing.T) {
	all := grypeFixtures(t)
	tests := []struct {
		file, vuln, pkg, version string

		severity  sextant.Severity
		fixed     []string
		fixState  string
		aliases   []string
		source    string
		ecosystem string
		epss      float64
		// severities is checked when set.
		severities []sextant.SourcedSeverity
	}{
		{file: "dd-grype-check-all-fields.json", vuln: "CVE-2004-0971", pkg: "libgssapi-krb5-2", version: "1.17-3+deb10u3",
			severity: sextant.SeverityNegligible, fixState: "not-fixed", source: "krb5", ecosystem: "deb"},
		{file: "dd-grype-kafka-connect-rhel8.7.json", vuln: "CVE-2023-39410", pkg: "org.apache.avro:avro", version: "1.11.1",
			severity: sextant.SeverityHigh, fixed: []string{"1.11.3"}, fixState: "fixed", aliases: []string{"GHSA-rhrv-645h-fjfh"}, ecosystem: "maven"},
		{file: "dd-grype-defectdojo-django-1.13.1-debian10.json", vuln: "CVE-2020-29361", pkg: "libp11-kit0", version: "0.23.15-2",
			severity: sextant.SeverityMedium, fixed: []string{"0.23.15-2+deb10u1"}, fixState: "fixed", ecosystem: "deb"},
		{file: "dd-grype-defectdojo-django-1.13.1-debian10.json", vuln: "CVE-2021-24031", pkg: "libzstd1", version: "1.3.8+dfsg-3",
			severity: sextant.SeverityUnknown, fixed: []string{"1.3.8+dfsg-3+deb10u1"}, fixState: "fixed", ecosystem: "deb"},
		{file: "real-grype-juice-shop-v19.0.0.json", vuln: "GHSA-2p57-rm9w-gvfp", pkg: "ip", version: "2.0.1",
			severity: sextant.SeverityHigh, fixState: "not-fixed", aliases: []string{"CVE-2024-29415"}, ecosystem: "npm", epss: 0.86505},
		{file: "real-grype-ubi7-7.6.json.gz", vuln: "CVE-2018-20482", pkg: "tar", version: "2:1.26-35.el7",
			severity: sextant.SeverityLow, fixState: "wont-fix", ecosystem: "rpm",
			severities: []sextant.SourcedSeverity{{Source: "redhat", Severity: sextant.SeverityLow, Text: "Low"}, {Source: "nvd", Severity: sextant.SeverityMedium, Text: "Medium"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.vuln, func(t *testing.T) {
			b, ok := all[tt.file]
			if !ok {
				t.Fatalf("fixture %s not found", tt.file)
			}
			got, _ := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), tt.file)
			var f *sextant.Finding
			for _, g := range got {
				if g.VulnerabilityID == tt.vuln && g.Package.Name == tt.pkg && g.Package.Version == tt.version {
					f = g
					break
				}
			}
			if f == nil {
				t.Fatalf("Parse(%q) has no finding %s in %s %s", tt.file, tt.vuln, tt.pkg, tt.version)
			}
			if f.Severity != tt.severity {
				t.Errorf("Parse(%q) %s severity = %v, want %v", tt.file, tt.vuln, f.Severity, tt.severity)
			}
			if diff := cmp.Diff(tt.fixed, f.FixedVersions); diff != "" {
				t.Errorf("Parse(%q) %s fixed versions (-want +got):\n%s", tt.file, tt.vuln, diff)
			}
			if f.FixState != tt.fixState {
				t.Errorf("Parse(%q) %s fix state = %q, want %q", tt.file, tt.vuln, f.FixState, tt.fixState)
			}
			if diff := cmp.Diff(tt.aliases, f.Aliases); diff != "" {
				t.Errorf("Parse(%q) %s aliases (-want +got):\n%s", tt.file, tt.vuln, diff)
			}
			if f.Package.SourceName != tt.source || f.Package.Ecosystem != tt.ecosystem {
				t.Errorf("Parse(%q) %s package = %+v, want source %q, ecosystem %q", tt.file, tt.vuln, f.Package, tt.source, tt.ecosystem)
			}
			if tt.severities != nil {
				if diff := cmp.Diff(tt.severities, f.Severities); diff != "" {
					t.Errorf("Parse(%q) %s severities (-want +got):\n%s", tt.file, tt.vuln, diff)
				}
			}
			var epss float64
			if f.EPSS != nil {
				epss = f.EPSS.Probability
			}
			if epss != tt.epss {
				t.Errorf("Parse(%q) %s EPSS = %v, want %v", tt.file, tt.vuln, epss, tt.epss)
			}
		})
	}
}

// TestSameImageAsTrivy checks that a Grype report and a Trivy report of the
// same image name the same artifact: the Trivy report's Metadata.ImageID is
// read here with a plain decode.
func TestSameImageAsTrivy(t *testing.T) {
	all := grypeFixtures(t)
	tests := []struct{ grype, trivy string }{
		{"real-grype-juice-shop-v19.0.0.json", "trivy-image-juice-shop-v19.0.0-debian12-node-secrets.json"},
		{"real-grype-ubi7-7.6.json.gz", "trivy-image-ubi7-7.6-1000vulns.json"},
	}
	for _, tt := range tests {
		var trivy struct {
			Metadata struct {
				ImageID string `json:"ImageID"`
			} `json:"Metadata"`
		}
		tb := sourcetest.Read(t, filepath.Join(fixtures.Dir(t, "trivy", "real"), tt.trivy))
		if err := json.Unmarshal(tb, &trivy); err != nil {
			t.Fatal(err)
		}
		got, _ := sourcetest.ParseAll(t, Parse, bytes.NewReader(all[tt.grype]), tt.grype)
		if len(got) == 0 {
			t.Fatalf("Parse(%q) found nothing", tt.grype)
		}
		if key := got[0].Artifact.Key(); key != trivy.Metadata.ImageID {
			t.Errorf("Parse(%q) artifact key = %q, want Trivy's image ID %q", tt.grype, key, trivy.Metadata.ImageID)
		}
	}
}

package sarif

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// sarifFixtures lists every real SARIF report in the shared corpus.
func sarifFixtures(t *testing.T) []string {
	t.Helper()
	files := fixtures.Files(t, "sarif")
	files = append(files,
		filepath.Join(fixtures.Dir(t, "trivy", "golden"), "alpine-3.10.sarif"),
		filepath.Join(fixtures.Dir(t, "trivy", "misc"), "trivy-action-config-terraform.sarif"),
		filepath.Join(fixtures.Dir(t, "cnapp", "misc"), "docker-scout-cves-juice-shop.sarif"),
	)
	return files
}

// countResults counts runs[].results[] with a plain encoding/json decode,
// independently of the parser. Text before the first '{' (Docker Scout's
// progress output) and after the document is ignored.
func countResults(t *testing.T, data []byte) int {
	t.Helper()
	if i := bytes.IndexByte(data, '{'); i > 0 {
		data = data[i:]
	}
	var doc map[string]any
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		t.Fatalf("decode fixture: %v", err)
	}
	n := 0
	runs, _ := doc["runs"].([]any)
	for _, r := range runs {
		res, _ := r.(map[string]any)["results"].([]any)
		n += len(res)
	}
	return n
}

func TestConformance(t *testing.T) {
	for _, path := range sarifFixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := sourcetest.Read(t, path)
			want := countResults(t, data)
			name := filepath.Base(path)
			got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(data), name)
			if len(got) != want || info.Findings != want {
				t.Errorf("Parse(%q) emitted %d findings (info says %d), want %d", name, len(got), info.Findings, want)
			}
			if info.Format != Format || info.Source.Scanner == "" {
				t.Errorf("Parse(%q) info = %+v, want format %q and a scanner", name, info, Format)
			}
			for i, f := range got {
				if f.ID == "" || f.VulnerabilityID == "" || f.Artifact.Key() == "" {
					t.Errorf("finding %d: ID %q, VulnerabilityID %q, artifact key %q: want all non-empty", i, f.ID, f.VulnerabilityID, f.Artifact.Key())
				}
				if f.ID != sextant.Fingerprint(f) {
					t.Errorf("finding %d: ID %q is not its fingerprint", i, f.ID)
				}
				if f.Kind == sextant.KindVulnerability && f.Package.Name == "" {
					t.Errorf("finding %d (%s): vulnerability without a package name", i, f.VulnerabilityID)
				}
			}
			// A second parse, through the single-pass path, gives the same
			// findings and fingerprints.
			again, info2 := sourcetest.ParseAll(t, Parse, sourcetest.OnlyReader(bytes.NewReader(data)), name)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("single-pass Parse(%q) differs from two-pass (-two +single):\n%s", name, diff)
			}
			if diff := cmp.Diff(info, info2); diff != "" {
				t.Errorf("single-pass ReportInfo differs (-two +single):\n%s", diff)
			}
		})
	}
}

func TestFixtureFindings(t *testing.T) {
	type check struct {
		id, pkg   string
		version   string
		ecosystem string
		severity  sextant.Severity
		fixed     []string
		path      string
		digest    string
		epss      float64
		cvss      float64
		location  string
		kind      sextant.Kind
	}
	tests := []struct {
		file   []string
		checks []check
	}{
		{
			file: []string{"sarif", "trivy-0.64.0-sarif-bitnami-redis-7.0.5-debian11.sarif.json"},
			checks: []check{
				{id: "CVE-2023-4911", pkg: "libc6", version: "2.31-13+deb11u5", ecosystem: "deb", severity: sextant.SeverityHigh,
					fixed: []string{"2.31-13+deb11u7"}, digest: "sha256:3225389df0d0ae775d2562e799a9c587dafb4c28fd7a447adbbb9ab344b61f90", epss: 0.70815, kind: sextant.KindVulnerability},
				{id: "CVE-2025-22871", pkg: "stdlib", version: "v1.18.8", ecosystem: "golang", severity: sextant.SeverityMedium,
					fixed: []string{"1.23.8", "1.24.2"}, path: "opt/bitnami/common/bin/wait-for-port", kind: sextant.KindVulnerability},
			},
		},
		{
			file: []string{"sarif", "trivy-0.64.0-sarif-lachlanevenson-k8s-kubectl-v1.25.4.sarif.json"},
			checks: []check{
				// One rule, two classes: the OS package and the Go module.
				{id: "CVE-2023-44487", pkg: "nghttp2-libs", version: "1.51.0-r0", ecosystem: "apk", severity: sextant.SeverityHigh, fixed: []string{"1.51.0-r2"}, kind: sextant.KindVulnerability},
				{id: "CVE-2023-44487", pkg: "golang.org/x/net", ecosystem: "golang", severity: sextant.SeverityMedium, fixed: []string{"0.17.0"}, path: "usr/local/bin/kubectl", kind: sextant.KindVulnerability},
			},
		},
		{
			file: []string{"trivy", "golden", "alpine-3.10.sarif"},
			checks: []check{
				{id: "CVE-2019-1549", pkg: "libssl1.1", version: "1.1.1c-r0", ecosystem: "apk", severity: sextant.SeverityMedium, fixed: []string{"1.1.1d-r0"}, cvss: 5.3, kind: sextant.KindVulnerability},
			},
		},
		{
			file: []string{"trivy", "misc", "trivy-action-config-terraform.sarif"},
			checks: []check{
				{id: "AWS-0086", severity: sextant.SeverityHigh, location: "main.tf:8-10", kind: sextant.KindMisconfiguration},
			},
		},
		{
			file: []string{"cnapp", "misc", "docker-scout-cves-juice-shop.sarif"},
			checks: []check{
				{id: "CVE-2026-22709", pkg: "vm2", version: "3.9.17", ecosystem: "npm", severity: sextant.SeverityCritical, fixed: []string{"3.10.2"},
					path: "/juice-shop/node_modules/vm2/package.json", epss: 0.00033, cvss: 9.8, kind: sextant.KindVulnerability},
				{id: "GMS-2015-4", pkg: "jsonwebtoken", version: "0.1.0", ecosystem: "npm", severity: sextant.SeverityUnknown, fixed: []string{"4.2.2"}, kind: sextant.KindVulnerability},
			},
		},
	}
	for _, tt := range tests {
		name := tt.file[len(tt.file)-1]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(fixtures.Dir(t, tt.file[:len(tt.file)-1]...), name)
			fs, _ := sourcetest.ParseAll(t, Parse, bytes.NewReader(sourcetest.Read(t, path)), name)
			for _, c := range tt.checks {
				var f *sextant.Finding
				for _, g := range fs {
					if g.VulnerabilityID == c.id && g.Package.Name == c.pkg && (c.path == "" || g.Package.Path == c.path) {
						f = g
						break
					}
				}
				if f == nil {
					t.Errorf("Parse(%q): no finding %s in %q", name, c.id, c.pkg)
					continue
				}
				if f.Kind != c.kind || f.Severity != c.severity || (c.version != "" && f.Package.Version != c.version) ||
					f.Package.Ecosystem != c.ecosystem || (c.path != "" && f.Package.Path != c.path) || f.Location != c.location {
					t.Errorf("Parse(%q) %s/%s = kind %s severity %v version %q ecosystem %q path %q location %q, want %s %v %q %q %q %q",
						name, c.id, c.pkg, f.Kind, f.Severity, f.Package.Version, f.Package.Ecosystem, f.Package.Path, f.Location,
						c.kind, c.severity, c.version, c.ecosystem, c.path, c.location)
				}
				if diff := cmp.Diff(c.fixed, f.FixedVersions); diff != "" {
					t.Errorf("Parse(%q) %s/%s fixed versions (-want +got):\n%s", name, c.id, c.pkg, diff)
				}
				if c.digest != "" && f.Artifact.Digest != c.digest {
					t.Errorf("Parse(%q) %s artifact digest = %q, want %q", name, c.id, f.Artifact.Digest, c.digest)
				}
				if c.epss != 0 && (f.EPSS == nil || f.EPSS.Probability != c.epss) {
					t.Errorf("Parse(%q) %s EPSS = %+v, want probability %v", name, c.id, f.EPSS, c.epss)
				}
				if c.cvss != 0 && (len(f.CVSS) == 0 || f.CVSS[len(f.CVSS)-1].Score != c.cvss) {
					t.Errorf("Parse(%q) %s CVSS = %+v, want score %v", name, c.id, f.CVSS, c.cvss)
				}
			}
		})
	}
}

package cyclonedx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// golden is what a golden file holds: the report info and every finding,
// with the normalised severities that Finding's JSON leaves out.
type golden struct {
	Info     sextant.ReportInfo `json:"info"`
	Findings []goldenFinding    `json:"findings"`
}

type goldenFinding struct {
	Severity   string   `json:"normalised_severity"`
	Severities []string `json:"normalised_severities,omitempty"`
	*sextant.Finding
}

func checkGolden(t *testing.T, name string, input []byte) {
	t.Helper()
	g := golden{Findings: []goldenFinding{}}
	info, err := Parse(bytes.NewReader(input), name, func(f *sextant.Finding) error {
		gf := goldenFinding{Severity: f.Severity.String(), Finding: f}
		for _, s := range f.Severities {
			gf.Severities = append(gf.Severities, s.Source+":"+s.Severity.String())
		}
		g.Findings = append(g.Findings, gf)
		return nil
	})
	if err != nil {
		t.Fatalf("Parse(%q) error: %v", name, err)
	}
	g.Info = info
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".json")
	path := filepath.Join("testdata", strings.TrimSuffix(base, ".cdx")+".golden.json")
	sourcetest.GoldenJSON(t, path, g)
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"vulns-first.cdx.json", "grype-syft-image.cdx.json"} {
		t.Run(name, func(t *testing.T) { checkGolden(t, name, readTestdata(t, name)) })
	}
	t.Run("npm-cyclonedx.json", func(t *testing.T) {
		dir := fixtures.Dir(t, "trivy", "golden")
		checkGolden(t, "npm-cyclonedx.json", sourcetest.Read(t, filepath.Join(dir, "npm-cyclonedx.json")))
	})
}

// TestOddInput checks the choices made on the hand-written BOMs beyond what
// the golden files pin down.
func TestOddInput(t *testing.T) {
	got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(readTestdata(t, "vulns-first.cdx.json")), "vf")
	if len(got) != 6 || !info.Complete {
		t.Fatalf("Parse(vulns-first) = %d findings, complete %v; want 6, true", len(got), info.Complete)
	}
	type short struct {
		Vuln, Pkg, Eco, Src, FixState, Location string
		Fixed                                   []string
		Sev                                     sextant.Severity
	}
	var gotShort []short
	for _, f := range got {
		gotShort = append(gotShort, short{f.VulnerabilityID, f.Package.Name, f.Package.Ecosystem, f.Package.SourceName, f.FixState, f.Location, f.FixedVersions, f.Severity})
	}
	want := []short{
		// Vendor (debian) severity wins over NVD's; the recommendation
		// names libfoo1 and gives its fix.
		{"CVE-2023-0001", "libfoo1", "deb", "foo", "fixed", "", []string{"1.0-2+deb12u1"}, sextant.SeverityHigh},
		// Reached through a BOM-Link, nested two levels deep; the
		// recommendation is for another package.
		{"CVE-2023-0001", "org.deep/deeper", "", "", "", "", nil, sextant.SeverityHigh},
		{"GHSA-mmmm-nnnn-oooo", "com.example:lib", "maven", "", "not_affected", "", []string{"2.0.1", "2.1.0", "3.0.0"}, sextant.SeverityUnknown},
		{"GHSA-mmmm-nnnn-oooo", "@scope/left-pad", "npm", "", "not_affected", "", nil, sextant.SeverityUnknown},
		{"GHSA-mmmm-nnnn-oooo", "", "", "", "not_affected", "no-such-ref", nil, sextant.SeverityUnknown},
		// No severity word: derived from the CVSS score.
		{"CVE-2024-9999", "", "", "", "", "", nil, sextant.SeverityMedium},
	}
	if diff := cmp.Diff(want, gotShort); diff != "" {
		t.Errorf("Parse(vulns-first) (-want +got):\n%s", diff)
	}
	for i, sub := range map[int]string{2: "analysis says not_affected (code_not_reachable)", 3: "package read from the ref's PURL", 4: `"no-such-ref" names no component`, 5: "no affected component"} {
		if !sourcetest.AnyContains(got[i].Warnings, sub) {
			t.Errorf("Parse(vulns-first) finding %d warnings = %q, want one containing %q", i, got[i].Warnings, sub)
		}
	}
	if !sourcetest.AnyContains(got[2].Warnings, `unknown severity "serious"`) {
		t.Errorf("Parse(vulns-first) finding 2 warnings = %q, want one naming the unknown severity", got[2].Warnings)
	}
	wantArt := sextant.Artifact{
		Name: "ghcr.io/example/app:1.0", Type: "container_image", Repository: "ghcr.io/example/app", Tags: []string{"1.0", "stable"},
		Digest:      "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
		RepoDigests: []string{"ghcr.io/example/app@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"},
		OSFamily:    "debian", OSVersion: "12.5",
	}
	if diff := cmp.Diff(wantArt, got[0].Artifact); diff != "" {
		t.Errorf("Parse(vulns-first) artifact (-want +got):\n%s", diff)
	}
	if got[0].Source.Scanner != "scanner-x" || got[0].Source.Version != "9.9" {
		t.Errorf("Parse(vulns-first) source = %+v, want the legacy tools entry", got[0].Source)
	}

	got, _ = sourcetest.ParseAll(t, Parse, bytes.NewReader(readTestdata(t, "grype-syft-image.cdx.json")), "gs")
	if len(got) != 1 {
		t.Fatalf("Parse(grype-syft-image) = %d findings, want 1", len(got))
	}
	f := got[0]
	if f.Source.Scanner != "grype" || f.Artifact.Name != "bkimminich/juice-shop:v19.0.0" || f.Artifact.Key() != "bkimminich/juice-shop:v19.0.0" {
		t.Errorf("Parse(grype-syft-image) source %+v, artifact %+v; want grype and the image by repository:tag", f.Source, f.Artifact)
	}
	if f.Package.LayerDiffID != "sha256:b9d23411f142a4775d254fcb247412dba31307c736d33ad7938b1c11cce3e077" || f.Package.Path != "/juice-shop/node_modules/ip/package.json" || f.Severity != sextant.SeverityHigh {
		t.Errorf("Parse(grype-syft-image) = %+v severity %v; want Syft's layer and path, HIGH", f.Package, f.Severity)
	}
}

func TestNoVulnerabilityData(t *testing.T) {
	tests := []struct{ name, in, warn string }{
		{"absent", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"a","bom-ref":"a"}]}`, "has no vulnerability data"},
		{"empty", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[],"vulnerabilities":[]}`, "vulnerabilities section is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, info := sourcetest.ParseAll(t, Parse, strings.NewReader(tt.in), "sbom.json")
			if len(got) != 0 || info.Complete || !sourcetest.AnyContains(info.Warnings, tt.warn) || !sourcetest.AnyContains(info.Warnings, "trivy sbom sbom.json -f json") {
				t.Errorf("Parse(%s) = %d findings, info %+v; want none, incomplete, a warning containing %q and the command", tt.name, len(got), info, tt.warn)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "parse cyclonedx report: empty input"},
		{"array", `[]`, "top-level value is an array, want an object"},
		{"truncated", `{"bomFormat":"CycloneDX","components":[{"name":"a"`, "unexpected end of input at byte 50 (truncated file?)"},
		{"bad syntax", `{"bomFormat":"CycloneDX",}`, "invalid JSON at byte 24"},
		{"wrong format", `{"bomFormat":"SPDX"}`, `bomFormat is "SPDX"`},
		{"spdx", `{"spdxVersion":"SPDX-2.3","packages":[]}`, "SPDX document, not a CycloneDX BOM"},
		{"not a bom", `{"foo":1}`, "not a CycloneDX BOM"},
		{"wrong type", `{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","ratings":[{"score":"high"}]}]}`, "field /vulnerabilities/0/ratings/0/score at byte 78 has the wrong type: got a string, want a number"},
		{"components not array", `{"bomFormat":"CycloneDX","components":{}}`, "field /components at byte 38 has the wrong type: got an object, want an array"},
		{"element not object", `{"bomFormat":"CycloneDX","vulnerabilities":[1]}`, "field /vulnerabilities/0 at byte 44 has the wrong type: got a number, want an object"},
		{"nested not array", `{"bomFormat":"CycloneDX","components":[{"name":"a","components":5}]}`, "field /components/0/components"},
		{"trailing", `{"bomFormat":"CycloneDX"} x`, "invalid JSON at byte 26"},
		{"second value", `{"bomFormat":"CycloneDX"} {}`, "unexpected data after the BOM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in), "t", func(*sextant.Finding) error { return nil })
			sourcetest.CheckInvalid(t, tt.in, err, op, tt.want)
		})
	}
}

func TestEmitError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	info, err := Parse(bytes.NewReader(readTestdata(t, "vulns-first.cdx.json")), "t", func(*sextant.Finding) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 || info.Findings != 1 {
		t.Errorf("Parse with failing emit = %v after %d calls (info %d), want the emit error after 1", err, n, info.Findings)
	}
}

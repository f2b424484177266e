package grype

import (
	"bytes"
	"errors"
	"fmt"
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
	var g golden
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
	path := filepath.Join("testdata", strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".json")+".golden.json")
	sourcetest.GoldenJSON(t, path, g)
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"old-schema-metadata-first.json", "partial-sbom-scan.json", "directory.json"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name, b)
		})
	}
	t.Run("grype-chainguard-ruby-wolfi.json", func(t *testing.T) {
		dir := fixtures.Dir(t, "grype")
		checkGolden(t, "grype-chainguard-ruby-wolfi.json", sourcetest.Read(t, filepath.Join(dir, "grype-chainguard-ruby-wolfi.json")))
	})
}

// TestOddInput checks the warnings and choices made on the hand-written
// reports, beyond what the golden files pin down.
func TestOddInput(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(read("old-schema-metadata-first.json")), "old")
	if len(got) != 2 || !info.Complete {
		t.Fatalf("Parse(old) = %d findings, complete %v; want 2, true", len(got), info.Complete)
	}
	odd := got[0]
	if odd.Severity != sextant.SeverityUnknown || !sourcetest.AnyContains(odd.Warnings, `unknown severity "Serious"`) {
		t.Errorf("Parse(old) severity = %v, warnings %q; want UNKNOWN and a warning naming Serious", odd.Severity, odd.Warnings)
	}
	if diff := cmp.Diff([]string{"1.2.3-1+deb10u1", "1.2.3-1+deb10u2"}, odd.FixedVersions); diff != "" {
		t.Errorf("Parse(old) fixed versions (-want +got):\n%s", diff)
	}
	if odd.Package.Path != "/var/lib/dpkg/status" || odd.Package.SourceName != "example" {
		t.Errorf("Parse(old) package = %+v; want path from a string location and source name from the purl", odd.Package)
	}
	wantArt := sextant.Artifact{
		Name: "registry.example.com:5000/team/app:1.2", Type: "container_image",
		Repository: "registry.example.com:5000/team/app", Tags: []string{"1.2", "latest"},
		Digest:   "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		OSFamily: "debian", OSVersion: "10",
		Layers: []string{"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
	}
	if diff := cmp.Diff(wantArt, odd.Artifact); diff != "" {
		t.Errorf("Parse(old) artifact (-want +got):\n%s", diff)
	}
	noID := got[1]
	if noID.VulnerabilityID != "GHSA-aaaa-bbbb-cccc" || !sourcetest.AnyContains(noID.Warnings, "no vulnerability id") || noID.Package.Name != "org.apache.logging.log4j:log4j-core" {
		t.Errorf("Parse(old) second finding = %q %q, warnings %q", noID.VulnerabilityID, noID.Package.Name, noID.Warnings)
	}

	got, info = sourcetest.ParseAll(t, Parse, bytes.NewReader(read("partial-sbom-scan.json")), "partial")
	if len(got) != 1 || info.Complete {
		t.Fatalf("Parse(partial) = %d findings, complete %v; want 1, false", len(got), info.Complete)
	}
	for _, w := range []string{"1 matches were ignored", "only-fixed", "not a digest", "grype alert for 2 packages: Package is from end-of-life distro: debian 11"} {
		if !sourcetest.AnyContains(info.Warnings, w) {
			t.Errorf("Parse(partial) warnings = %q, want one containing %q", info.Warnings, w)
		}
	}
	f := got[0]
	if !f.KnownExploited || f.EPSS == nil || f.EPSS.Probability != 0.94358 {
		t.Errorf("Parse(partial) KEV = %v, EPSS = %+v; want true and 0.94358", f.KnownExploited, f.EPSS)
	}
	if f.Artifact.Digest != "sha256:3333333333333333333333333333333333333333333333333333333333333333" {
		t.Errorf("Parse(partial) digest = %q, want the manifest digest", f.Artifact.Digest)
	}
	if f.Package.Path != "/app/lib/log4j-core-2.14.1.jar" || f.Package.LayerDiffID != "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd" {
		t.Errorf("Parse(partial) package = %+v, want the primary location", f.Package)
	}
	wantCVSS := []sextant.CVSS{
		{Source: "nvd@nist.gov", Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", Score: 10},
		{Source: "nvd", Version: "4.0", Vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", Score: 10},
	}
	if diff := cmp.Diff(wantCVSS, f.CVSS); diff != "" {
		t.Errorf("Parse(partial) CVSS (-want +got):\n%s", diff)
	}

	_, info = sourcetest.ParseAll(t, Parse, bytes.NewReader(read("directory.json")), "dir")
	if !sourcetest.AnyContains(info.Warnings, `timestamp "not a time"`) {
		t.Errorf("Parse(dir) warnings = %q, want one about the timestamp", info.Warnings)
	}
}

func TestParseErrors(t *testing.T) {
	const meta = `"source":{"type":"image","target":{"userInput":"a:1"}},"distro":{"name":"debian","version":"12"},"descriptor":{"name":"grype","version":"0.100.0"}`
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "parse grype report: empty input"},
		{"array", `[]`, "top-level value is an array, want an object"},
		{"truncated", `{"matches": [{"vulnerability": {"id": "CVE-1"`, "unexpected end of input at byte 45 (truncated file?)"},
		{"truncated after metadata", `{` + meta + `,"matches": [{"vulnerability": {"id": "CVE-1"`, "unexpected end of input at byte 192 (truncated file?)"},
		{"bad syntax", `{"matches": [}`, "invalid JSON at byte 13"},
		{"wrong type deferred", `{"matches": [{"vulnerability": {"id": 5}}],` + meta + `}`, "field /matches/0/vulnerability/id at byte 38 has the wrong type: got a number, want a string"},
		{"wrong type direct", `{` + meta + `,"matches": [{"artifact": {"name": []}}]}`, "field /matches/0/artifact/name at byte 182 has the wrong type: got an array, want a string"},
		{"matches not array", `{"matches": {},` + meta + `}`, "field /matches at byte 12 has the wrong type: got an object, want an array"},
		{"match not object", `{` + meta + `,"matches": [1]}`, "field /matches/0 at byte 160 has the wrong type: got a number, want an object"},
		{"trailing", `{"matches": [],` + meta + `} {}`, "unexpected data after the report"},
		{"not grype", `{"foo": 1}`, "not a grype JSON report"},
		{"location kind", `{"matches": [{"artifact": {"locations": [3]}}],` + meta + `}`, "/matches/0/artifact/locations/0"},
	}
	for _, tt := range tests {
		for _, seek := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/seek=%v", tt.name, seek), func(t *testing.T) {
				var r interface{ Read([]byte) (int, error) } = strings.NewReader(tt.in)
				if !seek {
					r = sourcetest.OnlyReader(r)
				}
				_, err := Parse(r, "t", func(*sextant.Finding) error { return nil })
				if err == nil {
					t.Fatalf("Parse(%q) = nil error, want %q", tt.in, tt.want)
				}
				if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "parse grype report: ") {
					t.Errorf("Parse(%q) = %q, want it to contain %q", tt.in, err, tt.want)
				}
				if code := sextant.ErrorCode(err); code != sextant.EINVALID {
					t.Errorf("Parse(%q) error code = %q, want %q", tt.in, code, sextant.EINVALID)
				}
			})
		}
	}
}

func TestEmitError(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "old-schema-metadata-first.json"))
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	n := 0
	info, err := Parse(bytes.NewReader(b), "t", func(*sextant.Finding) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 || info.Findings != 1 {
		t.Errorf("Parse with failing emit = %v after %d calls (info %d), want the emit error after 1", err, n, info.Findings)
	}
}

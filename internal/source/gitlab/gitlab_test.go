package gitlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

func gitlabFixtures(t *testing.T) []string {
	return append(fixtures.Files(t, "cnapp", "gitlab"),
		filepath.Join(fixtures.Dir(t, "trivy", "golden"), "alpine-3.10.gitlab-container-scanning.json"))
}

func TestConformance(t *testing.T) {
	for _, path := range gitlabFixtures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			want := len(doc["vulnerabilities"].([]any))
			got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(data), name)
			if len(got) != want || info.Findings != want {
				t.Errorf("Parse(%q) = %d findings (info %d), want %d", name, len(got), info.Findings, want)
			}
			for i, f := range got {
				if f.ID == "" || f.VulnerabilityID == "" || f.Artifact.Key() == "" || f.Package.Name == "" {
					t.Errorf("finding %d: ID %q vulnerability %q artifact %q package %q: want all non-empty", i, f.ID, f.VulnerabilityID, f.Artifact.Key(), f.Package.Name)
				}
			}
			again, info2 := sourcetest.ParseAll(t, Parse, sourcetest.OnlyReader(bytes.NewReader(data)), name)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("single-pass Parse(%q) differs (-two +single):\n%s", name, diff)
			}
			if diff := cmp.Diff(info, info2); diff != "" {
				t.Errorf("single-pass ReportInfo differs (-two +single):\n%s", diff)
			}
		})
	}
}

func TestFixtureFindings(t *testing.T) {
	tests := []struct {
		file                         []string
		id, pkg, version, ecosystem  string
		severity                     sextant.Severity
		fixed                        []string
		key, scanner, path, osFamily string
	}{
		{[]string{"trivy", "golden", "alpine-3.10.gitlab-container-scanning.json"}, "CVE-2019-1551", "libssl1.1", "1.1.1c-r0", "apk",
			sextant.SeverityMedium, []string{"1.1.1d-r2"}, "testdata/fixtures/images/alpine-310.tar.gz", "trivy", "", "alpine"},
		{[]string{"cnapp", "gitlab", "gl_container_scanning_report_5vuln_v15.json"}, "CVE-2020-1751", "libc6", "2.28-10", "deb",
			sextant.SeverityHigh, nil, "registry/vulnerable-project:latest", "trivy", "", "debian"},
		// Trivy's template names the lock file as the image for language
		// packages; the finding belongs to the image named elsewhere.
		{[]string{"cnapp", "gitlab", "gl_container_scanning_report_v15.json"}, "CVE-2022-31090", "guzzlehttp/guzzle", "7.4.1", "composer",
			sextant.SeverityMedium, []string{"7.4.5", "6.5.8"}, "XXXXXX.dkr.ecr.eu-west-3.amazonaws.com/XXX/admintools/tools:pipeline-ci", "gitlab", "var/www/composer.lock", ""},
	}
	for _, tt := range tests {
		name := tt.file[len(tt.file)-1]
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixtures.Dir(t, tt.file[:len(tt.file)-1]...), name))
			if err != nil {
				t.Fatal(err)
			}
			fs, _ := sourcetest.ParseAll(t, Parse, bytes.NewReader(data), name)
			for _, f := range fs {
				if f.VulnerabilityID != tt.id || f.Package.Name != tt.pkg {
					continue
				}
				if f.Package.Version != tt.version || f.Package.Ecosystem != tt.ecosystem || f.Severity != tt.severity ||
					f.Artifact.Key() != tt.key || f.Source.Scanner != tt.scanner || f.Package.Path != tt.path || f.Artifact.OSFamily != tt.osFamily {
					t.Errorf("Parse(%q) %s = %+v severity %v key %q scanner %q os %q, want %s %s %v %q %q %q", name, tt.id, f.Package, f.Severity,
						f.Artifact.Key(), f.Source.Scanner, f.Artifact.OSFamily, tt.version, tt.ecosystem, tt.severity, tt.key, tt.scanner, tt.osFamily)
				}
				if diff := cmp.Diff(tt.fixed, f.FixedVersions); diff != "" {
					t.Errorf("Parse(%q) %s fixed versions (-want +got):\n%s", name, tt.id, diff)
				}
				return
			}
			t.Errorf("Parse(%q): no finding %s in %s", name, tt.id, tt.pkg)
		})
	}
}

func TestGolden(t *testing.T) {
	path := filepath.Join(fixtures.Dir(t, "trivy", "golden"), "alpine-3.10.gitlab-container-scanning.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fs, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(data), "alpine-3.10.gitlab-container-scanning.json")
	type goldenFinding struct {
		Level string `json:"severity_level"`
		*sextant.Finding
	}
	out := struct {
		Info     sextant.ReportInfo `json:"info"`
		Findings []goldenFinding    `json:"findings"`
	}{Info: info}
	for _, f := range fs {
		out.Findings = append(out.Findings, goldenFinding{f.Severity.String(), f})
	}
	golden := filepath.Join("testdata", "alpine-3.10.golden.json")
	sourcetest.GoldenJSON(t, golden, out)
}

const sample = `{"version":"15.0.7","vulnerabilities":[{"id":"x1","name":"glibc overflow","severity":"Critical","solution":"Upgrade libc6 to 2.36-9+deb12u3",` +
	`"location":{"dependency":{"package":{"name":"libc6"},"version":"2.36-9+deb12u1"},"operating_system":"debian:12","image":"registry.example.com/app:1.0@sha256:abcd"},` +
	`"identifiers":[{"type":"cwe","value":"CWE-787"},{"type":"ghsa","value":"GHSA-aaaa","url":"https://github.com/advisories/GHSA-aaaa"},{"type":"cve","value":"CVE-2023-4911","url":"https://nvd.nist.gov/vuln/detail/CVE-2023-4911"}],` +
	`"cvss_vectors":[{"vendor":"NVD","vector":"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"}]}],` +
	`"scan":{"scanner":{"id":"gitlab-cs","name":"GitLab","version":"7.1.0"},"start_time":"2024-01-02T03:04:05","status":"failure"}}`

func TestSample(t *testing.T) {
	fs, info := sourcetest.ParseAll(t, Parse, strings.NewReader(sample), "gl.json")
	if len(fs) != 1 {
		t.Fatalf("Parse = %d findings, want 1", len(fs))
	}
	f := fs[0]
	if f.VulnerabilityID != "CVE-2023-4911" || !cmp.Equal(f.Aliases, []string{"GHSA-aaaa"}) {
		t.Errorf("Parse IDs = %q %q, want CVE-2023-4911 with alias GHSA-aaaa", f.VulnerabilityID, f.Aliases)
	}
	wantArtifact := sextant.Artifact{Name: "registry.example.com/app:1.0@sha256:abcd", Type: "container_image", Repository: "registry.example.com/app",
		Tags: []string{"1.0"}, Digest: "sha256:abcd", OSFamily: "debian", OSVersion: "12"}
	if diff := cmp.Diff(wantArtifact, f.Artifact); diff != "" {
		t.Errorf("Parse artifact (-want +got):\n%s", diff)
	}
	if f.Source.Scanner != "gitlab-cs" || f.Source.Version != "7.1.0" || f.Source.ScanTime.IsZero() || info.Complete {
		t.Errorf("Parse source %+v complete %v, want gitlab-cs 7.1.0 with a scan time, incomplete", f.Source, info.Complete)
	}
	if len(f.CVSS) != 1 || f.CVSS[0].Version != "3.1" || f.CVSS[0].Source != "nvd" {
		t.Errorf("Parse CVSS = %+v, want one NVD 3.1 vector", f.CVSS)
	}
	if f.Severity != sextant.SeverityCritical || f.Package.Ecosystem != "deb" || !cmp.Equal(f.FixedVersions, []string{"2.36-9+deb12u3"}) {
		t.Errorf("Parse = %v %q %v, want CRITICAL deb fixed [2.36-9+deb12u3]", f.Severity, f.Package.Ecosystem, f.FixedVersions)
	}
}

func TestWarnings(t *testing.T) {
	in := `{"vulnerabilities":[{"cve":"debian:10:x:CVE-2020-1","severity":"Severe","solution":"Rebuild","location":{"dependency":{"package":{"name":"x"},"version":"1.0"},"operating_system":"Unknown","image":"app:1"}}]}`
	fs, info := sourcetest.ParseAll(t, Parse, strings.NewReader(in), "gl.json")
	f := fs[0]
	for _, want := range []string{`unknown severity "Severe"`, "cannot tell the package ecosystem", `cannot read a fixed version from solution "Rebuild"`} {
		if !sourcetest.AnyContains(f.Warnings, want) {
			t.Errorf("Parse warnings = %q, want one containing %q", f.Warnings, want)
		}
	}
	if f.VulnerabilityID != "CVE-2020-1" || !sourcetest.AnyContains(info.Warnings, "no scan object") {
		t.Errorf("Parse = %q, report warnings %q; want CVE-2020-1 and a warning about the missing scan", f.VulnerabilityID, info.Warnings)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "empty input"},
		{"array", "[]", "want an object"},
		{"no vulnerabilities", `{"version":"15.0.0"}`, `no "vulnerabilities" member`},
		{"vulnerabilities not array", `{"vulnerabilities":{}}`, `"vulnerabilities" at byte 19: want an array, got an object`},
		{"wrong type", `{"vulnerabilities":[{"severity":5}]}`, "field /vulnerabilities/0/severity at byte 32 has the wrong type: got a number, want a string"},
		{"truncated", sample[:200], "unexpected end of input at byte"},
		{"invalid", `{"vulnerabilities":[,]}`, "invalid JSON at byte 20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in), "x", func(*sextant.Finding) error { return nil })
			sourcetest.CheckInvalid(t, tt.in, err, op, tt.want)
		})
	}
	stop := errors.New("stop")
	if _, err := Parse(strings.NewReader(sample), "x", func(*sextant.Finding) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Parse with failing emit = %v, want the emit error", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"vulnerabilities":[{"location":{"image":"Node.js"}},{"location":{"image":"a:1"}}],"remediations":[{}]}`))
	f.Add([]byte(`{"scan":{"status":"x"},"vulnerabilities":[{"identifiers":[{"type":"cve"}],"solution":"Upgrade a to "}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, single := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(data)
			if single {
				r = sourcetest.OnlyReader(r)
			}
			n := 0
			info, err := Parse(r, "fuzz.json", func(f *sextant.Finding) error {
				n++
				if f.ID == "" || f.VulnerabilityID == "" || f.Artifact.Key() == "" {
					return fmt.Errorf("incomplete finding %+v", f)
				}
				return nil
			})
			if err != nil {
				sourcetest.CheckInvalid(t, string(data), err, op, "")
				continue
			}
			if info.Findings != n {
				t.Fatalf("info.Findings = %d, emitted %d", info.Findings, n)
			}
		}
	})
}

// BenchmarkParse parses a synthetic report of 20,000 vulnerabilities.
func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"version":"15.0.7","scan":{"scanner":{"id":"trivy","version":"0.50.0"},"start_time":"2024-01-02T03:04:05","status":"success"},"vulnerabilities":[`)
	for i := 0; i < 20000; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"id":"CVE-2024-%d","name":"title %d","description":"A description of vulnerability %d.","cve":"CVE-2024-%d","severity":"High","solution":"Upgrade pkg%d to 1.%d-r1",`+
			`"location":{"dependency":{"package":{"name":"pkg%d"},"version":"1.%d-r0"},"operating_system":"alpine 3.19.1","image":"registry.example.com/app:1.0"},`+
			`"identifiers":[{"type":"cve","name":"CVE-2024-%d","value":"CVE-2024-%d","url":"https://avd.aquasec.com/nvd/cve-2024-%d"}],"links":[{"url":"https://nvd.nist.gov/vuln/detail/CVE-2024-%d"}]}`,
			i, i, i, i, i, i, i, i, i, i, i, i)
	}
	buf.WriteString(`],"remediations":[]}`)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), "bench.json", func(*sextant.Finding) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

package trivy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// collect parses a report given as a string.
func collect(t *testing.T, doc string) ([]*sextant.Finding, sextant.ReportInfo, error) {
	t.Helper()
	var out []*sextant.Finding
	info, err := Parse(strings.NewReader(doc), "test.json", func(f *sextant.Finding) error {
		out = append(out, f)
		return nil
	})
	return out, info, err
}

const meta = `"Metadata":{"OS":{"Family":"alpine","Name":"3.19.1"},"ImageID":"sha256:abc","DiffIDs":["sha256:l1","sha256:l2"],
 "RepoTags":["repo/app:1.0","repo/app:latest"],"RepoDigests":["repo/app@sha256:def"],
 "ImageConfig":{"history":[{"created_by":"ADD x /"},{"created_by":"CMD [\"sh\"]","empty_layer":true},{"created_by":"RUN y"},{"created_by":"CMD [\"app\"]","empty_layer":true}]}}`

const results = `"Results":[{"Target":"repo/app:1.0 (alpine 3.19.1)","Class":"os-pkgs","Type":"alpine","Vulnerabilities":[
 {"VulnerabilityID":"CVE-2024-0001","PkgName":"musl","InstalledVersion":"1.2.4-r2","FixedVersion":"1.2.4-r3, 1.2.5-r0","Status":"fixed","Severity":"HIGH"},
 {"VulnerabilityID":"CVE-2024-0002","PkgName":"zlib","InstalledVersion":"1.3-r0","Severity":"SEVERE"}]},
 {"Target":"app/pom.xml","Class":"lang-pkgs","Type":"jar","Vulnerabilities":[
 {"VulnerabilityID":"GHSA-xxxx","VendorIDs":["CVE-2021-44228"],"PkgName":"log4j-core","PkgIdentifier":{"PURL":"pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},"InstalledVersion":"2.14.1","Severity":"CRITICAL","VendorSeverity":{"ghsa":4,"nvd":9}}]}]`

func TestOrderIndependence(t *testing.T) {
	normal := `{"SchemaVersion":2,"ArtifactName":"repo/app:1.0","ArtifactType":"container_image",` + meta + `,` + results + `}`
	resultsFirst := `{` + results + `,"SchemaVersion":2,"ArtifactName":"repo/app:1.0","ArtifactType":"container_image",` + meta + `}`
	want, _, err := collect(t, normal)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := collect(t, resultsFirst)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(results first) differs from Parse(metadata first) (-want +got):\n%s", diff)
	}
	if len(want) != 3 {
		t.Fatalf("findings = %d, want 3", len(want))
	}
	a := want[0].Artifact
	wantArt := sextant.Artifact{
		Name: "repo/app:1.0", Type: "container_image", Repository: "repo/app", Tags: []string{"1.0", "latest"},
		Digest: "sha256:abc", RepoDigests: []string{"repo/app@sha256:def"}, OSFamily: "alpine", OSVersion: "3.19.1",
		Layers: []string{"sha256:l1", "sha256:l2"}, BaseLayers: 1,
	}
	if diff := cmp.Diff(wantArt, a); diff != "" {
		t.Errorf("Artifact mismatch (-want +got):\n%s", diff)
	}
	if got := want[0].FixedVersions; !slices.Equal(got, []string{"1.2.4-r3", "1.2.5-r0"}) {
		t.Errorf("FixedVersions = %q, want [1.2.4-r3 1.2.5-r0]", got)
	}
	if f := want[1]; f.Severity != sextant.SeverityUnknown || !slices.ContainsFunc(f.Warnings, func(w string) bool { return strings.Contains(w, `"SEVERE"`) }) {
		t.Errorf("unknown severity word: Severity %v, Warnings %q; want UNKNOWN and a warning naming SEVERE", f.Severity, f.Warnings)
	}
	f := want[2]
	if f.Package.Name != "org.apache.logging.log4j:log4j-core" || f.Package.Ecosystem != "maven" {
		t.Errorf("maven package = %+v, want group:artifact from the PURL", f.Package)
	}
	if sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases) != "CVE-2021-44228" {
		t.Errorf("Aliases = %q, want the CVE from VendorIDs", f.Aliases)
	}
	if len(f.Severities) != 1 || f.Severities[0].Source != "ghsa" || len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], "VendorSeverity 9") {
		t.Errorf("VendorSeverity {ghsa:4, nvd:9}: Severities %+v, Warnings %q", f.Severities, f.Warnings)
	}
}

func TestShapes(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		count    int
		check    func(t *testing.T, fs []*sextant.Finding, info sextant.ReportInfo)
		complete bool
	}{
		{
			name:  "type after findings",
			doc:   `{"ArtifactName":".","ArtifactType":"filesystem","Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"a","InstalledVersion":"1"}],"Target":"go.mod","Type":"gomod"}]}`,
			count: 1, complete: true,
			check: func(t *testing.T, fs []*sextant.Finding, _ sextant.ReportInfo) {
				if fs[0].Package.Ecosystem != "golang" || fs[0].Artifact.Name != "." {
					t.Errorf("Package %+v Artifact %+v; want golang in .", fs[0].Package, fs[0].Artifact)
				}
			},
		},
		{
			name: "misconfiguration statuses",
			doc: `{"ArtifactName":"x","ArtifactType":"filesystem","Results":[{"Target":"Dockerfile","Class":"config","Type":"dockerfile","Misconfigurations":[
				{"ID":"DS001","AVDID":"AVD-DS-0001","Status":"PASS"},{"ID":"DS002","Status":"EXCEPTION"},
				{"ID":"DS003","Status":"FAIL","Severity":"LOW","CauseMetadata":{"StartLine":3}},{"ID":"DS004","Status":"WEIRD"}]}]}`,
			count: 2, complete: true,
			check: func(t *testing.T, fs []*sextant.Finding, info sextant.ReportInfo) {
				if fs[0].Location != "Dockerfile:3" || len(fs[0].Warnings) != 0 {
					t.Errorf("DS003: Location %q Warnings %q", fs[0].Location, fs[0].Warnings)
				}
				if len(fs[1].Warnings) != 1 || !strings.Contains(fs[1].Warnings[0], "WEIRD") {
					t.Errorf("DS004 Warnings = %q, want one naming WEIRD", fs[1].Warnings)
				}
				if !slices.ContainsFunc(info.Warnings, func(w string) bool {
					return strings.HasPrefix(w, "1 misconfiguration checks passed (PASS) and 1 were excepted")
				}) {
					t.Errorf("Warnings = %q, want the PASS/EXCEPTION count", info.Warnings)
				}
			},
		},
		{
			name:  "null entries",
			doc:   `{"ArtifactName":"x","ArtifactType":"filesystem","Results":[null,{"Target":"t","Type":"npm","Vulnerabilities":[null,{"VulnerabilityID":"CVE-1","PkgName":"a"}],"Secrets":null}]}`,
			count: 1, complete: true,
			check: func(t *testing.T, fs []*sextant.Finding, info sextant.ReportInfo) {
				n := 0
				for _, w := range info.Warnings {
					if strings.Contains(w, "null entry") {
						n++
					}
				}
				if n != 2 {
					t.Errorf("Warnings = %q, want two about null entries", info.Warnings)
				}
			},
		},
		{
			name: "k8s resource with error and metadata list",
			doc: `{"ClusterName":"c","Resources":[{"Namespace":"ns","Kind":"Deployment","Name":"web","Metadata":[{"ImageID":"sha256:img","RepoTags":["web:2"]}],
				"Results":[{"Target":"web:2 (debian 12.1)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"libc6","InstalledVersion":"2.36"}]},
				           {"Target":"app/package-lock.json","Class":"lang-pkgs","Type":"npm","Vulnerabilities":[{"VulnerabilityID":"CVE-2","PkgName":"lodash","InstalledVersion":"4.17.20"}]},
				           {"Target":"Deployment/web","Class":"config","Type":"kubernetes","Misconfigurations":[{"ID":"KSV001","Status":"FAIL"}]}],
				"Error":"timeout"}]}`,
			count: 3, complete: false,
			check: func(t *testing.T, fs []*sextant.Finding, info sextant.ReportInfo) {
				for _, f := range fs[:2] {
					if f.Artifact.Digest != "sha256:img" || f.Artifact.OSFamily != "" && f.Artifact.OSFamily != "debian" {
						t.Errorf("%s: Artifact %+v, want the image sha256:img", f.VulnerabilityID, f.Artifact)
					}
				}
				if fs[2].Location != "ns/Deployment/web" || fs[2].Artifact.Key() != "ns/Deployment/web" {
					t.Errorf("misconfiguration Location %q Artifact %q", fs[2].Location, fs[2].Artifact.Key())
				}
			},
		},
		{
			name:  "legacy list",
			doc:   `[{"Target":"alpine:3.9 (alpine 3.9.4)","Type":"alpine","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"musl","InstalledVersion":"1","FixedVersion":"2"}]},{"Target":"Gemfile.lock","Type":"bundler","Vulnerabilities":[{"VulnerabilityID":"CVE-2","PkgName":"rack","InstalledVersion":"1"}]}]`,
			count: 2, complete: true,
			check: func(t *testing.T, fs []*sextant.Finding, _ sextant.ReportInfo) {
				if fs[1].Artifact.Key() != "alpine:3.9" || fs[1].Package.Ecosystem != "gem" || fs[0].FixState != "fixed" {
					t.Errorf("legacy: Artifact %q, Package %+v, FixState %q", fs[1].Artifact.Key(), fs[1].Package, fs[0].FixState)
				}
			},
		},
		{
			name:  "not a trivy report",
			doc:   `{"bomFormat":"CycloneDX"}`,
			count: 0, complete: true,
			check: func(t *testing.T, _ []*sextant.Finding, info sextant.ReportInfo) {
				if !slices.ContainsFunc(info.Warnings, func(w string) bool { return strings.Contains(w, "may not be a Trivy") }) {
					t.Errorf("Warnings = %q, want one saying it may not be Trivy", info.Warnings)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, info, err := collect(t, tt.doc)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(fs) != tt.count || info.Findings != tt.count || info.Complete != tt.complete {
				t.Fatalf("Parse = %d findings (info %d), Complete %v; want %d, %v", len(fs), info.Findings, info.Complete, tt.count, tt.complete)
			}
			tt.check(t, fs, info)
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "parse trivy report: empty input"},
		{"whitespace", "  \n", "parse trivy report: empty input"},
		{"top-level string", `"hello"`, "top-level value at byte 0 is a string, want an object or an array"},
		{"truncated", `{"Results":[{"Target":"x","Vulnerabilities":[{"VulnerabilityID":"CVE-1"`, "unexpected end of input at byte"},
		{"invalid", `{"Results":[}`, "invalid JSON at byte 12"},
		{"wrong type", `{"Results":[{"Target":"x","Type":"npm","Vulnerabilities":[{"Severity":5}]}]}`, "field /Results/0/Vulnerabilities/0/Severity at byte"},
		{"results not array", `{"Results":{}}`, "Results at byte 10 is an object, want an array"},
		{"cvss score type", `{"Results":[{"Target":"x","Type":"npm","Vulnerabilities":[{"CVSS":{"nvd":{"V3Score":"high"}}}]}]}`, "field /Results/0/Vulnerabilities/0/CVSS/nvd at byte 84: CVSS nvd.V3Score is a string, want a number"},
		{"vendor severity type", `{"Results":[{"Vulnerabilities":[{"VendorSeverity":{"nvd":"x"}}]}]}`, `field /Results/0/Vulnerabilities/0/VendorSeverity at byte 57: VendorSeverity "nvd" is a string, want a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := collect(t, tt.doc)
			sourcetest.CheckInvalid(t, tt.doc, err, errPrefix, tt.want)
		})
	}
}

func TestEmitErrorStops(t *testing.T) {
	stop := errors.New("stop")
	doc := `{"ArtifactName":"x","ArtifactType":"filesystem","Results":[{"Target":"t","Type":"npm","Vulnerabilities":[{"VulnerabilityID":"CVE-1"},{"VulnerabilityID":"CVE-2"}]}]}`
	calls := 0
	_, err := Parse(strings.NewReader(doc), "-", func(*sextant.Finding) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("Parse with failing emit = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func TestBaseLayers(t *testing.T) {
	h := func(spec string) []historyEntry {
		var out []historyEntry
		for _, s := range strings.Split(spec, ",") {
			empty := strings.HasPrefix(s, "-")
			out = append(out, historyEntry{CreatedBy: strings.TrimPrefix(s, "-"), EmptyLayer: empty})
		}
		return out
	}
	tests := []struct {
		history string
		layers  int
		want    int
	}{
		{"ADD,-/bin/sh -c #(nop)  CMD [\"bash\"],RUN,COPY,-CMD [\"x\"]", 3, 1},
		{"ADD,-CMD [\"bash\"],RUN,-ENTRYPOINT [\"e\"],COPY,-CMD [\"x\"]", 3, 2},
		{"ADD,-CMD [\"sh\"]", 1, 0},          // a base image itself
		{"ADD,RUN,-EXPOSE 80,COPY", 3, 0},    // no CMD before the last layer
		{"ADD,-CMD [\"sh\"],RUN,COPY", 1, 0}, // history and layers disagree
		{"ADD,ADD,-CMD x,RUN", 3, 2},
	}
	for _, tt := range tests {
		if got := baseLayers(h(tt.history), tt.layers); got != tt.want {
			t.Errorf("baseLayers(%q, %d) = %d, want %d", tt.history, tt.layers, got, tt.want)
		}
	}
}

func TestSplitTarget(t *testing.T) {
	tests := []struct{ in, image, family, version string }{
		{"docker.io/redis:6.0.5 (debian 10.4)", "docker.io/redis:6.0.5", "debian", "10.4"},
		{"x (amazon 2 (Karoo))", "x", "amazon", "2 (Karoo)"},
		{"app/package-lock.json", "", "", ""},
		{"weird (thing 1)", "", "", ""},
	}
	for _, tt := range tests {
		image, family, version := splitTarget(tt.in)
		if image != tt.image || family != tt.family || version != tt.version {
			t.Errorf("splitTarget(%q) = %q, %q, %q; want %q, %q, %q", tt.in, image, family, version, tt.image, tt.family, tt.version)
		}
	}
}

// goldenFinding is a finding as the golden files show it: Severity is not
// marshalled by the root type, so it is spelled out.
type goldenFinding struct {
	Severity string           `json:"severity_normalised"`
	Finding  *sextant.Finding `json:"finding"`
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		// input returns the report to parse and the name to give it.
		input func(t *testing.T) (path, file string)
	}{
		{"image", func(*testing.T) (string, string) { return filepath.Join("testdata", "image.json"), "image.json" }},
		{"k8s", func(*testing.T) (string, string) { return filepath.Join("testdata", "k8s.json"), "k8s.json" }},
		{"fixture-alpine-3.10", func(t *testing.T) (string, string) {
			return filepath.Join(fixtures.Dir(t, "trivy", "golden"), "alpine-3.10.json"), "alpine-3.10.json"
		}},
		{"fixture-dockerfile-misconfig", func(t *testing.T) (string, string) {
			return filepath.Join(fixtures.Dir(t, "trivy", "golden"), "dockerfile-misconfig.json"), "dockerfile-misconfig.json"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, file := tt.input(t)
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			fs, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), file)
			out := struct {
				Info     sextant.ReportInfo `json:"info"`
				Findings []goldenFinding    `json:"findings"`
			}{Info: info}
			for _, f := range fs {
				out.Findings = append(out.Findings, goldenFinding{f.Severity.String(), f})
			}
			golden := filepath.Join("testdata", tt.name+".golden.json")
			sourcetest.GoldenJSON(t, golden, out)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"SchemaVersion":2,"ArtifactName":"a:1","ArtifactType":"container_image",` + meta + `,` + results + `}`))
	f.Add([]byte(`[{"Target":"alpine:3.9 (alpine 3.9.4)","Type":"alpine","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"musl"}]}]`))
	f.Add([]byte(`{"ClusterName":"c","Resources":[{"Namespace":"n","Kind":"Pod","Name":"p","Metadata":{"ImageID":"sha256:x"},"Results":[{"Target":"Pod/p","Class":"config","Misconfigurations":[{"ID":"KSV001","Status":"FAIL"}]}]}]}`))
	f.Add([]byte(`{"Results":[{"Target":"s","Class":"secret","Secrets":[{"RuleID":"aws","Severity":"CRITICAL","StartLine":1}]}],"ArtifactName":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		info, err := Parse(bytes.NewReader(b), "fuzz", func(f *sextant.Finding) error {
			n++
			if f.ID == "" {
				return fmt.Errorf("finding without ID")
			}
			return nil
		})
		if err != nil {
			sourcetest.CheckInvalid(t, string(b), err, errPrefix, "")
			return
		}
		if info.Findings != n {
			t.Fatalf("ReportInfo.Findings = %d, emitted %d", info.Findings, n)
		}
	})
}

// BenchmarkParse measures an image report with many vulnerabilities, end to
// end from bytes to emitted findings.
func BenchmarkParse(b *testing.B) {
	const n = 20000
	var buf bytes.Buffer
	buf.WriteString(`{"SchemaVersion":2,"CreatedAt":"2025-01-01T00:00:00Z","ArtifactName":"repo/app:1.0","ArtifactType":"container_image",` + meta + `,"Results":[{"Target":"repo/app:1.0 (debian 12.1)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[`)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"VulnerabilityID":"CVE-2024-%d","VendorIDs":["DSA-%d-1"],"PkgID":"pkg%d@1.%d","PkgName":"pkg%d","PkgIdentifier":{"PURL":"pkg:deb/debian/pkg%d@1.%d?distro=debian-12.1","UID":"a1b2c3"},"InstalledVersion":"1.%d","FixedVersion":"1.%d.1, 2.0","Status":"fixed","Layer":{"Digest":"sha256:aaaa","DiffID":"sha256:l1"},"SeveritySource":"nvd","PrimaryURL":"https://avd.aquasec.com/nvd/cve-2024-%d","DataSource":{"ID":"debian","Name":"Debian Security Tracker","URL":"https://salsa.debian.org/security-tracker-team/security-tracker"},"Title":"pkg: a problem in something","Description":"A long description of the vulnerability that goes on for a while, as they do, describing impact and affected versions in some detail.","Severity":"HIGH","CweIDs":["CWE-787"],"VendorSeverity":{"debian":2,"nvd":3,"redhat":2},"CVSS":{"nvd":{"V2Vector":"AV:N/AC:L/Au:N/C:P/I:P/A:P","V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","V2Score":7.5,"V3Score":9.8},"redhat":{"V3Vector":"CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L","V3Score":5.6}},"References":["https://access.redhat.com/security/cve/CVE-2024-%d","https://nvd.nist.gov/vuln/detail/CVE-2024-%d","https://security-tracker.debian.org/tracker/CVE-2024-%d"],"PublishedDate":"2024-01-01T00:00:00Z","LastModifiedDate":"2024-02-01T00:00:00Z"}`,
			i, i, i, i, i, i, i, i, i, i, i, i, i)
	}
	buf.WriteString(`]}]}`)
	doc := buf.Bytes()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		info, err := Parse(bytes.NewReader(doc), "bench", func(*sextant.Finding) error { return nil })
		if err != nil || info.Findings != n {
			b.Fatalf("Parse = %d findings, %v", info.Findings, err)
		}
	}
}

package sarif

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

// goldenFinding shows the normalised severity, which Finding does not
// marshal.
type goldenFinding struct {
	Level string `json:"severity_level"`
	*sextant.Finding
}

func checkGolden(t *testing.T, name string, fs []*sextant.Finding, info sextant.ReportInfo) {
	t.Helper()
	out := struct {
		Info     sextant.ReportInfo `json:"info"`
		Findings []goldenFinding    `json:"findings"`
	}{Info: info}
	for _, f := range fs {
		out.Findings = append(out.Findings, goldenFinding{f.Severity.String(), f})
	}
	path := filepath.Join("testdata", name+".golden.json")
	sourcetest.GoldenJSON(t, path, out)
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		path func(t *testing.T) string
	}{
		{"alpine-3.10.sarif", func(t *testing.T) string {
			return filepath.Join(fixtures.Dir(t, "trivy", "golden"), "alpine-3.10.sarif")
		}},
		{"trivy-action-config-terraform.sarif", func(t *testing.T) string {
			return filepath.Join(fixtures.Dir(t, "trivy", "misc"), "trivy-action-config-terraform.sarif")
		}},
		{"grype-image.sarif", func(t *testing.T) string { return filepath.Join("testdata", "grype-image.sarif") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := sourcetest.Read(t, tt.path(t))
			fs, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(data), tt.name)
			checkGolden(t, tt.name, fs, info)
		})
	}
}

func TestGrype(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "grype-image.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	fs, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(data), "grype-image.sarif")
	if len(fs) != 2 || info.Source.Scanner != "grype" || info.Source.Version != "0.109.0" {
		t.Fatalf("Parse(grype-image.sarif) = %d findings, source %+v; want 2 from grype 0.109.0", len(fs), info.Source)
	}
	want := sextant.Package{
		Ecosystem: "maven", Type: "java-archive", Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1",
		PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", Path: "/app/lib/log4j-core-2.14.1.jar",
		LayerDiffID: "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef",
	}
	if diff := cmp.Diff(want, fs[0].Package); diff != "" {
		t.Errorf("Parse(grype-image.sarif) package (-want +got):\n%s", diff)
	}
	if fs[0].VulnerabilityID != "CVE-2021-44228" || fs[0].Severity != sextant.SeverityCritical {
		t.Errorf("Parse(grype-image.sarif) = %s %v, want CVE-2021-44228 CRITICAL", fs[0].VulnerabilityID, fs[0].Severity)
	}
	if diff := cmp.Diff([]string{"2.15.0", "2.12.2"}, fs[0].FixedVersions); diff != "" {
		t.Errorf("fixed versions (-want +got):\n%s", diff)
	}
	if got := fs[1].Artifact.Key(); got != "example/app:1.0" {
		t.Errorf("artifact key = %q, want example/app:1.0", got)
	}
	if fs[1].Package.Ecosystem != "deb" || fs[1].Package.Version != "2.36-9+deb12u1" || fs[1].Package.PURL == "" {
		t.Errorf("libc6 package = %+v, want deb 2.36-9+deb12u1 with its PURL", fs[1].Package)
	}
}

// doc builds a one-run SARIF log with the given run members.
func doc(members ...string) string {
	return `{"version":"2.1.0","runs":[{` + strings.Join(members, ",") + `}]}`
}

const (
	trivyTool = `"tool":{"driver":{"name":"Trivy","version":"0.64.0","rules":[` +
		`{"id":"CVE-2023-0286","name":"OsPackageVulnerability","shortDescription":{"text":"openssl: X.400 type confusion"},"helpUri":"https://avd.aquasec.com/nvd/cve-2023-0286","properties":{"security-severity":"7.4","tags":["vulnerability","security","HIGH"]}},` +
		`{"id":"CVE-2022-41723","name":"LanguageSpecificPackageVulnerability","shortDescription":{"text":"net/http: HPACK"}}]}}`
	trivyResults = `"results":[` +
		`{"ruleId":"CVE-2023-0286","ruleIndex":0,"level":"error","message":{"text":"Package: openssl\nInstalled Version: 1.1.1n-0+deb11u3\nVulnerability CVE-2023-0286\nSeverity: HIGH\nFixed Version: 1.1.1n-0+deb11u4\nLink: [CVE-2023-0286](https://avd.aquasec.com/nvd/cve-2023-0286)"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"library/debian","uriBaseId":"ROOTPATH"}}}]},` +
		`{"ruleId":"CVE-2022-41723","ruleIndex":1,"level":"warning","message":{"text":"Severity: MEDIUM\nInstalled Version: v0.4.0\nPackage: golang.org/x/net\nFixed Version: 0.7.0, 0.8.0"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"usr/bin/app"}}}]}]`
	trivyProps = `"properties":{"imageName":"debian:11","imageID":"sha256:aaaa","repoTags":["debian:11","debian:bullseye"],"repoDigests":["debian@sha256:bbbb"]}`
)

func TestMemberOrder(t *testing.T) {
	// The same run with its members in every order gives the same findings,
	// through both the two-pass and the single-pass path.
	orders := map[string]string{
		"trivy order":       doc(trivyTool, trivyResults, trivyProps),
		"properties first":  doc(trivyProps, trivyTool, trivyResults),
		"tool last":         doc(trivyResults, trivyProps, trivyTool),
		"results in middle": doc(trivyProps, trivyResults, trivyTool),
	}
	var want []*sextant.Finding
	for _, name := range []string{"trivy order", "properties first", "tool last", "results in middle"} {
		in := orders[name]
		for _, single := range []bool{false, true} {
			var r = bytes.NewReader([]byte(in))
			var got []*sextant.Finding
			if single {
				got, _ = sourcetest.ParseAll(t, Parse, sourcetest.OnlyReader(r), "report.sarif")
			} else {
				got, _ = sourcetest.ParseAll(t, Parse, r, "report.sarif")
			}
			if want == nil {
				want = got
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (single pass %v): findings differ (-want +got):\n%s", name, single, diff)
			}
		}
	}
	if len(want) != 2 {
		t.Fatalf("got %d findings, want 2", len(want))
	}
	os, lang := want[0], want[1]
	if os.Package.Ecosystem != "deb" || os.Package.Path != "" || os.Artifact.Digest != "sha256:aaaa" ||
		os.Artifact.Repository != "debian" || !cmp.Equal(os.Artifact.Tags, []string{"11", "bullseye"}) {
		t.Errorf("OS finding = %+v / %+v, want deb package in artifact sha256:aaaa debian:[11 bullseye]", os.Package, os.Artifact)
	}
	if lang.Package.Ecosystem != "golang" || lang.Package.Path != "usr/bin/app" || !cmp.Equal(lang.FixedVersions, []string{"0.7.0", "0.8.0"}) {
		t.Errorf("language finding = %+v fixed %v, want golang at usr/bin/app fixed [0.7.0 0.8.0]", lang.Package, lang.FixedVersions)
	}
	if len(lang.Warnings) != 1 || !strings.Contains(lang.Warnings[0], "Link") && !strings.Contains(lang.Warnings[0], "no") {
		// The language result has every line but Link, which is optional.
		if len(lang.Warnings) != 0 {
			t.Errorf("language finding warnings = %q, want none", lang.Warnings)
		}
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   string // a finding warning that must appear
		report string // a report warning that must appear
		sev    sextant.Severity
	}{
		{
			name: "unknown severity word",
			in:   doc(trivyTool, `"results":[{"ruleId":"CVE-2022-41723","ruleIndex":1,"message":{"text":"Package: x\nInstalled Version: 1.0\nSeverity: SEVERE\nFixed Version: "},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"app/go.mod"}}}]}]`),
			want: `unknown severity "SEVERE"`, sev: sextant.SeverityUnknown,
		},
		{
			name: "missing lines fall back to the rule",
			in:   doc(trivyTool, `"results":[{"ruleId":"CVE-2023-0286","ruleIndex":0,"message":{"text":"Package: openssl"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"library/debian"}}}]}]`, trivyProps),
			want: `no "Installed Version:" line`, sev: sextant.SeverityHigh,
		},
		{
			name: "no distribution marker",
			in:   doc(trivyTool, trivyProps[:len(trivyProps)-1]+`}`, `"results":[{"ruleId":"CVE-2023-0286","ruleIndex":0,"message":{"text":"Package: openssl\nInstalled Version: 1.0\nSeverity: HIGH\nFixed Version: "},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"library/debian"}}}]}]`),
			sev:  sextant.SeverityHigh,
		},
		{
			name: "suppressed",
			in:   doc(trivyTool, `"results":[{"ruleId":"CVE-2022-41723","ruleIndex":1,"suppressions":[{"kind":"external","justification":"vex"}],"message":{"text":"Package: x\nInstalled Version: 1.0\nSeverity: LOW\nFixed Version: "},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"app/go.mod"}}}]}]`),
			want: "suppressed (external): vex", sev: sextant.SeverityLow,
		},
		{
			name: "missing rule", in: doc(trivyTool, `"results":[{"ruleId":"CVE-1","message":{"text":"Package: x\nInstalled Version: 1\nSeverity: LOW\nFixed Version: 2"}}]`),
			want: `rule "CVE-1" is not in tool.driver.rules`, sev: sextant.SeverityLow,
		},
		{
			name:   "progress text before the document",
			in:     "  ✓ SBOM indexed\n  ✗ Detected 1 vulnerable package\n" + doc(`"tool":{"driver":{"name":"docker scout","rules":[{"id":"CVE-1","properties":{"security-severity":"9.1"}}]}}`, `"results":[{"ruleId":"CVE-1","ruleIndex":0,"level":"error","message":{"text":"Vulnerability :CVE-1\nPackage :pkg:npm/%40scope/lib@1.0.0\nFixed version :not fixed\n"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"/app/node_modules/@scope/lib/package.json"}}}]}]`) + "\nWhat's next:\n",
			report: fmt.Sprintf("skipped %d bytes of text", len("  ✓ SBOM indexed\n  ✗ Detected 1 vulnerable package\n")), sev: sextant.SeverityCritical,
		},
		{
			name: "generic tool", in: doc(`"tool":{"driver":{"name":"checkov","rules":[{"id":"CKV_K8S_1","shortDescription":{"text":"Do not admit root"}}]}}`, `"results":[{"ruleId":"CKV_K8S_1","level":"warning","message":{"text":"Container runs as root"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"deploy.yaml"},"region":{"startLine":12}}}]}]`),
			report: "does not name the scanned artifact", sev: sextant.SeverityMedium,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, info := sourcetest.ParseAll(t, Parse, strings.NewReader(tt.in), "report.sarif")
			if len(fs) != 1 {
				t.Fatalf("Parse = %d findings, want 1", len(fs))
			}
			f := fs[0]
			if f.Severity != tt.sev {
				t.Errorf("Parse severity = %v, want %v (warnings %q)", f.Severity, tt.sev, f.Warnings)
			}
			if tt.want != "" && !sourcetest.AnyContains(f.Warnings, tt.want) {
				t.Errorf("Parse warnings = %q, want one containing %q", f.Warnings, tt.want)
			}
			if tt.report != "" && !sourcetest.AnyContains(info.Warnings, tt.report) {
				t.Errorf("Parse report warnings = %q, want one containing %q", info.Warnings, tt.report)
			}
		})
	}
}

func TestScoutPackage(t *testing.T) {
	in := doc(`"tool":{"driver":{"name":"docker scout","rules":[{"id":"CVE-1"}]}}`, `"results":[{"ruleId":"CVE-1","ruleIndex":0,"message":{"text":"Vulnerability :CVE-1\nSeverity :HIGH\nPackage :pkg:maven/org.example/lib@1.0.0\nFixed version :not fixed\nCVSS Score :7.5\nCVSS Vector :CVSS:4.0/AV:N\n"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"/app/lib.jar"}}}]}]`)
	fs, _ := sourcetest.ParseAll(t, Parse, strings.NewReader(in), "-")
	f := fs[0]
	if f.Package.Name != "org.example:lib" || f.Package.Ecosystem != "maven" || f.FixState != "not-fixed" || len(f.FixedVersions) != 0 {
		t.Errorf("Parse = %+v fix %q %v, want maven org.example:lib not-fixed", f.Package, f.FixState, f.FixedVersions)
	}
	if diff := cmp.Diff([]sextant.CVSS{{Source: "docker-scout", Version: "4.0", Vector: "CVSS:4.0/AV:N", Score: 7.5}}, f.CVSS); diff != "" {
		t.Errorf("CVSS (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"blank", "  \n ", "empty input"},
		{"not an object", `[1,2]`, "want an object"},
		{"no runs", `{"version":"2.1.0"}`, `no "runs" member`},
		{"runs not array", `{"runs": 5}`, `"runs" at byte 9: want an array, got a number`},
		{"wrong field type", doc(trivyTool, `"results":[{"ruleId": 5}]`), "field /runs/0/results/0/ruleId at byte 483 has the wrong type: got a number, want a string"},
		{"truncated", doc(trivyTool, trivyResults)[:300], "unexpected end of input at byte"},
		{"invalid", `{"runs":[}`, "invalid JSON at byte 9"},
		{"number", `42`, "want an object"},
	}
	for _, tt := range tests {
		for _, single := range []bool{false, true} {
			t.Run(tt.name, func(t *testing.T) {
				var r = bytes.NewReader([]byte(tt.in))
				var err error
				if single {
					_, err = Parse(sourcetest.OnlyReader(r), "x", func(*sextant.Finding) error { return nil })
				} else {
					_, err = Parse(r, "x", func(*sextant.Finding) error { return nil })
				}
				sourcetest.CheckInvalid(t, tt.in, err, op, tt.want)
			})
		}
	}
}

func TestEmitError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	_, err := Parse(strings.NewReader(doc(trivyTool, trivyResults, trivyProps)), "x", func(*sextant.Finding) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Parse with failing emit = %v after %d calls, want the emit error after 1", err, n)
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		in   string
		want fields
	}{
		{
			in: "Package: libc6\nInstalled Version: 1:2.36-9\nVulnerability CVE-2023-4911\nSeverity: HIGH\nFixed Version: 2.36-9+deb12u3\nLink: [CVE-2023-4911](https://x/cve)",
			want: fields{Package: "libc6", InstalledVersion: "1:2.36-9", Vulnerability: "CVE-2023-4911", Severity: "HIGH", FixedVersion: "2.36-9+deb12u3", Link: "[CVE-2023-4911](https://x/cve)",
				seen: seenPackage | seenInstalledVersion | seenVulnerability | seenSeverity | seenFixedVersion},
		},
		{
			in:   "Vulnerability    :CVE-1   \nSeverity   :UNSPECIFIED \nPackage  :pkg:npm/a@1  \nEPSS Score :0.5\n",
			want: fields{Vulnerability: "CVE-1", Severity: "UNSPECIFIED", Package: "pkg:npm/a@1", EPSSScore: "0.5", seen: seenVulnerability | seenSeverity | seenPackage},
		},
		{
			in:   "Artifact: main.tf\nType: terraform\nMessage: first\nsecond line",
			want: fields{Artifact: "main.tf", Type: "terraform", Message: "first\nsecond line"},
		},
		{in: "", want: fields{}},
	}
	for _, tt := range tests {
		got := parseFields(tt.in)
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(fields{})); diff != "" {
			t.Errorf("parseFields(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseGrypeMessage(t *testing.T) {
	tests := []struct {
		in   string
		want grypeMessage
	}{
		{"A high vulnerability in deb package: openssl, version 3.0.11-1~deb12u2 was found in image debian:12 at: /var/lib/dpkg/status",
			grypeMessage{Severity: "high", Type: "deb", Name: "openssl", Version: "3.0.11-1~deb12u2", Image: "debian:12", Path: "/var/lib/dpkg/status", ok: true}},
		{"A low vulnerability in npm package: a, b, version 1.0 was found at: /src/package-lock.json",
			grypeMessage{Severity: "low", Type: "npm", Name: "a, b", Version: "1.0", Path: "/src/package-lock.json", ok: true}},
		{"The path /lib/apk/db/installed reports zlib at version 1.2.11-r1  which is a vulnerable (apk) package installed in the container",
			grypeMessage{Type: "apk", Name: "zlib", Version: "1.2.11-r1", Path: "/lib/apk/db/installed", ok: true}},
		{"something else", grypeMessage{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseGrypeMessage(tt.in), cmp.AllowUnexported(grypeMessage{})); diff != "" {
			t.Errorf("parseGrypeMessage(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestVersionHint(t *testing.T) {
	tests := map[string]string{
		"1.1.1n-0+deb11u3": "deb", "1:1.2.11.dfsg-2": "deb", "2.35-0ubuntu3.1": "deb", "8.32-4+b1": "deb",
		"1.35.0-r29": "apk", "2.17-326.el7": "rpm", "1.0.2k-24.amzn2.0.4": "rpm", "2.2.4": "", "v1.18.8": "", "": "",
	}
	for in, want := range tests {
		if got := versionHint(in); got != want {
			t.Errorf("versionHint(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestImageNames(t *testing.T) {
	tests := []struct{ image, distro, target string }{
		{"docker.io/bitnami/redis:7.0.5-debian-11-r25", "debian", "bitnami/redis"},
		{"alpine:3.10", "alpine", "library/alpine"},
		{"ghcr.io/aquasecurity/trivy-test-images:alpine-310", "alpine", "aquasecurity/trivy-test-images"},
		{"localhost:5000/app@sha256:abc", "", "app"},
		{"testdata/fixtures/images/alpine-310.tar.gz", "alpine", "testdata/fixtures/images/alpine-310.tar.gz"},
		{"registry.example.com/rubicon/app:1", "", "rubicon/app"},
	}
	for _, tt := range tests {
		if got := imageDistro(tt.image); got != tt.distro {
			t.Errorf("imageDistro(%q) = %q, want %q", tt.image, got, tt.distro)
		}
		if got := trivyTarget(tt.image); got != tt.target {
			t.Errorf("trivyTarget(%q) = %q, want %q", tt.image, got, tt.target)
		}
	}
}

func TestPurlPackage(t *testing.T) {
	tests := []struct {
		in   string
		want sextant.Package
		ok   bool
	}{
		{"pkg:maven/org.apache/log4j-core@2.14.1", sextant.Package{Ecosystem: "maven", Type: "maven", Name: "org.apache:log4j-core", Version: "2.14.1", PURL: "pkg:maven/org.apache/log4j-core@2.14.1"}, true},
		{"pkg:npm/%40babel/runtime@7.20.1", sextant.Package{Ecosystem: "npm", Type: "npm", Name: "@babel/runtime", Version: "7.20.1", PURL: "pkg:npm/%40babel/runtime@7.20.1"}, true},
		{"pkg:rpm/redhat/openssl@1.1.1k-7.el8?epoch=1", sextant.Package{Ecosystem: "rpm", Type: "rpm", Name: "openssl", Version: "1:1.1.1k-7.el8", PURL: "pkg:rpm/redhat/openssl@1.1.1k-7.el8?epoch=1"}, true},
		{"pkg:golang/github.com/x/net@v0.1.0", sextant.Package{Ecosystem: "golang", Type: "golang", Name: "github.com/x/net", Version: "v0.1.0", PURL: "pkg:golang/github.com/x/net@v0.1.0"}, true},
		{"not a purl", sextant.Package{}, false},
	}
	for _, tt := range tests {
		var got sextant.Package
		ok := purlPackage(tt.in, &got)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("purlPackage(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPathEcosystem(t *testing.T) {
	tests := map[string]string{
		"opt/app/node_modules/undici/package.json": "npm", "lib/jackson-core-2.13.2.jar": "maven",
		"usr/lib/python3/site-packages/requests-2.0.dist-info/METADATA": "pypi", "app/Gemfile.lock": "gem",
		"app/bin/app.deps.json": "nuget", "usr/local/bin/kubectl": "",
	}
	for in, want := range tests {
		if got := pathEcosystem(in); got != want {
			t.Errorf("pathEcosystem(%q) = %q, want %q", in, got, want)
		}
	}
}

package trivyoperator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// countFindings counts findings independently of the parser: a generic
// encoding/json decode, then per resource kind the entries that are
// findings (vulnerabilities, secrets, checks not successful, controls with
// totalFail > 0).
func countFindings(t *testing.T, b []byte) int {
	t.Helper()
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	var objs []map[string]any
	var collect func(v any)
	collect = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				collect(e)
			}
		case map[string]any:
			if items, ok := x["items"].([]any); ok {
				collect(items)
			}
			if _, ok := x["kind"]; ok {
				objs = append(objs, x)
				return
			}
			for k, e := range x {
				if _, ok := e.([]any); ok && k != "items" {
					collect(e)
				}
			}
		}
	}
	collect(doc)
	n := 0
	for _, o := range objs {
		rep, _ := o["report"].(map[string]any)
		kind, _ := o["kind"].(string)
		switch strings.ToLower(kind) {
		case "vulnerabilityreport", "clustervulnerabilityreport":
			vs, _ := rep["vulnerabilities"].([]any)
			n += len(vs)
		case "exposedsecretreport":
			ss, _ := rep["secrets"].([]any)
			n += len(ss)
		case "configauditreport", "clusterconfigauditreport", "rbacassessmentreport", "clusterrbacassessmentreport",
			"infraassessmentreport", "clusterinfraassessmentreport":
			cs, _ := rep["checks"].([]any)
			for _, c := range cs {
				if ok, _ := c.(map[string]any)["success"].(bool); !ok {
					n++
				}
			}
		case "clustercompliancereport":
			st, _ := o["status"].(map[string]any)
			sr, _ := st["summaryReport"].(map[string]any)
			cc, _ := sr["controlCheck"].([]any)
			for _, c := range cc {
				if f, _ := c.(map[string]any)["totalFail"].(float64); f > 0 {
					n++
				}
			}
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	files := fixtures.Files(t, "trivy", "trivy-operator")
	total := 0
	for _, path := range files {
		rel := filepath.Base(path)
		t.Run(rel, func(t *testing.T) {
			b := sourcetest.Read(t, path)
			want := countFindings(t, b)
			got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), rel)
			if len(got) != want || info.Findings != want {
				t.Errorf("Parse(%q) emitted %d findings (info %d), want %d", rel, len(got), info.Findings, want)
			}
			for i, f := range got {
				if f.ID == "" || f.VulnerabilityID == "" || f.Artifact.Key() == "" {
					t.Errorf("Parse(%q) finding %d: ID %q, VulnerabilityID %q, Artifact.Key() %q; want all non-empty",
						rel, i, f.ID, f.VulnerabilityID, f.Artifact.Key())
				}
			}
			again, _ := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), rel)
			if !slices.EqualFunc(got, again, func(a, b *sextant.Finding) bool { return a.ID == b.ID }) {
				t.Errorf("Parse(%q) fingerprints differ between two parses", rel)
			}
			total += want
		})
	}
	t.Logf("%d fixtures, %d findings", len(files), total)
}

func TestHandChecked(t *testing.T) {
	dir := fixtures.Dir(t, "trivy", "trivy-operator")
	parse := func(name string) ([]*sextant.Finding, sextant.ReportInfo) {
		return sourcetest.ParseAll(t, Parse, bytes.NewReader(sourcetest.Read(t, filepath.Join(dir, name))), name)
	}

	fs, _ := parse("vulnerabilityreport_many.json")
	var curl *sextant.Finding
	for _, f := range fs {
		if f.VulnerabilityID == "CVE-2023-23914" && f.Package.Name == "curl" {
			curl = f
		}
	}
	if curl == nil {
		t.Fatal("CVE-2023-23914/curl not found")
	}
	if curl.Severity != sextant.SeverityCritical || !slices.Equal(curl.FixedVersions, []string{"7.87.0-r2"}) ||
		curl.Package.Version != "7.87.0-r1" || curl.Artifact.Name != "nginx:alpine" || curl.Artifact.Key() != "nginx:alpine" ||
		curl.Source.Version != "0.38.2" || curl.Source.ScanTime.IsZero() {
		t.Errorf("CVE-2023-23914/curl = %+v", curl)
	}
	if len(curl.CVSS) != 1 || curl.CVSS[0].Score != 4.2 {
		t.Errorf("CVSS = %+v, want the score 4.2", curl.CVSS)
	}

	fs, info := parse("configauditreport_many.json")
	if len(fs) != 13 || fs[0].VulnerabilityID != "KSV014" || fs[0].Severity != sextant.SeverityLow ||
		fs[0].Location != "default/ReplicaSet/nginx-deployment-965685897" || fs[0].Artifact.Type != "kubernetes" {
		t.Errorf("config audit: %d findings, first %+v", len(fs), fs[0])
	}
	_ = info

	fs, _ = parse("exposedsecretreport_many.json")
	if len(fs) != 2 || fs[0].Kind != sextant.KindSecret || fs[0].Location != "root/aws_secret.txt" || fs[0].Artifact.Name != "secret:latest" {
		t.Errorf("secrets: %d findings, first %+v", len(fs), fs[0])
	}

	fs, info = parse("clustercompliancereport.json")
	if len(fs) != 2 || fs[0].VulnerabilityID != "4.2.10" || fs[0].Severity != sextant.SeverityCritical ||
		!strings.Contains(fs[0].Description, "10 resources fail") || !strings.Contains(fs[0].Description, "Setup TLS connection") {
		t.Errorf("compliance: %d findings, first %+v", len(fs), fs)
	}
	if !slices.ContainsFunc(info.Warnings, func(w string) bool { return strings.HasPrefix(w, "1 compliance controls had no failures") }) {
		t.Errorf("Warnings = %q, want the passing control counted", info.Warnings)
	}
	if !fs[0].Source.ScanTime.IsZero() || len(fs[0].Warnings) != 1 || !strings.Contains(fs[0].Warnings[0], "2021-1-1T10:10:10Z") {
		t.Errorf("compliance with updateTimestamp 2021-1-1T10:10:10Z: ScanTime %v, Warnings %q; want zero and a warning", fs[0].Source.ScanTime, fs[0].Warnings)
	}

	fs, _ = parse("all_reports_in_dict.json")
	kinds := map[sextant.Kind]int{}
	for _, f := range fs {
		kinds[f.Kind]++
	}
	if kinds[sextant.KindVulnerability] != 41 || kinds[sextant.KindSecret] != 1 || kinds[sextant.KindMisconfiguration] != 1 {
		t.Errorf("dict of lists: kinds %v, want 41 vulnerabilities, 1 secret, 1 misconfiguration", kinds)
	}
}

const vulnReport = `{"apiVersion":"aquasecurity.github.io/v1alpha1","kind":"VulnerabilityReport",
 "metadata":{"name":"replicaset-web-1","namespace":"shop","labels":{"trivy-operator.resource.kind":"ReplicaSet","trivy-operator.resource.name":"web-1","trivy-operator.resource.namespace":"shop"}},
 "report":{"updateTimestamp":"2024-05-01T00:00:00Z","scanner":{"name":"Trivy","version":"0.50.1"},"registry":{"server":"ghcr.io"},
  "artifact":{"repository":"acme/web","tag":"1.2","digest":"sha256:feed"},"os":{"family":"debian","name":"12.5"},
  "vulnerabilities":[
   {"vulnerabilityID":"CVE-2024-1","resource":"libssl3","installedVersion":"3.0.11-1","fixedVersion":"3.0.13-1, 3.0.14-1","severity":"HIGH","class":"os-pkgs","cvss":{"nvd":{"V3Vector":"CVSS:3.1/AV:N","V3Score":7.5},"redhat":{"V3Score":5.9}},"primaryLink":"https://x/1","links":["https://x/1","https://y"]},
   {"vulnerabilityID":"GHSA-1","resource":"jackson-databind","installedVersion":"2.9.0","severity":"SEVERE","packageType":"jar","packagePURL":"pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.0"}]}}`

func TestShapes(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		count int
		check func(t *testing.T, fs []*sextant.Finding, info sextant.ReportInfo)
	}{
		{"single", vulnReport, 2, func(t *testing.T, fs []*sextant.Finding, _ sextant.ReportInfo) {
			want := sextant.Artifact{Name: "ghcr.io/acme/web:1.2", Type: "container_image", Repository: "ghcr.io/acme/web", Tags: []string{"1.2"},
				Digest: "sha256:feed", RepoDigests: []string{"ghcr.io/acme/web@sha256:feed"}, OSFamily: "debian", OSVersion: "12.5"}
			if diff := cmp.Diff(want, fs[0].Artifact); diff != "" {
				t.Errorf("Artifact (-want +got):\n%s", diff)
			}
			if fs[0].Package.Ecosystem != "deb" || !slices.Equal(fs[0].FixedVersions, []string{"3.0.13-1", "3.0.14-1"}) || len(fs[0].CVSS) != 2 ||
				!slices.Equal(fs[0].References, []string{"https://x/1", "https://y"}) {
				t.Errorf("first = Package %+v FixedVersions %q CVSS %+v References %q", fs[0].Package, fs[0].FixedVersions, fs[0].CVSS, fs[0].References)
			}
			if f := fs[1]; f.Package.Name != "com.fasterxml.jackson.core:jackson-databind" || f.Severity != sextant.SeverityUnknown ||
				!slices.ContainsFunc(f.Warnings, func(w string) bool { return strings.Contains(w, `"SEVERE"`) }) {
				t.Errorf("second = Package %+v Severity %v Warnings %q", f.Package, f.Severity, f.Warnings)
			}
		}},
		{"list", `{"apiVersion":"v1","kind":"List","items":[` + vulnReport + `,null,{"kind":"SbomReport","report":{}},{"kind":"Pod"}],"metadata":{}}`, 2,
			func(t *testing.T, _ []*sextant.Finding, info sextant.ReportInfo) {
				for _, want := range []string{"null entry", "1 SBOM reports", "kind Pod"} {
					if !slices.ContainsFunc(info.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
						t.Errorf("Warnings = %q, want one containing %q", info.Warnings, want)
					}
				}
			}},
		{"array", `[` + vulnReport + `,` + vulnReport + `]`, 4, nil},
		{"nested list in dict", `{"vulnerabilityreports":[{"kind":"VulnerabilityReportList","items":[` + vulnReport + `]}]}`, 2, nil},
		{"config audit", `{"kind":"ConfigAuditReport","metadata":{"name":"x","namespace":"ns","ownerReferences":[{"kind":"Deployment","name":"api"}]},
			"report":{"checks":[{"checkID":"KSV001","success":false,"severity":"MEDIUM","messages":["m1","m2"]},{"checkID":"KSV002","success":true}]}}`, 1,
			func(t *testing.T, fs []*sextant.Finding, info sextant.ReportInfo) {
				if fs[0].Location != "ns/Deployment/api" || !strings.Contains(fs[0].Description, "m1\nm2") {
					t.Errorf("Location %q Description %q", fs[0].Location, fs[0].Description)
				}
				if !slices.Contains(info.Warnings, "1 checks passed (success true); they are not findings") {
					t.Errorf("Warnings = %q", info.Warnings)
				}
			}},
		{"compliance detail", `{"kind":"ClusterComplianceReport","metadata":{"name":"nsa"},"status":{"detailReport":{"id":"nsa","title":"NSA","results":[
			{"id":"1.0","name":"Non-root","severity":"MEDIUM","checks":[{"checkID":"KSV012","success":false},{"checkID":"KSV012","success":true}]},
			{"id":"1.1","name":"Immutable","severity":"LOW","checks":[{"success":true}]}]}}}`, 1,
			func(t *testing.T, fs []*sextant.Finding, _ sextant.ReportInfo) {
				if fs[0].VulnerabilityID != "1.0" || fs[0].Location != "compliance/nsa" || fs[0].Artifact.Key() != "cluster" {
					t.Errorf("compliance finding = %+v", fs[0])
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, info := sourcetest.ParseAll(t, Parse, bytes.NewReader([]byte(tt.doc)), "test.json")
			if len(fs) != tt.count || info.Findings != tt.count {
				t.Fatalf("Parse = %d findings (info %d), want %d", len(fs), info.Findings, tt.count)
			}
			if tt.check != nil {
				tt.check(t, fs, info)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"empty", "", "parse trivy-operator report: empty input"},
		{"number", "42", "top-level value at byte 0 is a number, want an object or an array"},
		{"truncated", `{"kind":"VulnerabilityReport","report":{"vulnerabilities":[{"vulnerabilityID":"CVE-1"`, "unexpected end of input at byte"},
		{"invalid", `[{"kind":"x",}]`, "invalid JSON at byte"},
		{"wrong type", `{"kind":"VulnerabilityReport","report":{"vulnerabilities":[{"severity":3}]}}`, "field /report/vulnerabilities/0/severity at byte"},
		{"items not array", `{"items":{}}`, "items is an object, want an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.doc), "t", func(*sextant.Finding) error { return nil })
			sourcetest.CheckInvalid(t, tt.doc, err, errPrefix, tt.want)
		})
	}
	stop := errors.New("stop")
	if _, err := Parse(strings.NewReader(vulnReport), "t", func(*sextant.Finding) error { return stop }); err != stop {
		t.Errorf("Parse with failing emit = %v, want %v", err, stop)
	}
}

type goldenFinding struct {
	Severity string           `json:"severity_normalised"`
	Finding  *sextant.Finding `json:"finding"`
}

func TestGolden(t *testing.T) {
	for _, name := range []string{"exposedsecretreport_many.json", "clustercompliancereport.json"} {
		t.Run(name, func(t *testing.T) {
			b := sourcetest.Read(t, filepath.Join(fixtures.Dir(t, "trivy", "trivy-operator"), name))
			fs, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), name)
			out := struct {
				Info     sextant.ReportInfo `json:"info"`
				Findings []goldenFinding    `json:"findings"`
			}{Info: info}
			for _, f := range fs {
				out.Findings = append(out.Findings, goldenFinding{f.Severity.String(), f})
			}
			golden := filepath.Join("testdata", strings.TrimSuffix(name, ".json")+".golden.json")
			sourcetest.GoldenJSON(t, golden, out)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(vulnReport))
	f.Add([]byte(`{"kind":"List","items":[{"kind":"ConfigAuditReport","metadata":{"labels":{"trivy-operator.resource.kind":"Pod","trivy-operator.resource.name":"p"}},"report":{"checks":[{"checkID":"KSV001","success":false}]}}]}`))
	f.Add([]byte(`[{"kind":"ClusterComplianceReport","status":{"summaryReport":{"id":"cis","controlCheck":[{"id":"1.1","totalFail":2}]}}}]`))
	f.Add([]byte(`{"exposedsecretreports.aquasecurity.github.io":[{"kind":"ExposedSecretReport","report":{"secrets":[{"ruleID":"x","target":"a"}]}}]}`))
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

// BenchmarkParse measures a List of vulnerability reports.
func BenchmarkParse(b *testing.B) {
	const reports, perReport = 200, 100
	var buf bytes.Buffer
	buf.WriteString(`{"apiVersion":"v1","kind":"List","items":[`)
	for r := range reports {
		if r > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"apiVersion":"aquasecurity.github.io/v1alpha1","kind":"VulnerabilityReport","metadata":{"name":"rs-%d","namespace":"ns","labels":{"trivy-operator.resource.kind":"ReplicaSet","trivy-operator.resource.name":"rs-%d","trivy-operator.resource.namespace":"ns"}},"report":{"updateTimestamp":"2024-05-01T00:00:00Z","scanner":{"name":"Trivy","version":"0.50.1"},"registry":{"server":"index.docker.io"},"artifact":{"repository":"library/nginx","tag":"1.%d"},"os":{"family":"debian","name":"12.5"},"vulnerabilities":[`, r, r, r)
		for i := range perReport {
			if i > 0 {
				buf.WriteByte(',')
			}
			fmt.Fprintf(&buf, `{"vulnerabilityID":"CVE-2024-%d","resource":"pkg%d","installedVersion":"1.%d","fixedVersion":"1.%d.1","severity":"HIGH","title":"pkg: a problem","description":"A longer description of the vulnerability, its impact and the affected versions.","primaryLink":"https://avd.aquasec.com/nvd/cve-2024-%d","links":[],"score":7.5,"target":"","class":"os-pkgs","packageType":"debian","cvss":{"nvd":{"V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N","V3Score":7.5}}}`, i, i, i, i, i)
		}
		buf.WriteString(`]}}`)
	}
	buf.WriteString(`]}`)
	doc := buf.Bytes()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		info, err := Parse(bytes.NewReader(doc), "bench", func(*sextant.Finding) error { return nil })
		if err != nil || info.Findings != reports*perReport {
			b.Fatalf("Parse = %d findings, %v", info.Findings, err)
		}
	}
}

package asff

import (
	"bytes"
	"encoding/json"
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

func readTrivyASFF(t *testing.T) []byte {
	return sourcetest.Read(t, filepath.Join(fixtures.Dir(t, "trivy", "golden"), "alpine-3.10.asff.json"))
}

func TestConformance(t *testing.T) {
	data := readTrivyASFF(t)
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	want := len(doc["Findings"].([]any))
	got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(data), "alpine-3.10.asff.json")
	if len(got) != want || info.Findings != want {
		t.Fatalf("Parse = %d findings (info %d), want %d", len(got), info.Findings, want)
	}
	again, _ := sourcetest.ParseAll(t, Parse, bytes.NewReader(data), "alpine-3.10.asff.json")
	for i, f := range got {
		if f.ID == "" || f.VulnerabilityID == "" || f.Artifact.Key() == "" || f.ID != again[i].ID {
			t.Errorf("finding %d: ID %q (again %q) vulnerability %q key %q: want stable, non-empty", i, f.ID, again[i].ID, f.VulnerabilityID, f.Artifact.Key())
		}
		if len(f.Warnings) != 0 {
			t.Errorf("finding %d warnings = %q, want none", i, f.Warnings)
		}
	}
	f := got[1]
	if f.VulnerabilityID != "CVE-2019-1551" || f.Package.Name != "libcrypto1.1" || f.Package.Version != "1.1.1c-r0" || f.Package.Ecosystem != "apk" ||
		f.Severity != sextant.SeverityMedium || !cmp.Equal(f.FixedVersions, []string{"1.1.1d-r2"}) || f.Artifact.OSFamily != "alpine" || f.Artifact.OSVersion != "3.10.2" ||
		f.Artifact.Name != "testdata/fixtures/images/alpine-310.tar.gz" {
		t.Errorf("Parse finding 1 = %s %+v %v fixed %v artifact %+v", f.VulnerabilityID, f.Package, f.Severity, f.FixedVersions, f.Artifact)
	}
	if len(f.CVSS) != 2 || f.CVSS[0].Score != 5.3 || f.CVSS[0].Version != "3.1" || f.CVSS[1].Version != "2.0" {
		t.Errorf("Parse finding 1 CVSS = %+v, want NVD 3.1 5.3 and 2.0", f.CVSS)
	}
}

func TestInspector2Rejected(t *testing.T) {
	for _, path := range fixtures.Files(t, "cnapp", "aws") {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(bytes.NewReader(data), filepath.Base(path), func(*sextant.Finding) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "Inspector2") {
			t.Errorf("Parse(%q) error = %v, want one naming Inspector2", filepath.Base(path), err)
		}
	}
}

func TestGolden(t *testing.T) {
	fs, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(readTrivyASFF(t)), "alpine-3.10.asff.json")
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
	sourcetest.GoldenJSON(t, filepath.Join("testdata", "alpine-3.10.golden.json"), out)
}

// inspectorASFF is an Inspector finding as Security Hub exports it.
const inspectorASFF = `{"Findings":[{"SchemaVersion":"2018-10-08","Id":"arn:aws:inspector2:us-east-1:123456789012:finding/abc","GeneratorId":"AWSInspector",` +
	`"Types":["Software and Configuration Checks/Vulnerabilities/CVE"],"UpdatedAt":"2024-06-14T02:03:53.051Z","Severity":{"Label":"HIGH","Normalized":70},` +
	`"Title":"CVE-2023-4911 - glibc","Description":"A buffer overflow in ld.so.","ProductName":"Inspector",` +
	`"Resources":[{"Type":"AwsEcrContainerImage","Id":"arn:aws:ecr:us-east-1:123456789012:repository/app/sha256:dead","Details":{"AwsEcrContainerImage":{"RepositoryName":"app","ImageDigest":"sha256:dead","ImageTags":["1.0"]}}}],` +
	`"Vulnerabilities":[{"Id":"CVE-2023-4911","VulnerablePackages":[{"Name":"glibc","Version":"2.26","Release":"64.amzn2.0.1","Epoch":"0","PackageManager":"OS","FixedInVersion":"0:2.26-64.amzn2.0.2"}],` +
	`"Cvss":[{"Version":"3.1","BaseScore":7.8,"BaseVector":"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H","Source":"NVD"}],"Vendor":{"Name":"NVD","Url":"https://nvd.nist.gov/vuln/detail/CVE-2023-4911","VendorSeverity":"HIGH"},` +
	`"ReferenceUrls":["https://www.openwall.com/lists/oss-security/2023/10/03/2"],"FixAvailable":"YES","EpssScore":0.70815}],"RecordState":"ACTIVE"}]}`

func TestInspectorInSecurityHub(t *testing.T) {
	fs, info := sourcetest.ParseAll(t, Parse, bytes.NewReader([]byte(inspectorASFF)), "hub.json")
	f := fs[0]
	want := sextant.Package{Ecosystem: "rpm", Type: "OS", Name: "glibc", Version: "2.26-64.amzn2.0.1"}
	if diff := cmp.Diff(want, f.Package); diff != "" {
		t.Errorf("Parse package (-want +got):\n%s", diff)
	}
	if f.Artifact.Key() != "sha256:dead" || f.Artifact.Name != "app:1.0" || f.FixState != "fixed" || f.EPSS == nil || f.EPSS.Probability != 0.70815 {
		t.Errorf("Parse = artifact %+v fix %q epss %+v", f.Artifact, f.FixState, f.EPSS)
	}
	if f.Severity != sextant.SeverityHigh || len(f.CVSS) != 1 || f.CVSS[0].Source != "nvd" || info.Source.Scanner != "inspector" {
		t.Errorf("Parse = %v %+v scanner %q, want HIGH, one NVD CVSS, inspector", f.Severity, f.CVSS, info.Source.Scanner)
	}
}

func TestLegacyArray(t *testing.T) {
	in := `[{"Id":"t/CVE-1","GeneratorId":"Trivy","Severity":{"Normalized":90},"Resources":[{"Type":"Container","Id":"img:1 (debian 12.1)","Details":{"Container":{"ImageName":"img:1 (debian 12.1)"},` +
		`"Other":{"CVE ID":"CVE-1","PkgName":"zlib1g","Installed Package":"1:1.2.13.dfsg-1","Patched Package":"","NvdCvssScoreV3":9.8,"NvdCvssVectorV3":"CVSS:3.1/AV:N"}}}]}]`
	fs, _ := sourcetest.ParseAll(t, Parse, bytes.NewReader([]byte(in)), "old.json")
	f := fs[0]
	if f.Severity != sextant.SeverityCritical || f.Package.Ecosystem != "deb" || f.Artifact.Key() != "img:1" || len(f.CVSS) != 1 || f.CVSS[0].Score != 9.8 {
		t.Errorf("Parse = %v %+v key %q CVSS %+v, want CRITICAL deb img:1 9.8", f.Severity, f.Package, f.Artifact.Key(), f.CVSS)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "empty input"},
		{"number", "7", "want an object or array"},
		{"no findings", `{"Other":1}`, `no "Findings" member`},
		{"findings not array", `{"Findings":"x"}`, `"Findings" at byte 12: want an array, got a string`},
		{"wrong type", `{"Findings":[{"Title":5}]}`, "field /Findings/0/Title at byte 22 has the wrong type: got a number, want a string"},
		{"truncated", inspectorASFF[:150], "unexpected end of input at byte"},
		{"invalid", `{"Findings":[}`, "invalid JSON at byte 13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in), "x", func(*sextant.Finding) error { return nil })
			sourcetest.CheckInvalid(t, tt.in, err, op, tt.want)
		})
	}
	stop := errors.New("stop")
	if _, err := Parse(strings.NewReader(inspectorASFF), "x", func(*sextant.Finding) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Parse with failing emit = %v, want the emit error", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(inspectorASFF))
	f.Add([]byte(`[{"Resources":[{"Details":{"Container":{"ImageName":"a (b"},"Other":{"PkgName":1}}}],"Vulnerabilities":[{},{}]}]`))
	f.Add([]byte(`{"findings":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		info, err := Parse(bytes.NewReader(data), "fuzz.json", func(f *sextant.Finding) error {
			n++
			if f.ID == "" || f.VulnerabilityID == "" {
				return fmt.Errorf("incomplete finding %+v", f)
			}
			return nil
		})
		if err != nil {
			sourcetest.CheckInvalid(t, string(data), err, op, "")
			return
		}
		if info.Findings != n {
			t.Fatalf("info.Findings = %d, emitted %d", info.Findings, n)
		}
	})
}

// BenchmarkParse parses a synthetic Trivy ASFF document of 20,000 findings.
func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(`{"Findings":[`)
	for i := 0; i < 20000; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"SchemaVersion":"2018-10-08","Id":"app:1 (alpine 3.19.1)/CVE-2024-%d","ProductArn":"arn:aws:securityhub:eu-west-1::product/aquasecurity/aquasecurity","GeneratorId":"Trivy/CVE-2024-%d","AwsAccountId":"123456789012",`+
			`"Types":["Software and Configuration Checks/Vulnerabilities/CVE"],"CreatedAt":"2024-01-02T03:04:05Z","UpdatedAt":"2024-01-02T03:04:05Z","Severity":{"Label":"HIGH"},"Title":"Trivy found a vulnerability to CVE-2024-%d","Description":"A description %d.",`+
			`"Remediation":{"Recommendation":{"Text":"More information","Url":"https://avd.aquasec.com/nvd/cve-2024-%d"}},"ProductFields":{"Product Name":"Trivy"},"Resources":[{"Type":"Container","Id":"app:1 (alpine 3.19.1)","Partition":"aws","Region":"eu-west-1",`+
			`"Details":{"Container":{"ImageName":"app:1 (alpine 3.19.1)"},"Other":{"CVE ID":"CVE-2024-%d","CVE Title":"title %d","PkgName":"pkg%d","Installed Package":"1.%d-r0","Patched Package":"1.%d-r1","NvdCvssScoreV3":"7.5","NvdCvssVectorV3":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H","NvdCvssScoreV2":"5","NvdCvssVectorV2":"AV:N/AC:L/Au:N/C:N/I:N/A:P"}}}],"RecordState":"ACTIVE"}`,
			i, i, i, i, i, i, i, i, i, i)
	}
	buf.WriteString(`]}`)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), "bench.json", func(*sextant.Finding) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

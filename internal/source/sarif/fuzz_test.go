package sarif

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(doc(trivyTool, trivyResults, trivyProps)))
	f.Add([]byte(doc(trivyProps, trivyResults)))
	f.Add([]byte("progress\n" + doc(`"tool":{"driver":{"name":"docker scout","rules":[{"id":"a","properties":{"purls":["pkg:npm/a@1"]}}]}}`, `"results":[{"ruleId":"a","message":{"text":"Package :pkg:npm/a@1\nCVSS Score :x"}}]`)))
	f.Add([]byte(doc(`"tool":{"driver":{"name":"grype","rules":[{"id":"CVE-1-a","help":{"text":"Vulnerability CVE-1"}}]}}`, `"results":[{"ruleId":"CVE-1-a","message":{"text":"A high vulnerability in deb package: a, version 1 was found in image x@sha256:1 at: /p"},"locations":[{"logicalLocations":[{"name":"/p","fullyQualifiedName":"x@sha256:1@sha256:2:/p"}]}]}]`)))
	f.Add([]byte(`{"runs":[{"results":[{"ruleIndex":-1,"rule":{"index":99}}]}]}`))
	f.Add([]byte(`{"runs":[{"tool":{"driver":{"name":"Trivy"}},"properties":{"epssScores":[{"cve":"c","epss":"x"}]},"results":[{}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, single := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(data)
			if single {
				r = sourcetest.OnlyReader(r)
			}
			n := 0
			info, err := Parse(r, "fuzz.sarif", func(f *sextant.Finding) error {
				n++
				if f.ID == "" || f.VulnerabilityID == "" {
					return fmt.Errorf("finding without ID or vulnerability: %+v", f)
				}
				return nil
			})
			if err != nil {
				sourcetest.CheckInvalid(t, string(data), err, op, "")
				continue
			}
			if info.Findings != n {
				t.Fatalf("Parse info.Findings = %d, emitted %d", info.Findings, n)
			}
		}
	})
}

// BenchmarkParse parses a synthetic Trivy image report of 20,000 results
// laid out as Trivy writes it (properties after the results).
func BenchmarkParse(b *testing.B) {
	data := synthTrivy(20000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := Parse(bytes.NewReader(data), "bench.sarif", func(*sextant.Finding) error { n++; return nil }); err != nil || n != 20000 {
			b.Fatalf("Parse = %d findings, %v", n, err)
		}
	}
}

// BenchmarkParseStream parses the same report through the single-pass
// path, which holds the run's results until its properties are read.
func BenchmarkParseStream(b *testing.B) {
	data := synthTrivy(20000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(sourcetest.OnlyReader(bytes.NewReader(data)), "bench.sarif", func(*sextant.Finding) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// synthTrivy writes a Trivy-shaped SARIF report with n results over n/10
// rules, alternating OS and language packages.
func synthTrivy(n int) []byte {
	var buf bytes.Buffer
	rules := n / 10
	buf.WriteString(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy","version":"0.64.0","rules":[`)
	for i := 0; i < rules; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"id":"CVE-2024-%d","name":"OsPackageVulnerability","shortDescription":{"text":"title %d"},"fullDescription":{"text":"A long description of the vulnerability number %d, as scanners write them."},"defaultConfiguration":{"level":"error"},"helpUri":"https://avd.aquasec.com/nvd/cve-2024-%d","help":{"text":"Vulnerability CVE-2024-%d\nSeverity: HIGH"},"properties":{"precision":"very-high","security-severity":"7.5","tags":["vulnerability","security","HIGH"]}}`, i, i, i, i, i)
	}
	buf.WriteString(`]}},"results":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		rule := i % rules
		if i%2 == 0 {
			fmt.Fprintf(&buf, `{"ruleId":"CVE-2024-%d","ruleIndex":%d,"level":"error","message":{"text":"Package: libpkg%d\nInstalled Version: 1.2.%d-1+deb12u1\nVulnerability CVE-2024-%d\nSeverity: HIGH\nFixed Version: 1.2.%d-1+deb12u2\nLink: [CVE-2024-%d](https://avd.aquasec.com/nvd/cve-2024-%d)"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"library/app","uriBaseId":"ROOTPATH"},"region":{"startLine":1,"startColumn":1,"endLine":1,"endColumn":1}},"message":{"text":"library/app: libpkg%d@1.2.%d-1+deb12u1"}}]}`, rule, rule, i, i, rule, i, rule, rule, i, i)
		} else {
			fmt.Fprintf(&buf, `{"ruleId":"CVE-2024-%d","ruleIndex":%d,"level":"error","message":{"text":"Package: github.com/org/mod%d\nInstalled Version: v0.%d.0\nVulnerability CVE-2024-%d\nSeverity: HIGH\nFixed Version: 0.%d.1, 1.0.0\nLink: [CVE-2024-%d](https://avd.aquasec.com/nvd/cve-2024-%d)"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"usr/local/bin/app","uriBaseId":"ROOTPATH"},"region":{"startLine":1,"startColumn":1,"endLine":1,"endColumn":1}},"message":{"text":"usr/local/bin/app: mod@v0.%d.0"}}]}`, rule, rule, i, i, rule, i, rule, rule, i)
		}
	}
	buf.WriteString(`],"columnKind":"utf16CodeUnits","originalUriBaseIds":{"ROOTPATH":{"uri":"file:///"}},"properties":{"imageName":"app:1.0","imageID":"sha256:0123456789abcdef","repoTags":["app:1.0"],"repoDigests":["app@sha256:fedcba9876543210"]}}]}`)
	return buf.Bytes()
}

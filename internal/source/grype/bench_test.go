package grype

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// synthReport builds a current-schema report with n matches, matches first
// as grype writes them.
func synthReport(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"matches":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"vulnerability":{"id":"CVE-2024-%d","dataSource":"https://security-tracker.debian.org/tracker/CVE-2024-%d","namespace":"debian:distro:debian:12","severity":"High","urls":["https://example.com/a/%d","https://example.com/b/%d"],"description":"A flaw was found in package %d that allows an attacker to do something bad.","cvss":[{"version":"3.1","vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","metrics":{"baseScore":9.8,"exploitabilityScore":3.9,"impactScore":5.9},"vendorMetadata":{}}],"epss":[{"cve":"CVE-2024-%d","epss":0.01,"percentile":0.5,"date":"2026-03-02"}],"fix":{"versions":["1.2.%d-1"],"state":"fixed"},"advisories":[],"risk":1.5},"relatedVulnerabilities":[{"id":"CVE-2024-%d","dataSource":"https://nvd.nist.gov/vuln/detail/CVE-2024-%d","namespace":"nvd:cpe","severity":"Critical","urls":["https://example.com/c/%d"],"description":"NVD text for the same flaw in package %d.","cvss":[{"source":"nvd@nist.gov","type":"Primary","version":"3.1","vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","metrics":{"baseScore":9.8,"exploitabilityScore":3.9,"impactScore":5.9},"vendorMetadata":{}}],"epss":[{"cve":"CVE-2024-%d","epss":0.01,"percentile":0.5,"date":"2026-03-02"}]}],"matchDetails":[{"type":"exact-indirect-match","matcher":"dpkg-matcher","searchedBy":{"distro":{"type":"debian","version":"12"},"namespace":"debian:distro:debian:12","package":{"name":"src%d","version":"1.2.0-1"}},"found":{"vulnerabilityID":"CVE-2024-%d","versionConstraint":"< 1.2.%d-1 (deb)"}}],"artifact":{"id":"%016x","name":"lib%d","version":"1.2.0-1","type":"deb","locations":[{"path":"/var/lib/dpkg/status","layerID":"sha256:955a0d3ff798720038c95c7ef1bf41fec749655e3b147f797868f96fc13a243b","accessPath":"/var/lib/dpkg/status","annotations":{"evidence":"primary"}}],"language":"","licenses":["GPL-2"],"cpes":["cpe:2.3:a:lib%d:lib%d:1.2.0-1:*:*:*:*:*:*:*"],"purl":"pkg:deb/debian/lib%d@1.2.0-1?arch=amd64&distro=debian-12","upstreams":[{"name":"src%d"}]}}`,
			i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i)
	}
	b.WriteString(`],"source":{"type":"image","target":{"userInput":"nginx:latest","imageID":"sha256:0cf1d6af5ca72e2ca196afdbdbe26d96f141bd3dc14d70210707cf89032ea217","manifestDigest":"sha256:e4c638aaea310cbcaef90e80367d615ab356dcb05eeaf6c76c5e2e17867c65ca","tags":["nginx:latest"],"layers":[{"digest":"sha256:188c9b34dfbe022075d01fc4f5a305412909ef97de440783c15043e68e1b1913"}],"repoDigests":[]}},"distro":{"name":"debian","version":"12","idLike":[]},"descriptor":{"name":"grype","version":"0.110.0","timestamp":"2026-03-31T06:25:54.633199019+01:00"}}`)
	return b.Bytes()
}

func BenchmarkParse(b *testing.B) {
	data := synthReport(20000)
	for _, mode := range []string{"seekable", "streaming"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var r interface{ Read([]byte) (int, error) } = bytes.NewReader(data)
				if mode == "streaming" {
					r = sourcetest.OnlyReader(r)
				}
				n := 0
				_, err := Parse(r, "bench", func(*sextant.Finding) error { n++; return nil })
				if err != nil || n != 20000 {
					b.Fatalf("Parse = %d findings, %v", n, err)
				}
			}
		})
	}
}

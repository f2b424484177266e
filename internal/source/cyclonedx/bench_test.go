package cyclonedx

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sextant-dev/sextant"
)

// synthBOM builds a Trivy-shaped image BOM with n components and one
// vulnerability per component, in Trivy's order (components first).
func synthBOM(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"$schema":"http://cyclonedx.org/schema/bom-1.6.schema.json","bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:1","version":1,"metadata":{"timestamp":"2026-04-14T09:22:55+00:00","tools":{"components":[{"type":"application","group":"aquasecurity","name":"trivy","version":"0.69.2"}]},"component":{"bom-ref":"img","type":"container","name":"alpine:3.17","properties":[{"name":"aquasecurity:trivy:ImageID","value":"sha256:775f483016a7d128be2a6c6978785619990f9ac24abb5ff1868222020118b279"},{"name":"aquasecurity:trivy:RepoTag","value":"alpine:3.17"}]}},"components":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"bom-ref":"pkg:apk/alpine/lib%d@1.0-r%d?arch=x86_64&distro=3.17","type":"library","supplier":{"name":"Alpine"},"name":"lib%d","version":"1.0-r%d","hashes":[{"alg":"SHA-1","content":"3e03f2eeab56f8fcdf4cbdd4e0bff518d2d68dfa"}],"licenses":[{"license":{"id":"MIT"}}],"purl":"pkg:apk/alpine/lib%d@1.0-r%d?arch=x86_64&distro=3.17","properties":[{"name":"aquasecurity:trivy:LayerDiffID","value":"sha256:8d78b2117a5b8bff0a001610c8e3eecb6dcfd5e82a25d23048df7a09e77d6307"},{"name":"aquasecurity:trivy:PkgID","value":"lib%d@1.0-r%d"},{"name":"aquasecurity:trivy:PkgType","value":"alpine"},{"name":"aquasecurity:trivy:SrcName","value":"src%d"}]}`, i, i, i, i, i, i, i, i, i)
	}
	b.WriteString(`],"vulnerabilities":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"CVE-2024-%d","source":{"name":"alpine","url":"https://secdb.alpinelinux.org/"},"ratings":[{"source":{"name":"nvd"},"score":9.8,"severity":"critical","method":"CVSSv31","vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},{"source":{"name":"alpine"},"severity":"high"}],"cwes":[787],"description":"A flaw in lib%d allows bad things.","recommendation":"Upgrade lib%d to version 1.0-r%d","advisories":[{"url":"https://avd.aquasec.com/nvd/cve-2024-%d"},{"url":"https://nvd.nist.gov/vuln/detail/CVE-2024-%d"}],"published":"2024-01-01T00:00:00+00:00","affects":[{"ref":"pkg:apk/alpine/lib%d@1.0-r%d?arch=x86_64&distro=3.17","versions":[{"version":"1.0-r%d","status":"affected"}]}]}`, i, i, i, i+1, i, i, i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkParse(b *testing.B) {
	const n = 10000
	data := synthBOM(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		got := 0
		_, err := Parse(bytes.NewReader(data), "bench", func(*sextant.Finding) error { got++; return nil })
		if err != nil || got != n {
			b.Fatalf("Parse = %d findings, %v", got, err)
		}
	}
}

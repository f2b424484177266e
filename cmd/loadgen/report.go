package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// reportGen writes small Trivy image reports (`trivy image -f json`), each
// naming a different image, so that every request carries a distinct
// payload. The vulnerabilities are the same in every report: they are
// written once and copied, so that making a payload costs the load
// generator a copy, not a formatting pass, and leaves the CPU to the server.
type reportGen struct {
	run      string // tells this run's images from an earlier run's
	created  string
	findings int
	base     string // DiffID of the base layer the packages come from
	vulns    []byte // the Vulnerabilities array, without its brackets
}

var (
	debPackages = []string{"libc6", "libssl3", "openssl", "libcurl4", "curl", "zlib1g", "libxml2", "libwebp7",
		"libtiff6", "libsqlite3-0", "libexpat1", "libgnutls30", "libkrb5-3", "perl-base", "tar", "libpcre2-8-0",
		"libsystemd0", "libudev1", "libgcrypt20", "bash", "libtasn1-6", "libncursesw6", "login", "passwd"}
	severities  = []string{"LOW", "MEDIUM", "HIGH", "MEDIUM", "CRITICAL", "HIGH", "LOW", "MEDIUM"}
	vendorLevel = map[string]int{"LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
	cwes        = []string{"CWE-787", "CWE-125", "CWE-416", "CWE-190", "CWE-476", "CWE-20"}
)

const description = "A flaw was found in the parsing code of this library. A remote attacker could send a specially crafted input that triggers an out-of-bounds read, leading to a crash or, in some configurations, disclosure of memory contents. Upstream fixed the issue by validating lengths before copying."

// newReportGen returns a generator of reports with findings
// vulnerabilities each, on distinct packages. run makes the image names of
// this run unique.
func newReportGen(run string, findings int, now time.Time) *reportGen {
	g := &reportGen{
		run:      run,
		created:  now.UTC().Format(time.RFC3339Nano),
		findings: findings,
		base:     digest("base-layer-debian-12.5"),
	}
	var b strings.Builder
	for i := range findings {
		if i > 0 {
			b.WriteByte(',')
		}
		g.writeVuln(&b, i)
	}
	g.vulns = []byte(b.String())
	return g
}

// packageName gives the i-th finding its own package: the common Debian
// packages first, then numbered variants of them.
func packageName(i int) string {
	p := debPackages[i%len(debPackages)]
	if n := i / len(debPackages); n > 0 {
		p += "-" + strconv.Itoa(n)
	}
	return p
}

func (g *reportGen) writeVuln(b *strings.Builder, i int) {
	pkg := packageName(i)
	id := fmt.Sprintf("CVE-%d-%d", 2020+i%5, 10000+i)
	sev := severities[i%len(severities)]
	installed := fmt.Sprintf("2.36-9+deb12u%d", i%4)
	fixed := fmt.Sprintf("2.36-9+deb12u%d", 4+i%3)
	score := 3.1 + float64(i%68)/10
	year := 2020 + i%5
	fmt.Fprintf(b, `{"VulnerabilityID":%q,"PkgID":"%s@%s","PkgName":%q,`, id, pkg, installed, pkg)
	fmt.Fprintf(b, `"PkgIdentifier":{"PURL":"pkg:deb/debian/%s@%s?arch=amd64\u0026distro=debian-12.5","UID":"%016x"},`,
		pkg, strings.ReplaceAll(installed, "+", "%2B"), uint64(i)*0x9e3779b97f4a7c15)
	fmt.Fprintf(b, `"InstalledVersion":%q,"FixedVersion":%q,"Status":"fixed","Layer":{"DiffID":%q},`, installed, fixed, g.base)
	fmt.Fprintf(b, `"SeveritySource":"debian","PrimaryURL":"https://avd.aquasec.com/nvd/%s",`, strings.ToLower(id))
	b.WriteString(`"DataSource":{"ID":"debian","Name":"Debian Security Tracker","URL":"https://salsa.debian.org/security-tracker-team/security-tracker"},`)
	fmt.Fprintf(b, `"Title":"%s: out-of-bounds read when parsing crafted input","Description":%q,"Severity":%q,"CweIDs":[%q],`,
		pkg, description, sev, cwes[i%len(cwes)])
	fmt.Fprintf(b, `"VendorSeverity":{"debian":%d,"nvd":%d},`, vendorLevel[sev], vendorLevel[sev])
	fmt.Fprintf(b, `"CVSS":{"nvd":{"V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H","V3Score":%.1f}},`, score)
	fmt.Fprintf(b, `"References":["https://nvd.nist.gov/vuln/detail/%s","https://security-tracker.debian.org/tracker/%s"],`, id, id)
	fmt.Fprintf(b, `"PublishedDate":"%d-03-01T00:00:00Z","LastModifiedDate":"%d-04-01T00:00:00Z"}`, year, year)
}

// report returns the seq-th report of the run: its own image name, ID and
// digest, and the shared vulnerabilities.
func (g *reportGen) report(seq uint64) []byte {
	repo := fmt.Sprintf("registry.example.com/loadgen/%s/svc-%d", g.run, seq)
	name := repo + ":1.0"
	imageID := digest(name)
	var b bytes.Buffer
	b.Grow(len(g.vulns) + 1024)
	fmt.Fprintf(&b, `{"SchemaVersion":2,"CreatedAt":%q,"ArtifactName":%q,"ArtifactType":"container_image",`, g.created, name)
	fmt.Fprintf(&b, `"Metadata":{"Size":78643200,"OS":{"Family":"debian","Name":"12.5"},"ImageID":%q,"DiffIDs":[%q],`, imageID, g.base)
	fmt.Fprintf(&b, `"RepoTags":[%q],"RepoDigests":["%s@%s"],`, name, repo, digest("manifest "+name))
	fmt.Fprintf(&b, `"ImageConfig":{"architecture":"amd64","created":%q,"os":"linux","rootfs":{"type":"layers","diff_ids":[%q]},"config":{"Cmd":["bash"]}}},`, g.created, g.base)
	fmt.Fprintf(&b, `"Results":[{"Target":"%s (debian 12.5)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[`, name)
	b.Write(g.vulns)
	b.WriteString("]}]}\n")
	return b.Bytes()
}

// digest is a stable sha256:… identifier made from s.
func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

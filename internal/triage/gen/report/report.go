// Package report writes a large synthetic Trivy report for benchmarks: a
// `trivy k8s` cluster report whose resources each run their own image with
// realistic Debian and npm findings (descriptions, CVSS, references), so
// that anyone can repeat the measurements in BENCHMARKS.md:
//
//	go run ./internal/triage/gen -findings 1000000 -o /tmp/big.json
//
// The output is deterministic for given flags.
package report

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"strconv"
)

var (
	debPkgs = []string{"libc6", "libssl3", "openssl", "libcurl4", "curl", "zlib1g", "libxml2", "libwebp7", "libtiff6", "libsqlite3-0",
		"libexpat1", "libgnutls30", "libkrb5-3", "perl-base", "tar", "libpcre2-8-0", "libsystemd0", "libudev1", "libgcrypt20", "bash"}
	npmPkgs = []string{"lodash", "jsonwebtoken", "minimist", "axios", "express", "semver", "tough-cookie", "qs", "ws", "follow-redirects"}
	sevs    = []string{"LOW", "MEDIUM", "MEDIUM", "HIGH", "HIGH", "CRITICAL", "LOW", "MEDIUM"}
	desc    = "A flaw was found in the parsing code of this library. A remote attacker could send a specially crafted input that triggers an out-of-bounds read, leading to a crash or, in some configurations, disclosure of memory contents. Upstream fixed the issue by validating lengths before copying."
)

// Write writes a report of n findings spread over images of perImage
// findings each.
func Write(w *bufio.Writer, n, perImage int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	if perImage <= 0 {
		perImage = 500
	}
	images := (n + perImage - 1) / perImage
	w.WriteString(`{"ClusterName":"bench","Resources":[`)
	written := 0
	for img := 0; img < images; img++ {
		if img > 0 {
			w.WriteByte(',')
		}
		imageID := fmt.Sprintf("sha256:%064x", uint64(img)+1)
		base := fmt.Sprintf("sha256:%064x", uint64(img)*7+1000003)
		app := fmt.Sprintf("sha256:%064x", uint64(img)*7+2000003)
		name := fmt.Sprintf("registry.example.com/team%d/svc%d:1.%d", img%40, img, img%10)
		fmt.Fprintf(w, `{"Namespace":"ns%d","Kind":"Deployment","Name":"svc%d","Metadata":[{"OS":{"Family":"debian","Name":"12.%d"},"ImageID":%q,"DiffIDs":[%q,%q],"RepoTags":[%q],"ImageConfig":{"history":[{"created_by":"/bin/sh -c #(nop) ADD file:x in / "},{"created_by":"/bin/sh -c #(nop)  CMD [\"bash\"]","empty_layer":true},{"created_by":"COPY app /app"}],"rootfs":{"type":"layers","diff_ids":[%q,%q]}}}],"Results":[`,
			img%50, img, img%8, imageID, base, app, name, base, app)
		count := perImage
		if n-written < count {
			count = n - written
		}
		nOS := count * 4 / 5
		fmt.Fprintf(w, `{"Target":"%s (debian 12)","Class":"os-pkgs","Type":"debian","Vulnerabilities":[`, name)
		for i := 0; i < nOS; i++ {
			if i > 0 {
				w.WriteByte(',')
			}
			pkg := debPkgs[rng.IntN(len(debPkgs))]
			writeVuln(w, rng, pkg, "2.36-9+deb12u"+strconv.Itoa(rng.IntN(3)), "2.36-9+deb12u"+strconv.Itoa(3+rng.IntN(4)), base, "")
		}
		w.WriteString(`]},{"Target":"Node.js","Class":"lang-pkgs","Type":"node-pkg","Vulnerabilities":[`)
		for i := nOS; i < count; i++ {
			if i > nOS {
				w.WriteByte(',')
			}
			pkg := npmPkgs[rng.IntN(len(npmPkgs))]
			writeVuln(w, rng, pkg, "4.17."+strconv.Itoa(rng.IntN(15)), "4.17."+strconv.Itoa(15+rng.IntN(7)), app, "app/node_modules/"+pkg+"/package.json")
		}
		w.WriteString(`]}]}`)
		written += count
	}
	_, err := w.WriteString("]}\n")
	return err
}

// cvePool is how many distinct CVEs the report draws from. A real cluster
// report repeats the same CVEs across images; each CVE's metadata
// (severity, CVSS, title) is the same wherever it appears, as in real
// reports.
const cvePool = 30000

func writeVuln(w *bufio.Writer, rng *rand.Rand, pkg, installed, fixed, layer, path string) {
	c := uint64(rng.IntN(cvePool))
	meta := rand.New(rand.NewPCG(c, 0x5eed))
	year := 2018 + meta.IntN(7)
	id := fmt.Sprintf("CVE-%d-%d", year, 1000+int(c))
	sev := sevs[meta.IntN(len(sevs))]
	score := float64(20+meta.IntN(79)) / 10
	fmt.Fprintf(w, `{"VulnerabilityID":%q,"PkgName":%q,`, id, pkg)
	if path != "" {
		fmt.Fprintf(w, `"PkgPath":%q,`, path)
	}
	fix := ""
	if rng.IntN(10) < 8 {
		fix = fmt.Sprintf(`"FixedVersion":%q,`, fixed)
	}
	fmt.Fprintf(w, `"InstalledVersion":%q,%s"Status":"fixed","Layer":{"DiffID":%q},"SeveritySource":"nvd","PrimaryURL":"https://avd.aquasec.com/nvd/%s","Title":"%s: parsing flaw leads to out-of-bounds read","Description":%q,"Severity":%q,"CweIDs":["CWE-125"],"CVSS":{"nvd":{"V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:H","V3Score":%.1f}},"References":["https://nvd.nist.gov/vuln/detail/%s","https://security-tracker.debian.org/tracker/%s"],"PublishedDate":"%d-03-01T00:00:00Z","LastModifiedDate":"%d-04-01T00:00:00Z"}`,
		installed, fix, layer, id, "lib"+strconv.Itoa(int(c%97)), desc, sev, score, id, id, year, year)
}

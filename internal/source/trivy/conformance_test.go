package trivy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// outOfScope lists the files under fixtures/trivy that are not Trivy JSON
// reports: other formats Trivy can write (SARIF, ASFF, GitLab, CycloneDX),
// Trivy Operator CRDs, and a test summary that is not a report.
func outOfScope(rel string) bool {
	switch {
	case strings.HasPrefix(rel, "trivy-operator/"),
		strings.HasSuffix(rel, ".sarif"),
		strings.HasSuffix(rel, ".asff.json"),
		strings.HasSuffix(rel, ".gitlab-container-scanning.json"),
		rel == "golden/npm-cyclonedx.json",
		rel == "k8s/trivy-k8s-summary-ids.golden.json":
		return true
	}
	return false
}

// reportFiles returns the Trivy JSON fixtures, by path relative to the
// trivy fixture directory.
func reportFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := fixtures.Dir(t, "trivy")
	out := map[string]string{}
	for _, p := range fixtures.Files(t, "trivy") {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		if outOfScope(rel) || !(strings.HasSuffix(rel, ".json") || strings.HasSuffix(rel, ".json.gz")) {
			continue
		}
		out[rel] = p
	}
	if len(out) == 0 {
		t.Fatal("no Trivy JSON fixtures found")
	}
	return out
}

// countFindings counts the findings of a Trivy report independently of the
// parser: a generic encoding/json decode, then one finding per
// vulnerability, per misconfiguration not PASS or EXCEPTION, per secret.
func countFindings(t *testing.T, b []byte) int {
	t.Helper()
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	countResult := func(r any) int {
		m, _ := r.(map[string]any)
		n := 0
		vs, _ := m["Vulnerabilities"].([]any)
		n += len(vs)
		ss, _ := m["Secrets"].([]any)
		n += len(ss)
		ms, _ := m["Misconfigurations"].([]any)
		for _, mc := range ms {
			st, _ := mc.(map[string]any)["Status"].(string)
			if st != "PASS" && st != "EXCEPTION" {
				n++
			}
		}
		return n
	}
	countResults := func(v any) int {
		rs, _ := v.([]any)
		n := 0
		for _, r := range rs {
			n += countResult(r)
		}
		return n
	}
	switch d := doc.(type) {
	case []any:
		return countResults(d)
	case map[string]any:
		n := countResults(d["Results"])
		for _, key := range []string{"Resources", "Findings", "Vulnerabilities", "Misconfigurations"} {
			res, _ := d[key].([]any)
			for _, r := range res {
				n += countResults(r.(map[string]any)["Results"])
			}
		}
		return n
	}
	t.Fatalf("unexpected top-level %T", doc)
	return 0
}

func TestConformance(t *testing.T) {
	files := reportFiles(t)
	total := 0
	for rel, path := range files {
		t.Run(rel, func(t *testing.T) {
			b := sourcetest.Read(t, path)
			want := countFindings(t, b)
			got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), rel)
			if len(got) != want || info.Findings != want {
				t.Errorf("Parse(%q) emitted %d findings, ReportInfo.Findings = %d; want %d", rel, len(got), info.Findings, want)
			}
			if info.Format != Format {
				t.Errorf("Parse(%q).Format = %q, want %q", rel, info.Format, Format)
			}
			for i, f := range got {
				if f.ID == "" || f.VulnerabilityID == "" || f.Artifact.Key() == "" {
					t.Errorf("Parse(%q) finding %d: ID %q, VulnerabilityID %q, Artifact.Key() %q; want all non-empty",
						rel, i, f.ID, f.VulnerabilityID, f.Artifact.Key())
				}
				if f.Source.Scanner != "trivy" || f.Source.File != rel || f.Source.Format != Format {
					t.Errorf("Parse(%q) finding %d: Source = %+v", rel, i, f.Source)
				}
				if f.ID != sextant.Fingerprint(f) {
					t.Errorf("Parse(%q) finding %d: ID %q is not its fingerprint", rel, i, f.ID)
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

// find returns the findings matching pred.
func find(fs []*sextant.Finding, pred func(*sextant.Finding) bool) []*sextant.Finding {
	var out []*sextant.Finding
	for _, f := range fs {
		if pred(f) {
			out = append(out, f)
		}
	}
	return out
}

func byVulnPkg(id, pkg string) func(*sextant.Finding) bool {
	return func(f *sextant.Finding) bool { return f.VulnerabilityID == id && f.Package.Name == pkg }
}

// TestHandChecked compares a few findings with what the fixture files say,
// read by eye.
func TestHandChecked(t *testing.T) {
	files := reportFiles(t)
	parse := func(rel string) ([]*sextant.Finding, sextant.ReportInfo) {
		p, ok := files[rel]
		if !ok {
			t.Fatalf("fixture %s missing", rel)
		}
		return sourcetest.ParseAll(t, Parse, bytes.NewReader(sourcetest.Read(t, p)), rel)
	}

	t.Run("alpine-3.10", func(t *testing.T) {
		fs, info := parse("golden/alpine-3.10.json")
		got := find(fs, byVulnPkg("CVE-2019-1549", "libcrypto1.1"))
		if len(got) != 1 {
			t.Fatalf("CVE-2019-1549/libcrypto1.1: %d findings, want 1", len(got))
		}
		f := got[0]
		want := &sextant.Finding{
			ID:              f.ID,
			Kind:            sextant.KindVulnerability,
			VulnerabilityID: "CVE-2019-1549",
			Title:           "openssl: information disclosure in fork()",
			Description:     f.Description,
			References:      f.References,
			Package: sextant.Package{
				Ecosystem: "apk", Type: "alpine", Name: "libcrypto1.1", Version: "1.1.1c-r0",
				PURL:        "pkg:apk/alpine/libcrypto1.1@1.1.1c-r0?arch=x86_64&distro=3.10.2",
				LayerDigest: "sha256:9d48c3bd43c520dc2784e868a780e976b207cbf493eaff8c6596eb871cbd9609",
				LayerDiffID: "sha256:03901b4a2ea88eeaad62dbe59b072b28b6efa00491962b8741081c5df50c65e0",
			},
			FixedVersions: []string{"1.1.1d-r0"},
			FixState:      "fixed",
			Severity:      sextant.SeverityMedium,
			Severities: []sextant.SourcedSeverity{
				{Source: "amazon", Severity: sextant.SeverityMedium, Text: "MEDIUM"}, {Source: "nvd", Severity: sextant.SeverityMedium, Text: "MEDIUM"},
				{Source: "oracle-oval", Severity: sextant.SeverityMedium, Text: "MEDIUM"}, {Source: "photon", Severity: sextant.SeverityMedium, Text: "MEDIUM"},
				{Source: "redhat", Severity: sextant.SeverityLow, Text: "LOW"}, {Source: "ubuntu", Severity: sextant.SeverityLow, Text: "LOW"},
			},
			CVSS: []sextant.CVSS{
				{Source: "nvd", Version: "2.0", Vector: "AV:N/AC:L/Au:N/C:P/I:N/A:N", Score: 5},
				{Source: "nvd", Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", Score: 5.3},
				{Source: "redhat", Version: "3.0", Vector: "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N", Score: 4.8},
			},
			Artifact: sextant.Artifact{
				Name: "testdata/fixtures/images/alpine-310.tar.gz", Type: "container_image",
				Repository: "ghcr.io/aquasecurity/trivy-test-images", Tags: []string{"alpine-310"},
				Digest:   "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4",
				OSFamily: "alpine", OSVersion: "3.10.2",
				Layers: []string{"sha256:03901b4a2ea88eeaad62dbe59b072b28b6efa00491962b8741081c5df50c65e0"},
			},
			Source: f.Source,
		}
		if diff := cmp.Diff(want, f); diff != "" {
			t.Errorf("Parse(alpine-3.10) CVE-2019-1549 mismatch (-want +got):\n%s", diff)
		}
		if f.References[0] != "https://avd.aquasec.com/nvd/cve-2019-1549" || len(f.References) != 21 {
			t.Errorf("References = %d entries starting %q, want 21 starting with the PrimaryURL", len(f.References), f.References[0])
		}
		if f.Source.Version != "dev" || f.Source.ScanTime.IsZero() {
			t.Errorf("Source = %+v, want Version dev and a scan time", f.Source)
		}
		if !slices.ContainsFunc(info.Warnings, func(w string) bool { return strings.Contains(w, "end-of-life") }) {
			t.Errorf("ReportInfo.Warnings = %q, want an end-of-life warning", info.Warnings)
		}
	})

	t.Run("juice-shop multi fixed versions and secrets", func(t *testing.T) {
		fs, _ := parse("real/trivy-image-juice-shop-v19.0.0-debian12-node-secrets.json")
		multi := find(fs, func(f *sextant.Finding) bool { return len(f.FixedVersions) == 4 })
		if len(multi) == 0 || !slices.Equal(multi[0].FixedVersions, []string{"8.0.3", "5.2.2", "4.0.4", "3.5.1"}) {
			t.Errorf("findings with FixedVersion %q: %v", "8.0.3, 5.2.2, 4.0.4, 3.5.1", multi)
		}
		secrets := find(fs, func(f *sextant.Finding) bool { return f.Kind == sextant.KindSecret })
		if len(secrets) != 4 {
			t.Errorf("secrets = %d, want 4", len(secrets))
		}
		for _, s := range secrets {
			if s.Location == "" || s.Artifact.Digest != "sha256:2a95df217ff812f173a6ee032816172e401f641d2a9cf526011d62b9734b503c" {
				t.Errorf("secret %s: Location %q, Artifact.Digest %q", s.VulnerabilityID, s.Location, s.Artifact.Digest)
			}
		}
		if a := fs[0].Artifact; a.Repository != "bkimminich/juice-shop" || !slices.Equal(a.Tags, []string{"v19.0.0"}) ||
			len(a.RepoDigests) != 1 || a.OSFamily != "debian" || a.OSVersion != "12.11" || len(a.Layers) != 21 {
			t.Errorf("Artifact = %+v", a)
		}
	})

	t.Run("cvss v4", func(t *testing.T) {
		fs, _ := parse("dd/trivy-jar-cvssv4.json")
		var v4 int
		for _, f := range fs {
			for _, c := range f.CVSS {
				if c.Version == "4.0" {
					v4++
					if !strings.HasPrefix(c.Vector, "CVSS:4.0/") || c.Score <= 0 {
						t.Errorf("%s: CVSS 4.0 = %+v", f.VulnerabilityID, c)
					}
				}
			}
			if f.Package.Ecosystem != "maven" || !strings.Contains(f.Package.Name, ":") {
				t.Errorf("%s: Package = %+v, want a maven group:artifact", f.VulnerabilityID, f.Package)
			}
		}
		if v4 == 0 {
			t.Error("no CVSS 4.0 entries, want some")
		}
	})

	t.Run("base layers", func(t *testing.T) {
		for _, tc := range []struct {
			rel        string
			base, all  int
			repository string
		}{
			{"golden/spring4shell-jre8.json", 8, 9, "ghcr.io/aquasecurity/trivy-test-images"},
			{"dd/trivy-image-debian-10.json", 9, 12, ""},
			{"more/trivy-0.69.3-nginx-latest-debian13.json", 0, 7, "nginx"},
			{"golden/alpine-3.10.json", 0, 1, "ghcr.io/aquasecurity/trivy-test-images"},
		} {
			fs, _ := parse(tc.rel)
			a := fs[0].Artifact
			if a.BaseLayers != tc.base || len(a.Layers) != tc.all || a.Repository != tc.repository {
				t.Errorf("Parse(%q) Artifact BaseLayers %d, Layers %d, Repository %q; want %d, %d, %q",
					tc.rel, a.BaseLayers, len(a.Layers), a.Repository, tc.base, tc.all, tc.repository)
			}
		}
	})

	t.Run("unnamed image", func(t *testing.T) {
		fs, info := parse("dd/trivy-image-all-statuses.json")
		a := fs[0].Artifact
		if a.Name != "sha256:22ae3921bdaac434bb4cb92dbbc209e46b1f3f70e9fa0b5fbbb43ce7d452c72d" || a.Key() != a.Name {
			t.Errorf("Artifact = %+v, want named by its image ID", a)
		}
		if len(info.Warnings) == 0 {
			t.Error("no warning about the empty ArtifactName")
		}
		states := map[string]bool{}
		for _, f := range fs {
			states[f.FixState] = true
		}
		for _, s := range []string{"fixed", "affected", "will_not_fix", "fix_deferred", "end_of_life"} {
			if !states[s] {
				t.Errorf("FixState %q not seen; got %v", s, states)
			}
		}
	})

	t.Run("helm misconfigurations", func(t *testing.T) {
		fs, info := parse("golden/helm-chart-misconfig.json")
		if len(fs) != 18 {
			t.Fatalf("findings = %d, want 18 FAIL", len(fs))
		}
		f := fs[0]
		if f.Kind != sextant.KindMisconfiguration || f.VulnerabilityID != "KSV-0001" || f.Severity != sextant.SeverityMedium ||
			f.Location != "testchart.tar.gz:templates/pod.yaml:19-22" || f.Package.Name != "" {
			t.Errorf("first finding = %s %s %v %q", f.Kind, f.VulnerabilityID, f.Severity, f.Location)
		}
		if !strings.Contains(f.Description, "should set 'securityContext.allowPrivilegeEscalation' to false") {
			t.Errorf("Description %q lacks the check's message", f.Description)
		}
		_ = info
	})

	t.Run("legacy", func(t *testing.T) {
		fs, info := parse("dd/trivy-legacy-list-format.json")
		f := find(fs, byVulnPkg("CVE-2011-3374", "apt"))
		if len(f) != 1 || f[0].Severity != sextant.SeverityLow || f[0].Package.Ecosystem != "deb" ||
			f[0].Artifact.Name != "debian" || f[0].Artifact.OSVersion != "10.8" {
			t.Fatalf("CVE-2011-3374/apt = %+v", f)
		}
		if !slices.ContainsFunc(info.Warnings, func(w string) bool { return strings.Contains(w, "legacy") }) {
			t.Errorf("Warnings = %q, want a note on the legacy format", info.Warnings)
		}
		fs, _ = parse("more/trivy-legacy-2020-problematic-project-debian10.2-python.json")
		if a := fs[0].Artifact; a.Name != "benno001/problematic-project" || fs[0].Package.Ecosystem != "deb" {
			t.Errorf("legacy 2020 (Type null): Artifact %+v, Package %+v", a, fs[0].Package)
		}
	})

	t.Run("k8s summary shape", func(t *testing.T) {
		fs, _ := parse("k8s/trivy-k8s-cluster-report-eks.json")
		v := find(fs, byVulnPkg("CVE-2020-27350", "apt"))
		if len(v) == 0 {
			t.Fatal("CVE-2020-27350/apt not found")
		}
		names := map[string]bool{}
		for _, f := range v {
			names[f.Artifact.Key()] = true
			if !slices.Equal(f.Aliases, []string{"DSA-4808-1"}) || !slices.Equal(f.FixedVersions, []string{"1.8.2.2"}) {
				t.Errorf("CVE-2020-27350: Aliases %q, FixedVersions %q", f.Aliases, f.FixedVersions)
			}
		}
		if !names["docker.io/redis:6.0.5"] {
			t.Errorf("CVE-2020-27350 artifacts = %v, want docker.io/redis:6.0.5 among them", names)
		}
		m := find(fs, func(f *sextant.Finding) bool { return f.Kind == sextant.KindMisconfiguration })
		if len(m) != 10 || m[0].Location != "default/Deployment/redis-follower" || m[0].Artifact.Type != "kubernetes" {
			t.Errorf("misconfigurations = %d, first at %q", len(m), m[0].Location)
		}
	})

	t.Run("k8s resources shape", func(t *testing.T) {
		fs, _ := parse("k8s/trivy-k8s-cluster-report-resources.json")
		locs := map[string]bool{}
		for _, f := range fs {
			locs[f.Location] = true
			if f.Location != f.Artifact.Name {
				t.Errorf("%s: Location %q, Artifact %q; want the resource for both", f.VulnerabilityID, f.Location, f.Artifact.Name)
			}
		}
		if !locs["default/StatefulSet/vault"] || !locs["default/Service/kubernetes"] {
			t.Errorf("locations = %v", locs)
		}
	})
}
